package smtpserver

import (
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// The classic telnet walkthrough: HELO, two-step AUTH LOGIN, one message.
func TestTelnetSubmissionTranscript(t *testing.T) {
	h := newHarness(t, ModeSubmission)
	c := h.dial()
	c.cmd("HELO client.example", "250 ")
	c.cmd("AUTH LOGIN", "334 VXNlcm5hbWU6")
	c.cmd(b64("alice@example.com"), "334 UGFzc3dvcmQ6")
	c.cmd(b64(testPassword), "235 2.7.0 ")
	c.cmd("MAIL FROM:<alice@example.com>", "250 ")
	c.cmd("RCPT TO:<bob@example.com>", "250 ")
	c.cmd("DATA", "354 ")
	c.send("Subject: telnet\r\n\r\nTyped by hand.\r\n.\r\n")
	last := c.expect("250 2.0.0 OK: queued as ")[0]
	c.cmd("QUIT", "221 ")

	id := strings.TrimPrefix(last, "250 2.0.0 OK: queued as ")
	msgs := h.inbox("bob@example.com")
	if len(msgs) != 1 {
		t.Fatalf("bob has %d messages, want 1", len(msgs))
	}
	raw := string(msgs[0])
	for _, want := range []string{
		"Return-Path: <alice@example.com>\r\n",
		"Received: from client.example (localhost [127.0.0.1])\r\n\tby mx.example.com with ESMTPA id " + id + "\r\n\tfor <bob@example.com>;\r\n\tTue, 04 Mar 2025 05:06:07 +0000\r\n",
		"From: <alice@example.com>\r\nDate: Tue, 04 Mar 2025 05:06:07 +0000\r\n",
		"@mx.example.com>\r\nSubject: telnet\r\n\r\nTyped by hand.\r\n",
	} {
		if !strings.Contains(raw, want) {
			t.Errorf("stored message lacks %q:\n%s", want, raw)
		}
	}
	if !regexp.MustCompile(`(?m)^Message-ID: <[a-z0-9]+@mx\.example\.com>\r$`).MatchString(raw) {
		t.Errorf("no Message-ID added:\n%s", raw)
	}
}

func TestAuthLoginInitialResponse(t *testing.T) {
	h := newHarness(t, ModeSubmission)
	c := h.dial()
	c.cmd("EHLO client.example", "250 ")
	c.cmd("AUTH LOGIN "+b64("alice@example.com"), "334 UGFzc3dvcmQ6")
	c.cmd(b64(testPassword), "235 2.7.0 ")
	c.cmd("AUTH PLAIN "+b64("\x00alice@example.com\x00"+testPassword), "503 ")
}

func TestAuthPlainTwoStepAndCancel(t *testing.T) {
	h := newHarness(t, ModeSubmission)
	c := h.dial()
	c.cmd("EHLO client.example", "250 ")
	c.cmd("AUTH LOGIN", "334 VXNlcm5hbWU6")
	c.cmd("*", "501 ")
	c.cmd("AUTH PLAIN", "334")
	c.cmd(b64("\x00alice@example.com\x00"+testPassword), "235 2.7.0 ")
}

func TestEHLOAdvertises(t *testing.T) {
	h := newHarness(t, ModeMX)
	c := h.dial()
	lines := c.cmd("EHLO client.example", "250 ")
	got := map[string]bool{}
	for _, l := range lines[1:] {
		got[l[4:]] = true
	}
	for _, want := range []string{"PIPELINING", "8BITMIME", "ENHANCEDSTATUSCODES", "SIZE 52428800", "SMTPUTF8", "CHUNKING", "AUTH PLAIN LOGIN SCRAM-SHA-256"} {
		if !got[want] {
			t.Errorf("EHLO lacks %q: %q", want, lines)
		}
	}
	if got["STARTTLS"] {
		t.Errorf("STARTTLS advertised without TLSConfig")
	}
}

// Unauthenticated MX: local recipients only, trace headers, nothing added.
func TestMXUnauthenticated(t *testing.T) {
	h := newHarness(t, ModeMX)
	c := h.dial()
	c.cmd("EHLO sender.example", "250 ")
	c.cmd("MAIL FROM:<someone@remote.example>", "250 ")
	c.cmd("RCPT TO:<nobody@example.com>", "550 5.1.1 ")
	c.cmd("RCPT TO:<someone@elsewhere.example>", "554 5.7.1 ")
	c.cmd("RCPT TO:<x%y@example.com>", "553 5.1.3 ")
	c.cmd("RCPT TO:<Bob@EXAMPLE.com>", "250 ")
	c.cmd("DATA", "354 ")
	c.send(simpleMessage + ".\r\n")
	c.expect("250 2.0.0 OK: queued as ")
	c.cmd("QUIT", "221 ")

	msgs := h.inbox("bob@example.com")
	if len(msgs) != 1 {
		t.Fatalf("bob has %d messages", len(msgs))
	}
	raw := string(msgs[0])
	if !strings.HasPrefix(raw, "Return-Path: <someone@remote.example>\r\nReceived: from sender.example (localhost [127.0.0.1])\r\n\tby mx.example.com with ESMTP id ") {
		t.Errorf("trace headers wrong:\n%s", raw)
	}
	if !strings.Contains(raw, "\tfor <Bob@EXAMPLE.com>;") {
		t.Errorf("Received lacks for clause:\n%s", raw)
	}
	if !strings.HasSuffix(raw, ";\r\n\tTue, 04 Mar 2025 05:06:07 +0000\r\n"+simpleMessage) {
		t.Errorf("message body changed or headers added:\n%s", raw)
	}
}

func TestMXNullSenderAndPostmaster(t *testing.T) {
	h := newHarness(t, ModeMX)
	c := h.dial()
	c.cmd("HELO sender.example", "250 ")
	c.cmd("MAIL FROM:<>", "250 ")
	c.cmd("RCPT TO:<Postmaster>", "250 ")
	c.cmd("RCPT TO:<postmaster@other.test>", "250 ") // no account: falls back
	c.cmd("DATA", "354 ")
	// A line that looks like the command inside the message stays as is.
	c.send("Subject: bounce\r\n\r\nRCPT TO:<postmaster>\r\n.\r\n")
	c.expect("250 2.0.0 OK: queued as ")
	// BDAT chunks are not rewritten either.
	chunk := "Subject: b\r\n\r\nRCPT TO:<postmaster>\r\n"
	c.cmd("MAIL FROM:<>", "250 ")
	c.cmd("rcpt to: <POSTMASTER> ", "250 ")
	c.send("BDAT " + strconv.Itoa(len(chunk)) + " LAST\r\n" + chunk)
	c.expect("250 2.0.0 OK: queued as ")

	msgs := h.inbox("postmaster@example.com")
	if len(msgs) != 2 {
		t.Fatalf("postmaster has %d messages, want 2 (one copy per message)", len(msgs))
	}
	if !strings.HasPrefix(string(msgs[0]), "Return-Path: <>\r\n") {
		t.Errorf("null Return-Path missing:\n%s", msgs[0])
	}
	if strings.Contains(string(msgs[0]), "\tfor <") {
		t.Errorf("Received names recipients of a multi-recipient copy:\n%s", msgs[0])
	}
	for i, m := range msgs {
		if !strings.HasSuffix(string(m), "\r\n\r\nRCPT TO:<postmaster>\r\n") {
			t.Errorf("message %d body rewritten:\n%s", i, m)
		}
	}
}

func TestRejections(t *testing.T) {
	t.Run("submission requires auth", func(t *testing.T) {
		c := newHarness(t, ModeSubmission).dial()
		c.cmd("EHLO c", "250 ")
		c.cmd("MAIL FROM:<alice@example.com>", "530 5.7.0 Authentication required")
	})
	t.Run("sender not own address", func(t *testing.T) {
		c := newHarness(t, ModeSubmission).dial()
		c.cmd("EHLO c", "250 ")
		c.login("alice@example.com")
		c.cmd("MAIL FROM:<bob@example.com>", "553 5.7.1 ")
		c.cmd("MAIL FROM:<>", "553 5.7.1 ")
		c.cmd("MAIL FROM:<Alice@Example.COM>", "250 ")
	})
	t.Run("wrong password", func(t *testing.T) {
		c := newHarness(t, ModeSubmission).dial()
		c.cmd("EHLO c", "250 ")
		c.cmd("AUTH PLAIN "+b64("\x00alice@example.com\x00wrong"), "535 5.7.8 ")
		c.cmd("AUTH LOGIN", "334 VXNlcm5hbWU6")
		c.cmd(b64("nobody@example.com"), "334 UGFzc3dvcmQ6")
		c.cmd(b64(testPassword), "535 5.7.8 ")
		c.cmd("AUTH PLAIN "+b64("mallory\x00alice@example.com\x00"+testPassword), "535 5.7.8 ")
		c.cmd("AUTH PLAIN "+b64("garbage"), "501 5.5.2 ")
		c.cmd("AUTH CRAM-MD5", "504 5.7.4 ")
	})
	t.Run("plaintext auth off loopback", func(t *testing.T) {
		h := newHarness(t, ModeSubmission, func(c *Config) {
			c.AllowPlaintextAuth = func(net.Addr) bool { return false }
		})
		c := h.dial()
		c.cmd("EHLO c", "250 ")
		c.cmd("AUTH PLAIN "+b64("\x00alice@example.com\x00"+testPassword), "538 5.7.11 Encryption required for requested authentication mechanism")
		c.cmd("AUTH LOGIN", "538 5.7.11 ")
	})
	t.Run("authenticated relay not available", func(t *testing.T) {
		c := newHarness(t, ModeMX).dial()
		c.cmd("EHLO c", "250 ")
		c.login("alice@example.com")
		c.cmd("MAIL FROM:<bob@example.com>", "553 5.7.1 ") // MX after AUTH is submission
		c.cmd("MAIL FROM:<alice@example.com>", "250 ")
		c.cmd("RCPT TO:<friend@elsewhere.example>", "550 5.7.1 Relaying to other domains is not available yet")
		c.cmd("RCPT TO:<a@b@example.com>", "553 5.1.3 ")
		c.cmd("RCPT TO:<@relay.example:bob@example.com>", "250 ") // route ignored, delivered locally
	})
	t.Run("too many recipients", func(t *testing.T) {
		c := newHarness(t, ModeMX, func(c *Config) { c.MaxRecipients = 2 }).dial()
		c.cmd("EHLO c", "250 ")
		c.cmd("MAIL FROM:<x@remote.example>", "250 ")
		c.cmd("RCPT TO:<alice@example.com>", "250 ")
		c.cmd("RCPT TO:<bob@example.com>", "250 ")
		c.cmd("RCPT TO:<postmaster@example.com>", "452 4.5.3 ")
	})
	t.Run("data without valid recipient", func(t *testing.T) {
		c := newHarness(t, ModeMX).dial()
		c.cmd("EHLO c", "250 ")
		c.cmd("MAIL FROM:<x@remote.example>", "250 ")
		c.cmd("RCPT TO:<nobody@example.com>", "550 5.1.1 ")
		c.cmd("DATA", "502 ")
	})
}
