package smtpserver

import (
	"strings"
	"testing"
)

// Issue 11 item 13: go-smtp takes "DATA  ", "DATA\r\r\n" and "data  " as
// DATA while the rewriter stayed in command mode: body lines were
// rewritten as if they were commands and the wire check for bare CR was
// skipped. The rewriter now classifies lines with go-smtp's own rule.
func TestDataOddForms(t *testing.T) {
	forms := []string{
		"DATA  \r\n",
		"DATA\r\r\n",
		"data  \r\n",
		"DaTa\r\n",
		"DATA \t \r\n",
		"DATA" + strings.Repeat(" ", 100) + "\r\n", // longer than the old 64-byte hold
		"DATA\n",
	}
	for _, form := range forms {
		t.Run(strings.TrimSpace(form)+"_"+strings.ReplaceAll(form[4:], "\r", "CR"), func(t *testing.T) {
			h := newHarness(t, ModeMX)
			c := h.dial()
			c.do("EHLO c", 250, "")

			// A body line that looks like a command must reach the
			// store untouched (the old rewriter turned it into
			// <postmaster@host>), and every reply must stay in step.
			c.do("MAIL FROM:<s@other.test>", 250, "2.0.0")
			c.do("RCPT TO:<alice@example.com>", 250, "2.0.0")
			c.send(form)
			c.want(354, "")
			body := "Subject: odd\r\n\r\nRCPT TO:<postmaster>\r\nDATA\r\n"
			c.send(body + ".\r\n")
			c.want(250, "2.0.0")
			c.do("NOOP", 250, "2.0.0")
			got := h.inbox("alice@example.com")
			if len(got) != 1 || !strings.HasSuffix(string(got[0]), "\r\n"+body) {
				t.Fatalf("stored %q, want it to end with %q", got, body)
			}

			// ".\r" followed by anything but LF: go-smtp hides the bare
			// CR from Session.Data; only the wire check sees it.
			c.do("MAIL FROM:<s@other.test>", 250, "2.0.0")
			c.do("RCPT TO:<alice@example.com>", 250, "2.0.0")
			c.send(form)
			c.want(354, "")
			c.send("Subject: smuggle\r\n\r\n.\rX\r\n.\r\n")
			c.want(554, "5.6.0")
			c.do("NOOP", 250, "2.0.0")
			if n := len(h.inbox("alice@example.com")); n != 1 {
				t.Fatalf("%d messages stored, want 1", n)
			}
		})
	}
}

// parseCommand must say what go-smtp's parseCmd says.
func TestParseCommand(t *testing.T) {
	for _, tc := range []struct {
		line, cmd, arg string
		ok             bool
	}{
		{"DATA", "DATA", "", true},
		{"data  ", "DATA", "", true},
		{"DATA\r\r", "DATA", "", true},
		{"DATA x", "DATA", "x", true},
		{"DATAX", "", "", false},
		{"DAT", "", "", false},
		{"BDAT 10 LAST\r", "BDAT", "10 LAST", true},
		{"starttls foo", "STARTTLS", "", true},
		{"STARTTLSX", "STARTTLS", "", true},
		{"", "", "", true},
		{"RCPT\tTO:<a@b>", "", "", false},
	} {
		cmd, arg, ok := parseCommand(tc.line)
		if cmd != tc.cmd || arg != tc.arg || ok != tc.ok {
			t.Errorf("parseCommand(%q) = %q, %q, %v; want %q, %q, %v", tc.line, cmd, arg, ok, tc.cmd, tc.arg, tc.ok)
		}
	}
}
