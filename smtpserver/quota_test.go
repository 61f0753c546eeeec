package smtpserver

import (
	"context"
	"strings"
	"testing"

	"github.com/mailroom/mailroom/store"
)

// testQuota is a Quota from a map of email -> {bytes, messages}.
type testQuota map[string][2]int64

func (q testQuota) Limits(email string) (storage, messages int64) {
	l := q[strings.ToLower(email)]
	return l[0], l[1]
}

var _ Quota = testQuota(nil)

// A recipient at or over quota gets 452 4.2.2 at RCPT; the message that
// crosses the limit is still accepted, other recipients of the same
// transaction are not affected, and room made by expunging lets mail in
// again.
func TestRcptOverQuota(t *testing.T) {
	q := testQuota{
		"bob@example.com":  {1000, 0},
		"carol@other.test": {0, 1},
	}
	h := newHarness(t, ModeMX, func(c *Config) { c.Quota = q })
	big := simpleMessage + strings.Repeat("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\r\n", 12)

	c := h.dial()
	c.cmd("EHLO client.example", "250 ")
	c.sendMail("sender@remote.test", []string{"bob@example.com"}, big) // 0 bytes used: accepted
	if n := len(h.inbox("bob@example.com")); n != 1 {
		t.Fatalf("bob has %d messages, want 1", n)
	}
	// Bob now uses more than 1000 bytes: refused, temporarily.
	c.cmd("MAIL FROM:<sender@remote.test>", "250 ")
	c.cmd("RCPT TO:<bob@example.com>", "452 4.2.2 ")
	c.cmd("RCPT TO:<alice@example.com>", "250 ") // no quota
	c.cmd("DATA", "354 ")
	c.send(simpleMessage + ".\r\n")
	c.expect("250 ")
	if n := len(h.inbox("bob@example.com")); n != 1 {
		t.Fatalf("bob has %d messages after refusal, want 1", n)
	}
	if n := len(h.inbox("alice@example.com")); n != 1 {
		t.Fatalf("alice has %d messages, want 1", n)
	}

	// A message limit of 1: the first is accepted, the second refused.
	c.sendMail("sender@remote.test", []string{"carol@other.test"}, simpleMessage)
	c.cmd("MAIL FROM:<sender@remote.test>", "250 ")
	c.cmd("RCPT TO:<carol@other.test>", "452 4.2.2 Mailbox full")
	c.cmd("RSET", "250 ")

	// Bob makes room: mail is accepted again.
	ctx := context.Background()
	bob, err := h.full.AccountByEmail(ctx, "bob@example.com")
	if err != nil {
		t.Fatal(err)
	}
	inbox, err := h.full.MailboxByName(ctx, bob.ID, store.Inbox)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := h.full.Expunge(ctx, inbox.Ref(), nil, false); err != nil {
		t.Fatal(err)
	}
	c.sendMail("sender@remote.test", []string{"bob@example.com"}, simpleMessage)
	c.cmd("QUIT", "221 ")
}

// Without a Quota nothing is limited.
func TestRcptNoQuota(t *testing.T) {
	h := newHarness(t, ModeMX)
	c := h.dial()
	c.cmd("EHLO client.example", "250 ")
	for range 3 {
		c.sendMail("sender@remote.test", []string{"bob@example.com"}, simpleMessage)
	}
}
