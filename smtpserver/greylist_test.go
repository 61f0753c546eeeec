package smtpserver

import (
	"sync"
	"testing"
	"time"
)

// testClock is an injected clock a test moves.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func greylistHarness(t *testing.T, autoAllow int) (*harness, *testClock) {
	t.Helper()
	clock := &testClock{now: time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)}
	h := newHarness(t, ModeMX, func(c *Config) {
		c.Now = clock.Now
		c.Greylist = &GreylistConfig{Store: c.Store.(GreylistStore), Delay: 5 * time.Minute, Expire: 24 * time.Hour, AutoAllow: autoAllow}
	})
	return h, clock
}

// The first attempt of a triplet gets 451 4.7.1, so does a retry before
// the delay; after it the retry is accepted and the message stored; a
// new recipient is a new triplet; after expire without attempts the
// triplet starts over; authenticated clients are not greylisted.
func TestGreylisting(t *testing.T) {
	t.Parallel()
	h, clock := greylistHarness(t, 0)
	c := h.dial()
	c.cmd("EHLO client.test", "250 ")
	c.do("MAIL FROM:<s@sender.test>", 250, "2.0.0")
	r := c.do("RCPT TO:<alice@example.com>", 451, "4.7.1")
	if r.text[0] != "Greylisted, try again later" {
		t.Fatalf("reply text %q", r.text)
	}
	clock.advance(4 * time.Minute)
	c.do("RCPT TO:<alice@example.com>", 451, "4.7.1")
	clock.advance(time.Minute)
	c.do("RCPT TO:<alice@example.com>", 250, "2.0.0")
	c.do("RCPT TO:<bob@example.com>", 451, "4.7.1") // another triplet
	c.do("DATA", 354, "")
	c.send(milterMessage + ".\r\n")
	c.want(250, "2.0.0")
	if n, m := len(h.inbox("alice@example.com")), len(h.inbox("bob@example.com")); n != 1 || m != 0 {
		t.Fatalf("alice %d, bob %d messages", n, m)
	}
	// Passed triplets stay accepted while used within expire...
	clock.advance(23 * time.Hour)
	c.do("MAIL FROM:<s@sender.test>", 250, "2.0.0")
	c.do("RCPT TO:<alice@example.com>", 250, "2.0.0")
	c.do("RSET", 250, "2.0.0")
	// ... and start over after it.
	clock.advance(24*time.Hour + time.Second)
	c.do("MAIL FROM:<s@sender.test>", 250, "2.0.0")
	c.do("RCPT TO:<alice@example.com>", 451, "4.7.1")
	c.do("RSET", 250, "2.0.0")

	c.login("alice@example.com")
	c.do("MAIL FROM:<alice@example.com>", 250, "2.0.0")
	c.do("RCPT TO:<bob@example.com>", 250, "2.0.0")
}

// With auto_allow = 2, a client network whose triplets passed twice
// skips greylisting for new triplets.
func TestGreylistAutoAllow(t *testing.T) {
	t.Parallel()
	h, clock := greylistHarness(t, 2)
	c := h.dial()
	c.cmd("EHLO client.test", "250 ")
	c.do("MAIL FROM:<s@sender.test>", 250, "2.0.0")
	c.do("RCPT TO:<alice@example.com>", 451, "4.7.1")
	clock.advance(5 * time.Minute)
	c.do("RCPT TO:<alice@example.com>", 250, "2.0.0") // pass 1
	c.do("RCPT TO:<bob@example.com>", 451, "4.7.1")   // new triplet: not yet allowed
	c.do("RCPT TO:<alice@example.com>", 250, "2.0.0") // pass 2
	c.do("RCPT TO:<bob@example.com>", 250, "2.0.0")   // allowed: the client passed twice
	c.do("RCPT TO:<postmaster@example.com>", 250, "2.0.0")
}
