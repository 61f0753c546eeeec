package smtpserver

import (
	"strconv"
	"strings"
	"testing"
)

// sizedMessage returns a message of exactly n bytes (n >= 40) with
// CRLF lines no longer than 80 bytes.
func sizedMessage(n int) string {
	var b strings.Builder
	b.WriteString("Subject: sized\r\n\r\n")
	for b.Len() < n {
		line := min(78, n-b.Len()-2)
		if line < 1 {
			// Pad the previous line instead of a line of 0 or -1.
			s := b.String()
			b.Reset()
			b.WriteString(s[:len(s)-2] + strings.Repeat("y", n-len(s)) + "\r\n")
			break
		}
		b.WriteString(strings.Repeat("x", line) + "\r\n")
	}
	if b.Len() != n {
		panic("sizedMessage: " + strconv.Itoa(b.Len()))
	}
	return b.String()
}

// Issue 11 item 15: DATA of exactly the limit got 552 while BDAT of the
// same size got 250. Exactly MaxMessageBytes passes both, one byte more
// fails both, and EHLO announces the real limit.
func TestSizeLimitExact(t *testing.T) {
	const limit = 2000
	h := newHarness(t, ModeMX, func(c *Config) { c.MaxMessageBytes = limit })
	c := h.dial()
	ehlo := c.do("EHLO c", 250, "")
	if !containsLine(ehlo.text, "SIZE "+strconv.Itoa(limit)) {
		t.Fatalf("EHLO %q does not announce SIZE %d", ehlo.text, limit)
	}
	for _, tc := range []struct {
		size int
		code int
		enh  string
	}{
		{limit, 250, "2.0.0"},
		{limit + 1, 552, "5.3.4"},
	} {
		msg := sizedMessage(tc.size)
		c.do("MAIL FROM:<s@other.test> SIZE="+strconv.Itoa(tc.size), tc.code, tc.enh)
		c.do("MAIL FROM:<s@other.test>", 250, "2.0.0")
		c.do("RCPT TO:<alice@example.com>", 250, "2.0.0")
		c.do("DATA", 354, "")
		c.send(msg + ".\r\n")
		c.want(tc.code, tc.enh)

		c.do("MAIL FROM:<s@other.test>", 250, "2.0.0")
		c.do("RCPT TO:<alice@example.com>", 250, "2.0.0")
		c.send("BDAT " + strconv.Itoa(len(msg)) + " LAST\r\n" + msg)
		c.want(tc.code, tc.enh)

		// Over two chunks as well.
		c.do("MAIL FROM:<s@other.test>", 250, "2.0.0")
		c.do("RCPT TO:<alice@example.com>", 250, "2.0.0")
		c.send("BDAT 100\r\n" + msg[:100])
		c.want(250, "2.0.0")
		c.send("BDAT " + strconv.Itoa(len(msg)-100) + " LAST\r\n" + msg[100:])
		c.want(tc.code, tc.enh)
		c.do("NOOP", 250, "2.0.0")
	}
	got := h.inbox("alice@example.com")
	if len(got) != 3 {
		t.Fatalf("%d messages stored, want 3 (DATA, BDAT, two chunks)", len(got))
	}
	for _, m := range got {
		if !strings.HasSuffix(string(m), "\r\n"+sizedMessage(limit)) {
			t.Fatalf("stored message does not end with the sent one")
		}
	}
}

func containsLine(lines []string, want string) bool {
	for _, l := range lines {
		if l == want {
			return true
		}
	}
	return false
}

// Issue 11 item 16: "BDAT 0 LAST" with no prior chunk stored an empty
// message. An empty message is refused on both paths with 554 5.6.0.
func TestEmptyMessageRefused(t *testing.T) {
	h := newHarness(t, ModeMX)
	c := h.dial()
	c.do("EHLO c", 250, "")
	c.do("MAIL FROM:<s@other.test>", 250, "2.0.0")
	c.do("RCPT TO:<alice@example.com>", 250, "2.0.0")
	c.do("BDAT 0 LAST", 554, "5.6.0")
	c.do("MAIL FROM:<s@other.test>", 250, "2.0.0")
	c.do("RCPT TO:<alice@example.com>", 250, "2.0.0")
	c.do("DATA", 354, "")
	c.do(".", 554, "5.6.0")
	// A last empty chunk after data is the normal end of a message.
	c.do("MAIL FROM:<s@other.test>", 250, "2.0.0")
	c.do("RCPT TO:<alice@example.com>", 250, "2.0.0")
	c.send("BDAT " + strconv.Itoa(len(simpleMessage)) + "\r\n" + simpleMessage)
	c.want(250, "2.0.0")
	c.do("BDAT 0 LAST", 250, "2.0.0")
	if n := len(h.inbox("alice@example.com")); n != 1 {
		t.Fatalf("%d messages stored, want 1", n)
	}
}

// Issue 11 item 16: a SASL response that is not base64 is a permanent
// syntax error, 501 5.5.2 (RFC 4954 §4), not go-smtp's 454 4.7.0.
func TestAuthInvalidBase64(t *testing.T) {
	h := newHarness(t, ModeSubmission)
	c := h.dial()
	c.do("EHLO c", 250, "")
	c.do("AUTH PLAIN !!notbase64!!", 501, "5.5.2")
	c.do("AUTH PLAIN", 334, "")
	c.do("%%%", 501, "5.5.2")
	c.do("AUTH LOGIN", 334, "")
	c.do("dXNlcg=x", 501, "5.5.2")
	c.login("alice@example.com")
}
