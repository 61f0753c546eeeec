package pop3server

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mailroom/mailroom/auth"
)

// throttleLimit is the failure limit these tests configure: they check
// the reply once an IP is throttled, not the default count (30 argon2id
// checks took over 20 s under -race on a loaded machine).
const throttleLimit = 5

// TestThrottledLoginReply: after many failures, even the right password
// gets -ERR [SYS/TEMP], over USER/PASS and AUTH.
func TestThrottledLoginReply(t *testing.T) {
	ts := newTestServer(t, func(c *Config) {
		c.Auth = c.Auth.WithSleep(func(context.Context, time.Duration) error { return nil }).
			WithLimits(auth.Limits{FailuresPerIP: throttleLimit, FailuresPerAccount: throttleLimit})
	})
	c := ts.dial(t)
	for range throttleLimit {
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
