package smtpserver

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// SetLimits (a config reload) applies to connections accepted afterwards:
// EHLO announces the new SIZE, RCPT stops at the new count, MAIL SIZE=
// checks the new size; a session already open keeps its limits.
func TestSetLimitsAppliesToNewSessions(t *testing.T) {
	t.Parallel()
	h := newHarness(t, ModeMX, func(c *Config) { c.MaxRecipients = 1; c.MaxMessageBytes = 5000 })
	old := h.dial()
	if lines := old.cmd("EHLO c", "250 "); !slices.Contains(lines, "250-SIZE 5000") && !slices.Contains(lines, "250 SIZE 5000") {
		t.Fatalf("EHLO before reload: %q, want SIZE 5000", lines)
	}

	h.srv.SetLimits(Limits{MaxMessageBytes: 9000, MaxRecipients: 2})

	nc := h.dial()
	if lines := nc.cmd("EHLO c", "250 "); !slices.Contains(lines, "250-SIZE 9000") && !slices.Contains(lines, "250 SIZE 9000") {
		t.Fatalf("EHLO after reload: %q, want SIZE 9000", lines)
	}
	nc.cmd("MAIL FROM:<x@remote.example> SIZE=8000", "250 ")
	nc.cmd("RCPT TO:<alice@example.com>", "250 ")
	nc.cmd("RCPT TO:<bob@example.com>", "250 ")
	nc.cmd("RCPT TO:<postmaster@example.com>", "452 4.5.3 ")

	// The session opened before keeps the old limits.
	old.cmd("MAIL FROM:<x@remote.example> SIZE=8000", "552 5.3.4 ")
	old.cmd("MAIL FROM:<x@remote.example>", "250 ")
	old.cmd("RCPT TO:<alice@example.com>", "250 ")
	old.cmd("RCPT TO:<bob@example.com>", "452 4.5.3 ")
}

// A reloaded line length and command timeout apply to the next
// connection: a line the old limit accepted gets go-smtp's 500 and the
// connection closes; an idle client is dropped after the new timeout
// with 421 4.4.2, while the session opened before keeps its limits.
func TestSetLimitsLineLengthAndTimeout(t *testing.T) {
	t.Parallel()
	h := newHarness(t, ModeMX, func(c *Config) { c.MaxLineLength = 2000 })
	old := h.dial()
	line := "EHLO " + strings.Repeat("h", 1200) // 1207 bytes with CRLF

	// The line length first, under the default timeout: under 300 ms the
	// client's line, sent after it reads the greeting, could come late on
	// a loaded machine and meet the timeout instead.
	h.srv.SetLimits(Limits{MaxLineLength: 1000})
	nc := h.dial()
	nc.cmd(line, "500 5.4.0 ")
	nc.expectClosed()

	h.srv.SetLimits(Limits{MaxLineLength: 1000, ReadTimeout: 300 * time.Millisecond})
	idle := h.dial()
	start := time.Now()
	idle.expect("421 4.4.2 ")
	if d := time.Since(start); d > time.Minute { // the old timeout is 5 minutes
		t.Fatalf("idle client dropped after %v, want about 300ms", d)
	}
	idle.expectClosed()

	// The session opened before keeps 2000 bytes and 5 minutes.
	old.cmd(line, "250 ")
	time.Sleep(500 * time.Millisecond)
	old.cmd("NOOP", "250 ")
}

// A reloaded DATA timeout applies to the next connection's message data.
func TestSetLimitsDataTimeout(t *testing.T) {
	t.Parallel()
	h := newHarness(t, ModeMX)
	h.srv.SetLimits(Limits{DataTimeout: 300 * time.Millisecond})
	c := h.dial()
	c.cmd("EHLO c", "250 ")
	c.cmd("MAIL FROM:<x@remote.example>", "250 ")
	c.cmd("RCPT TO:<alice@example.com>", "250 ")
	c.cmd("DATA", "354 ")
	c.send("Subject: slow\r\n\r\n")
	start := time.Now()
	var got []string
	for {
		line, err := c.r.ReadString('\n')
		if err != nil {
			break
		}
		got = append(got, line)
	}
	// The stalled message is refused (451) and the session ends with
	// go-smtp's timeout reply.
	if len(got) == 0 || !strings.HasPrefix(got[len(got)-1], "421 4.4.2 ") {
		t.Fatalf("after the stall: %q, want 421 4.4.2 last", got)
	}
	if d := time.Since(start); d > time.Minute { // the old timeout is 5 minutes
		t.Fatalf("stalled DATA dropped after %v, want about 300ms", d)
	}
	if n := len(h.inbox("alice@example.com")); n != 0 {
		t.Fatalf("%d messages stored, want 0", n)
	}
}
