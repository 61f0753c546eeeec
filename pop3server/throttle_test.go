package pop3server

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestThrottledLoginReply: after many failures, even the right password
// gets -ERR [SYS/TEMP], over USER/PASS and AUTH.
func TestThrottledLoginReply(t *testing.T) {
	ts := newTestServer(t, func(c *Config) {
		c.Auth = c.Auth.WithSleep(func(context.Context, time.Duration) error { return nil })
	})
	c := ts.dial(t)
	for range 30 {
		c.expect("USER "+testUser, "+OK send PASS")
		if got := c.cmd("PASS wrong"); !strings.HasPrefix(got, "-ERR [AUTH]") {
			t.Fatalf("wrong password: %q", got)
		}
	}
	c.expect("USER "+testUser, "+OK send PASS")
	if got := c.cmd("PASS " + testPass); !strings.HasPrefix(got, "-ERR [SYS/TEMP]") {
		t.Errorf("throttled PASS: %q", got)
	}
	if got := c.cmd("AUTH PLAIN AHVzZXJAZXhhbXBsZS5jb20Ac2VjcmV0IHBhc3M="); !strings.HasPrefix(got, "-ERR [SYS/TEMP]") {
		t.Errorf("throttled AUTH: %q", got)
	}
}
