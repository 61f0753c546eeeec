package imapserver

import (
	"testing"
	"time"
)

// TestSearchWithin: YOUNGER and OLDER (RFC 5032) count back from the
// server's clock over INTERNALDATE.
func TestSearchWithin(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	ts := startTestServer(t, func(c *Config) { c.Now = func() time.Time { return now } })
	tc := ts.login()
	hasLine(t, tc.transactf("ok", "capability"), " WITHIN")
	for _, d := range []string{"26-Nov-2026 11:59:30 +0000", "26-Nov-2026 10:00:00 +0000", "23-Nov-2026 12:00:00 +0000"} {
		tc.transactf("ok", "append INBOX \"%s\" {9+}\r\nSubject:x", d)
	}
	tc.transactf("ok", "select INBOX")
	for _, tt := range []struct{ cmd, want string }{
		{"search younger 60", "* SEARCH 1"},
		{"search younger 30", "* SEARCH 1"}, // exactly 30 s old: within
		{"search younger 29", "* SEARCH"},
		{"search older 3600", "* SEARCH 2 3"},
		{"search younger 7200 older 10", "* SEARCH 1 2"}, // 2 is exactly 7200 s old
		{"search older 259199", "* SEARCH 3"},
		{"uid search not younger 86400", "* SEARCH 3"},
	} {
		lines := tc.transactf("ok", "%s", tt.cmd)
		if len(lines) != 1 || lines[0] != tt.want {
			t.Errorf("%s: %q, want %q", tt.cmd, lines, tt.want)
		}
	}
	tc.transactf("bad", "search younger 0")
	tc.transactf("bad", "search older x")
}
