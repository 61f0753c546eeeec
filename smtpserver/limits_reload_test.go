package smtpserver

import (
	"slices"
	"testing"
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
