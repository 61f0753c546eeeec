package smtpserver

import (
	"strings"
	"testing"
)

// TestRelayMatrix tries the classic open-relay tricks on the MX listener
// without authentication. Local domains are example.com and other.test;
// the server's hostname is mx.example.com. None may be accepted: each
// names (or could be routed to) a mailbox elsewhere.
func TestRelayMatrix(t *testing.T) {
	h := newHarness(t, ModeMX)
	c := h.dial()
	c.cmd("EHLO relay.probe", "250 ")
	for _, senders := range []string{"<probe@remote.example>", "<>", "<alice@example.com>", "<postmaster@mx.example.com>"} {
		c.cmd("MAIL FROM:"+senders, "250 ")
		for _, rcpt := range []string{
			"<victim@remote.example>",
			"<VICTIM@REMOTE.EXAMPLE>",
			"<victim@remote.example.>",
			"<victim%remote.example@example.com>",
			"<victim%remote.example@mx.example.com>",
			"<victim@remote.example@example.com>",
			"<\"victim@remote.example\"@example.com>",
			"<\"victim%remote.example\"@example.com>",
			"<@example.com:victim@remote.example>",
			"<@example.com,@mx.example.com:victim@remote.example>",
			"<victim@[127.0.0.1]>",
			"<victim@[192.0.2.1]>",
			"<victim@[IPv6:::1]>",
			"<alice@example.com.>",
			"<postmaster@remote.example>",
			"<victim@localhost>",
			"<victim!remote.example@example.com>",
			"<remote.example!victim@example.com>",
			"<victim@remote.example> NOTIFY=NEVER",
			"<victim@remote.example>\tX",
			"victim@remote.example",
		} {
			c.send("RCPT TO:" + rcpt + "\r\n")
			lines := c.reply()
			if last := lines[len(lines)-1]; strings.HasPrefix(last, "2") {
				t.Errorf("MAIL FROM:%s RCPT TO:%q accepted: %q", senders, rcpt, last)
			}
		}
		c.cmd("RSET", "250 ")
	}
	// Positive controls: local mailboxes in any case are accepted.
	c.cmd("MAIL FROM:<probe@remote.example>", "250 ")
	c.cmd("RCPT TO:<Bob@EXAMPLE.com>", "250 ")
	c.cmd("RCPT TO:<carol@Other.Test>", "250 ")
	c.cmd("RCPT TO:<postmaster>", "250 ")
	c.cmd("RSET", "250 ")
}

// TestSubmissionOwnAddressesOnly: an authenticated user may send only as
// one of their own addresses, in any case, on both listeners.
func TestSubmissionOwnAddressesOnly(t *testing.T) {
	for _, mode := range []Mode{ModeSubmission, ModeMX} {
		c := newHarness(t, mode).dial()
		c.cmd("EHLO c", "250 ")
		c.login("alice@example.com")
		for _, from := range []string{
			"<bob@example.com>", "<>", "<alice@remote.example>", "<alice%example.com@remote.example>",
			"<@example.com:bob@example.com>", "<\"alice\"@remote.example>", "<alice@example.com.evil.example>",
		} {
			c.send("MAIL FROM:" + from + "\r\n")
			lines := c.reply()
			if last := lines[len(lines)-1]; strings.HasPrefix(last, "2") {
				t.Errorf("%v: MAIL FROM:%s accepted: %q", mode, from, last)
				c.cmd("RSET", "250 ")
			}
		}
		c.cmd("MAIL FROM:<ALICE@example.COM>", "250 ")
		c.cmd("RSET", "250 ")
	}
}

// TestSmugglingVariants: every end-of-data look-alike other than
// CRLF.CRLF is refused, and nothing after it runs as a command.
func TestSmugglingVariants(t *testing.T) {
	h := newHarness(t, ModeMX)
	c := h.dial()
	c.cmd("EHLO c", "250 ")
	smuggled := "MAIL FROM:<evil@x.example>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\nSubject: smuggled\r\n\r\nx\r\n"
	for _, end := range []string{"\n.\n", "\n.\r\n", "\r\n.\n", "\r.\r", "\r\n.\r", "\r.\r\n", "\n.\r"} {
		c.cmd("MAIL FROM:<x@remote.example>", "250 ")
		c.cmd("RCPT TO:<alice@example.com>", "250 ")
		c.cmd("DATA", "354 ")
		c.send("Subject: s\r\n\r\nhi" + end + smuggled + "\r\n.\r\n")
		if lines := c.reply(); !strings.HasPrefix(lines[0], "554 5.6.0 ") {
			t.Errorf("end %q: %q", end, lines)
		}
	}
	c.cmd("NOOP", "250 ")
	if n := len(h.inbox("alice@example.com")) + len(h.inbox("bob@example.com")); n != 0 {
		t.Fatalf("%d messages stored, want 0", n)
	}
}
