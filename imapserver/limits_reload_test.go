package imapserver

import (
	"slices"
	"strings"
	"testing"
)

// capabilities parses the untagged CAPABILITY response among lines.
func capabilities(t *testing.T, lines []string) []string {
	t.Helper()
	for _, l := range lines {
		if rest, ok := strings.CutPrefix(l, "* CAPABILITY "); ok {
			return strings.Fields(rest)
		}
	}
	t.Fatalf("no CAPABILITY in %q", lines)
	return nil
}

// SetLimits (a config reload) applies to connections accepted afterwards
// (APPENDLIMIT, the mailbox count); a session already open keeps its
// limits.
func TestSetLimitsAppliesToNewSessions(t *testing.T) {
	t.Parallel()
	ts := startTestServer(t, func(c *Config) { c.MaxLiteralSize = 5000; c.MaxMailboxes = 100 })
	old := ts.login()
	if caps := capabilities(t, old.transactf("ok", "capability")); !slices.Contains(caps, "APPENDLIMIT=5000") {
		t.Fatalf("capabilities before reload: %q", caps)
	}

	ts.srv.SetLimits(Limits{MaxLiteralSize: 9000, MaxMailboxes: 7})

	nc := ts.login()
	if caps := capabilities(t, nc.transactf("ok", "capability")); !slices.Contains(caps, "APPENDLIMIT=9000") {
		t.Fatalf("capabilities after reload: %q", caps)
	}
	if caps := capabilities(t, old.transactf("ok", "capability")); !slices.Contains(caps, "APPENDLIMIT=5000") {
		t.Fatalf("open session after reload: %q", caps)
	}
	// Six mailboxes come with the account: one more fits, then no more.
	nc.transactf("ok", "create a")
	nc.transactf("no", "create b")
	if nc.taggedCode() != "LIMIT" {
		t.Errorf("create over the new limit: %q", nc.lastTagged)
	}
	old.transactf("ok", "create c")
}
