package smtpserver

import (
	"testing"
	"time"

	"github.com/mailroom/mailroom/delivery"
)

// A submission over the account's outbound limit is refused after DATA
// with 451 4.7.1 (550 5.7.1 with hard), and nothing is stored or queued;
// the postmaster gets one notice.
func TestSubmissionOutboundLimit(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		hard bool
		code int
		enh  string
	}{{false, 451, "4.7.1"}, {true, 550, "5.7.1"}} {
		q := &signQueue{}
		h := newHarness(t, ModeSubmission, func(c *Config) {
			now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
			d, err := delivery.New(delivery.Config{Store: c.Store, Queue: q, Hostname: "example.com", Logger: c.Logger,
				Now: func() time.Time { return now }, OutboundLimits: &delivery.OutboundLimits{MessagesPerDay: 1, Hard: tc.hard}})
			if err != nil {
				t.Fatal(err)
			}
			c.Deliverer = d
		})
		c := h.dial()
		c.cmd("EHLO c", "250 ")
		c.login("alice@example.com")
		c.sendMail("alice@example.com", []string{"far@remote.example"}, simpleMessage)
		c.do("MAIL FROM:<alice@example.com>", 250, "2.0.0")
		c.do("RCPT TO:<far@remote.example>", 250, "2.0.0")
		c.do("DATA", 354, "")
		c.send(simpleMessage + ".\r\n")
		c.want(tc.code, tc.enh)
		if n := len(h.queued()); n != 1 {
			t.Fatalf("hard=%v: %d queued, want 1", tc.hard, n)
		}
		if n := len(h.inbox("postmaster@example.com")); n != 1 {
			t.Fatalf("hard=%v: postmaster has %d notices, want 1", tc.hard, n)
		}
	}
}
