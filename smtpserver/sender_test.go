package smtpserver

import (
	"strconv"
	"testing"
)

// Issue 11 item 8: an authenticated user sent From: ceo@corp.test (another
// local domain) and it left DKIM-signed for corp.test. Submission now
// requires every From (and Sender) address to be one the user may send
// as (maySendAs), else 550 5.7.1, and hands the queue only that domain to
// sign with.
func TestSubmissionAuthorMustBeOwned(t *testing.T) {
	q := &fakeQueue{}
	h := newHarness(t, ModeSubmission, func(c *Config) {
		c.Queue = q
		c.Aliases = testAliases
		c.RecipientDelimiter = "+"
	})
	c := h.dial()
	c.do("EHLO c", 250, "")
	c.login("alice@example.com")
	send := func(header string, code int, enh string) {
		t.Helper()
		c.do("MAIL FROM:<alice@example.com>", 250, "2.0.0")
		c.do("RCPT TO:<x@remote.example>", 250, "2.0.0")
		c.do("RCPT TO:<bob@example.com>", 250, "2.0.0")
		msg := header + "Subject: s\r\n\r\nbody\r\n"
		c.send("BDAT " + strconv.Itoa(len(msg)) + " LAST\r\n" + msg)
		c.want(code, enh)
	}
	for _, tc := range []struct {
		header string
		ok     bool
		domain string
	}{
		{"From: Alice <alice@example.com>\r\n", true, "example.com"},
		{"From: <ALICE@Example.COM>\r\n", true, "example.com"},
		{"", true, "example.com"},                                   // From added from the account
		{"From: <alice+news@example.com>\r\n", true, "example.com"}, // subaddress
		{"From: <sales@example.com>\r\n", true, "example.com"},      // alias -> alice
		{"From: <team@example.com>\r\n", true, "example.com"},       // alias listing alice
		{"From: <carol@other.test>\r\n", false, ""},                 // another local account
		{"From: CEO <ceo@other.test>\r\n", false, ""},               // catch-all grants nothing
		{"From: <bob@example.com>\r\n", false, ""},
		{"From: <alice@example.com>, <bob@example.com>\r\nSender: <alice@example.com>\r\n", false, ""},
		{"From: <alice@example.com>\r\nSender: <bob@example.com>\r\n", false, ""},
		{"From: <alice@example.com>\r\nFrom: <carol@other.test>\r\n", false, ""},
		{"From: undisclosed:;\r\n", false, ""},
		{"From: <info@aliasonly.test>\r\n", false, ""}, // alias of bob
	} {
		q.mu.Lock()
		before := len(q.got)
		q.mu.Unlock()
		if tc.ok {
			send(tc.header, 250, "2.0.0")
		} else {
			send(tc.header, 550, "5.7.1")
		}
		q.mu.Lock()
		got := q.got[before:]
		q.mu.Unlock()
		switch {
		case tc.ok && (len(got) != 1 || got[0].signDomain != tc.domain):
			t.Errorf("%q: queued %d, want 1 signed for %s (%+v)", tc.header, len(got), tc.domain, got)
		case !tc.ok && len(got) != 0:
			t.Errorf("%q: refused but queued %d", tc.header, len(got))
		}
	}
	if n, want := len(h.inbox("bob@example.com")), 6; n != want {
		t.Fatalf("bob has %d messages, want %d (refused ones not stored)", n, want)
	}

	// The envelope follows the same rule.
	c.do("MAIL FROM:<sales@example.com>", 250, "2.0.0")
	c.do("RSET", 250, "2.0.0")
	c.do("MAIL FROM:<bob@example.com>", 553, "5.7.1")
	c.do("MAIL FROM:<ceo@other.test>", 553, "5.7.1")
}

// Mail forwarded through an alias for an unauthenticated sender is
// queued unsigned: the sender proved nothing.
func TestForwardedMailNotSigned(t *testing.T) {
	q := &fakeQueue{}
	h := aliasHarness(t, q, "")
	c := h.dial()
	c.do("EHLO c", 250, "")
	c.sendMail("ceo@other.test", []string{"fwd@example.com"}, "From: <ceo@example.com>\r\nSubject: s\r\n\r\nbody\r\n")
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.got) != 1 || q.got[0].signDomain != "" {
		t.Fatalf("queued %+v, want one unsigned", q.got)
	}
}
