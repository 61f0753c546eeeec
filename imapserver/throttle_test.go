package imapserver

import (
	"context"
	"encoding/base64"
	"testing"
	"time"

	"github.com/mailroom/mailroom/auth"
)

// throttleLimit is the failure limit these tests configure: they check
// the reply once an IP is throttled, not the default count (30 argon2id
// checks took over 20 s under -race on a loaded machine).
const throttleLimit = 5

// TestThrottledLoginReply: after many failures, even the right password
// gets NO [UNAVAILABLE] (a temporary refusal), over LOGIN and AUTHENTICATE.
func TestThrottledLoginReply(t *testing.T) {
	ts := startTestServer(t, func(c *Config) {
		c.Auth = c.Auth.WithSleep(func(context.Context, time.Duration) error { return nil }).
			WithLimits(auth.Limits{FailuresPerIP: throttleLimit, FailuresPerAccount: throttleLimit})
	})
	tc := ts.dial()
	for range throttleLimit {
		tc.transactf("no", "LOGIN %s wrong", testUser)
		if tc.taggedCode() != "AUTHENTICATIONFAILED" {
			t.Fatalf("wrong password: %q", tc.lastTagged)
		}
	}
	tc.transactf("no", "LOGIN %s %s", testUser, testPass)
	if tc.taggedCode() != "UNAVAILABLE" {
		t.Errorf("throttled LOGIN: %q", tc.lastTagged)
	}
	tc.transactf("no", "AUTHENTICATE PLAIN %s", base64.StdEncoding.EncodeToString([]byte("\x00"+testUser+"\x00"+testPass)))
	if tc.taggedCode() != "UNAVAILABLE" {
		t.Errorf("throttled AUTHENTICATE: %q", tc.lastTagged)
	}
}
