package smtpserver

import (
	"context"
	"testing"
	"time"

	"github.com/mailroom/mailroom/auth"
)

// throttleLimit is the failure limit these tests configure: they check
// the reply once an IP is throttled, not the default count (30 argon2id
// checks took over 20 s under -race on a loaded machine).
const throttleLimit = 5

// TestThrottledAuthReply: after many failures, even the right password
// gets 454 4.7.0 (a temporary refusal).
func TestThrottledAuthReply(t *testing.T) {
	h := newHarness(t, ModeSubmission, func(c *Config) {
		c.Auth = c.Auth.WithSleep(func(context.Context, time.Duration) error { return nil }).
			WithLimits(auth.Limits{FailuresPerIP: throttleLimit, FailuresPerAccount: throttleLimit})
	})
	c := h.dial()
	c.cmd("EHLO c", "250 ")
	for range throttleLimit {
		c.cmd("AUTH PLAIN "+b64("\x00alice@example.com\x00wrong"), "535 5.7.8 ")
	}
	c.cmd("AUTH PLAIN "+b64("\x00alice@example.com\x00"+testPassword), "454 4.7.0 ")
}
