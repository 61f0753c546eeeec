package smtpserver

import (
	"net/smtp"
	"strconv"
	"strings"
	"testing"
)

func TestDataRejectsBareLineEndings(t *testing.T) {
	h := newHarness(t, ModeMX)
	c := h.dial()
	c.cmd("EHLO c", "250 ")
	for _, body := range []string{
		"Subject: lf\r\n\r\nbare\nLF\r\n",
		"Subject: cr\r\n\r\nbare\rCR\r\n",
		// SMTP smuggling: "\n.\r\n" is not the end of data; what follows
		// is still message data, refused as a whole.
		"Subject: smuggle\r\n\r\nhi\n.\r\nMAIL FROM:<evil@x.example>\r\nRCPT TO:<alice@example.com>\r\nDATA\r\n\r\nsmuggled\r\n",
	} {
		c.cmd("MAIL FROM:<x@remote.example>", "250 ")
		c.cmd("RCPT TO:<alice@example.com>", "250 ")
		c.cmd("DATA", "354 ")
		c.send(body + ".\r\n")
		c.expect("554 5.6.0 ")
	}
	// BDAT too. go-smtp reports an error found in a chunk other than the
	// last with the reply to the next BDAT.
	c.cmd("MAIL FROM:<x@remote.example>", "250 ")
	c.cmd("RCPT TO:<alice@example.com>", "250 ")
	c.send("BDAT 11 LAST\r\nSubject: a\n")
	c.expect("554 5.6.0 ")
	c.cmd("MAIL FROM:<x@remote.example>", "250 ")
	c.cmd("RCPT TO:<alice@example.com>", "250 ")
	c.send("BDAT 11\r\nSubject: a\r")
	c.expect("250 ")
	c.send("BDAT 3 LAST\r\nb\r\n")
	c.expect("554 5.6.0 ")
	c.cmd("NOOP", "250 ")
	if n := len(h.inbox("alice@example.com")); n != 0 {
		t.Fatalf("%d messages stored, want 0", n)
	}
}

func TestDataLimits(t *testing.T) {
	h := newHarness(t, ModeMX, func(c *Config) {
		c.MaxMessageBytes = 1000
		c.MaxLineLength = 100
	})
	t.Run("SIZE parameter", func(t *testing.T) {
		c := h.dial()
		c.cmd("EHLO c", "250 ")
		c.cmd("MAIL FROM:<x@remote.example> SIZE=5000", "552 5.3.4 ")
	})
	t.Run("DATA too large", func(t *testing.T) {
		c := h.dial()
		c.cmd("EHLO c", "250 ")
		c.cmd("MAIL FROM:<x@remote.example>", "250 ")
		c.cmd("RCPT TO:<alice@example.com>", "250 ")
		c.cmd("DATA", "354 ")
		c.send("Subject: big\r\n\r\n" + strings.Repeat(strings.Repeat("x", 50)+"\r\n", 30) + ".\r\n")
		c.expect("552 5.3.4 ")
		c.cmd("NOOP", "250 ") // the session goes on
	})
	t.Run("BDAT too large", func(t *testing.T) {
		c := h.dial()
		c.cmd("EHLO c", "250 ")
		c.cmd("MAIL FROM:<x@remote.example>", "250 ")
		c.cmd("RCPT TO:<alice@example.com>", "250 ")
		chunk := strings.Repeat(strings.Repeat("x", 50)+"\r\n", 12)
		c.send("BDAT " + strconv.Itoa(len(chunk)) + "\r\n" + chunk)
		c.expect("250 ")
		c.send("BDAT " + strconv.Itoa(len(chunk)) + " LAST\r\n" + chunk)
		c.expect("552 5.3.4 ")
		c.cmd("NOOP", "250 ")
	})
	t.Run("DATA line too long", func(t *testing.T) {
		c := h.dial()
		c.cmd("EHLO c", "250 ")
		c.cmd("MAIL FROM:<x@remote.example>", "250 ")
		c.cmd("RCPT TO:<alice@example.com>", "250 ")
		c.cmd("DATA", "354 ")
		c.send("Subject: long\r\n\r\n" + strings.Repeat("y", 150) + "\r\n.\r\n")
		c.expect("554 5.6.0 ")
		c.cmd("NOOP", "250 ") // the session goes on, as after BDAT
	})
	t.Run("BDAT line too long", func(t *testing.T) {
		c := h.dial()
		c.cmd("EHLO c", "250 ")
		c.cmd("MAIL FROM:<x@remote.example>", "250 ")
		c.cmd("RCPT TO:<alice@example.com>", "250 ")
		chunk := "Subject: long\r\n\r\n" + strings.Repeat("y", 150) + "\r\n"
		c.send("BDAT " + strconv.Itoa(len(chunk)) + " LAST\r\n" + chunk)
		c.expect("554 5.6.0 ")
		c.cmd("NOOP", "250 ")
	})
	t.Run("command line too long", func(t *testing.T) {
		c := h.dial()
		c.send("EHLO " + strings.Repeat("h", 200) + "\r\n")
		c.expect("500 ")
		c.expectClosed()
	})
	if n := len(h.inbox("alice@example.com")); n != 0 {
		t.Fatalf("%d messages stored, want 0", n)
	}
}

func TestBDATChunking(t *testing.T) {
	h := newHarness(t, ModeSubmission)
	c := h.dial()
	c.cmd("EHLO c", "250 ")
	c.login("alice@example.com")
	msg := "From: Alice <alice@example.com>\r\nDate: Mon, 03 Mar 2025 10:00:00 +0000\r\nMessage-ID: <given@example.com>\r\nSubject: chunks\r\n\r\nfirst part, second part.\r\n"
	c.cmd("MAIL FROM:<alice@example.com> BODY=8BITMIME", "250 ")
	c.cmd("RCPT TO:<bob@example.com>", "250 ")
	// Pipelined: both chunks in one write.
	a, b := msg[:40], msg[40:]
	c.send("BDAT " + strconv.Itoa(len(a)) + "\r\n" + a + "BDAT " + strconv.Itoa(len(b)) + " LAST\r\n" + b)
	c.expect("250 2.0.0 Continue")
	c.expect("250 2.0.0 OK: queued as ")
	msgs := h.inbox("bob@example.com")
	if len(msgs) != 1 {
		t.Fatalf("bob has %d messages", len(msgs))
	}
	raw := string(msgs[0])
	if !strings.HasSuffix(raw, ";\r\n\tTue, 04 Mar 2025 05:06:07 +0000\r\n"+msg) {
		t.Errorf("stored message is not trace headers + message (From/Date/Message-ID must not be added twice):\n%s", raw)
	}
	if strings.Count(raw, "Message-ID:") != 1 || strings.Count(raw, "Date:") != 1 || strings.Count(raw, "From:") != 1 {
		t.Errorf("duplicate From, Message-ID or Date:\n%s", raw)
	}
}

const multipartMessage = "From: alice@example.com\r\n" +
	"To: bob@example.com\r\n" +
	"Subject: attachment\r\n" +
	"Date: Mon, 03 Mar 2025 10:00:00 +0000\r\n" +
	"Message-ID: <multi@example.com>\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: multipart/mixed; boundary=\"b1\"\r\n" +
	"\r\n" +
	"--b1\r\n" +
	"Content-Type: text/plain; charset=utf-8\r\n" +
	"\r\n" +
	"See attached.\r\n" +
	"--b1\r\n" +
	"Content-Type: text/plain; name=\"foo.txt\"\r\n" +
	"Content-Disposition: attachment; filename=\"foo.txt\"\r\n" +
	"Content-Transfer-Encoding: base64\r\n" +
	"\r\n" +
	"YmFy\r\n" +
	"--b1--\r\n"

// Go's net/smtp as an independent client: PlainAuth on 127.0.0.1 and a
// multipart message that must arrive byte for byte.
func TestNetSMTPClientMultipart(t *testing.T) {
	h := newHarness(t, ModeSubmission)
	a := smtp.PlainAuth("", "alice@example.com", testPassword, "127.0.0.1")
	if err := smtp.SendMail(h.addr, a, "alice@example.com", []string{"bob@example.com", "alice@example.com"}, []byte(multipartMessage)); err != nil {
		t.Fatal(err)
	}
	for _, who := range []string{"bob@example.com", "alice@example.com"} {
		msgs, parts := h.inboxParts(who)
		if len(msgs) != 1 {
			t.Fatalf("%s has %d messages", who, len(msgs))
		}
		// The structure was parsed from the stored bytes, trace included.
		p := parts[0]
		if p.MediaType != "multipart" || p.MediaSubtype != "mixed" || len(p.Parts) != 2 {
			t.Fatalf("stored structure %+v", p)
		}
		att := p.Parts[1]
		if got := string(msgs[0][att.BodyStart:att.BodyEnd]); strings.TrimSpace(got) != "YmFy" {
			t.Errorf("attachment body at stored offsets = %q", got)
		}
		if att.Disposition != "attachment" || len(att.DispositionParams) != 1 || att.DispositionParams[0].Value != "foo.txt" {
			t.Errorf("attachment disposition %q %v", att.Disposition, att.DispositionParams)
		}
		raw := string(msgs[0])
		trace, body, ok := strings.Cut(raw, "From: alice@example.com\r\n")
		if !ok || "From: alice@example.com\r\n"+body != multipartMessage {
			t.Fatalf("message changed in transit:\n%s", raw)
		}
		if !strings.HasPrefix(trace, "Return-Path: <alice@example.com>\r\nReceived: from ") || strings.Count(trace, "\r\n") != 4 {
			t.Errorf("unexpected header before the message:\n%s", trace)
		}
	}
}
