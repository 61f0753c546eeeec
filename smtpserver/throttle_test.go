package smtpserver

import (
	"context"
	"testing"
	"time"
)

// TestThrottledAuthReply: after many failures, even the right password
// gets 454 4.7.0 (a temporary refusal).
func TestThrottledAuthReply(t *testing.T) {
	h := newHarness(t, ModeSubmission, func(c *Config) {
		c.Auth = c.Auth.WithSleep(func(context.Context, time.Duration) error { return nil })
	})
	c := h.dial()
	c.cmd("EHLO c", "250 ")
	for range 30 {
		c.cmd("AUTH PLAIN "+b64("\x00alice@example.com\x00wrong"), "535 5.7.8 ")
	}
	c.cmd("AUTH PLAIN "+b64("\x00alice@example.com\x00"+testPassword), "454 4.7.0 ")
}
