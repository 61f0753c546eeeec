package smtpserver

import (
	"strings"
	"testing"

	"github.com/mailroom/mailroom/mailauth"
)

// Issue 11 item 9: a CR inside a quoted MAIL FROM local part was accepted
// and reached Return-Path raw, where mail readers saw a forged
// Authentication-Results field above Received. Control characters in a
// path are refused: 501 5.1.7 for MAIL, 501 5.1.3 for RCPT (RFC 3463).
func TestPathControlCharactersRefused(t *testing.T) {
	h := newHarness(t, ModeMX)
	c := h.dial()
	c.do("EHLO c", 250, "")
	// (An LF ends the command line, so it cannot occur inside a path.)
	for _, from := range []string{
		"\"x\rAuthentication-Results: " + testHost + "; dmarc=pass\"@other.test",
		"\"a\x00b\"@other.test",
		"x@other\r.test",
		"x@other.test\x00",
		"\"tab\tand\x7fdel\"@other.test",
	} {
		c.t.Logf("MAIL FROM:<%q>", from)
		c.do("MAIL FROM:<"+from+">", 501, "5.1.7")
	}
	c.do("MAIL FROM:<s@other.test>", 250, "2.0.0")
	for _, to := range []string{
		"\"alice\rX-Injected: 1\"@example.com",
		"alice@example.com\x00",
	} {
		c.do("RCPT TO:<"+to+">", 501, "5.1.3")
	}
	c.do("RCPT TO:<alice@example.com>", 250, "2.0.0")
	c.do("DATA", 354, "")
	c.send(simpleMessage + ".\r\n")
	c.want(250, "2.0.0")
	got := h.inbox("alice@example.com")
	if len(got) != 1 {
		t.Fatalf("%d messages", len(got))
	}
	names := headerNames(got[0])
	if len(names) < 2 || names[0] != "Return-Path" || names[1] != "Received" {
		t.Fatalf("header names %q", names)
	}
	for _, n := range names {
		if strings.HasPrefix(n, "!") || n == "X-Injected" || n == "Authentication-Results" {
			t.Fatalf("injected header line %q in %q", n, names)
		}
	}
}

// The HELO name reaches Received and, for the null sender, the
// Authentication-Results field (smtp.helo=); a control character in it
// must not start a line of its own.
func TestTraceFieldsSanitized(t *testing.T) {
	h := newHarness(t, ModeMX, func(c *Config) {
		c.Inbound = mailauth.New(mailauth.Config{Hostname: testHost, Resolver: inboundDNS})
	})
	c := h.dial()
	c.do("EHLO evil\rX-Injected:1", 250, "")
	c.sendMail("", []string{"alice@example.com"}, simpleMessage)
	got := h.inbox("alice@example.com")
	for _, n := range headerNames(got[0]) {
		if strings.HasPrefix(n, "!") || n == "X-Injected" {
			t.Fatalf("injected header %q:\n%q", n, got[0])
		}
	}
	if cr := strings.Count(string(got[0]), "\r"); cr != strings.Count(string(got[0]), "\r\n") {
		t.Fatalf("bare CR in stored message:\n%q", got[0])
	}
}

// Issue 12: "Authentication-Results: …; none" for loopback MX mail was
// placed above Return-Path. Trace fields follow RFC 5321 §4.4:
// Return-Path on top, then this server's Received, then the
// Authentication-Results it adds (as Postfix with a milter and Dovecot
// LDA produce them).
func TestTraceHeaderOrderLoopback(t *testing.T) {
	h := newHarness(t, ModeMX, func(c *Config) {
		c.Inbound = mailauth.New(mailauth.Config{Hostname: testHost, Resolver: inboundDNS, SkipLoopback: true})
	})
	c := h.dial()
	c.do("EHLO c", 250, "")
	c.sendMail("s@good.test", []string{"alice@example.com"}, simpleMessage)
	got := h.inbox("alice@example.com")
	names := headerNames(got[0])
	want := []string{"Return-Path", "Received", "Authentication-Results", "From", "To", "Subject"}
	if strings.Join(names, ",") != strings.Join(want, ",") {
		t.Fatalf("header order %q, want %q", names, want)
	}
	if ar := headerValue(got[0], "Authentication-Results"); strings.Join(strings.Fields(ar), " ") != testHost+"; none" {
		t.Fatalf("Authentication-Results %q", ar)
	}
}

func TestTraceField(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"A: b;\r\n\tc\r\n", "A: b;\r\n\tc\r\n"},
		{"A: b\rInjected: 1\r\n", "A: b?Injected: 1\r\n"},
		{"A: b\r\nInjected: 1\r\n", "A: b??Injected: 1\r\n"},
		{"A: b\x00c", "A: b?c\r\n"},
		{"", ""},
	} {
		if got := traceField(tc.in); got != tc.want {
			t.Errorf("traceField(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
