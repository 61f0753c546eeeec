package imapserver

import (
	"bufio"
	"context"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// dialFrom connects from the loopback address ip (127.0.0.0/8 is all
// loopback on Linux), so that one test can be several client IPs.
func (ts *testServer) dialFrom(ip string) *testConn {
	ts.t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	nc, err := d.Dial("tcp", ts.addr)
	if err != nil {
		ts.t.Fatal(err)
	}
	ts.t.Cleanup(func() { nc.Close() })
	tc := &testConn{t: ts.t, nc: nc, br: bufio.NewReader(nc)}
	tc.greet = tc.readResponse()
	return tc
}

// Issue 11 item 7 over the wire: guessers on other IPs lock themselves
// out (even with the right password) while the real user, at an IP they
// logged in from before, logs in at once, undelayed.
func TestKnownGoodClientLogsInWhileGuessersAreLockedOut(t *testing.T) {
	var slept atomic.Int64
	ts := startTestServer(t, func(c *Config) {
		c.Auth = c.Auth.WithSleep(func(context.Context, time.Duration) error { slept.Add(1); return nil })
	})
	ts.dialFrom("127.0.0.1").transactf("ok", "LOGIN %s %s", testUser, testPass)
	for i := 2; i < 10; i++ {
		tc := ts.dialFrom("127.0.0." + string(rune('0'+i)))
		for range 5 {
			tc.transactf("no", "LOGIN %s wrong", testUser)
		}
	}
	guesser := ts.dialFrom("127.0.0.50")
	guesser.transactf("no", "LOGIN %s %s", testUser, testPass)
	if guesser.taggedCode() != "UNAVAILABLE" {
		t.Errorf("unknown IP past the account cap: %q, want NO [UNAVAILABLE]", guesser.lastTagged)
	}
	slept.Store(0)
	home := ts.dialFrom("127.0.0.1")
	home.transactf("ok", "LOGIN %s %s", testUser, testPass)
	if n := slept.Load(); n != 0 {
		t.Errorf("the real user's login was delayed %d times", n)
	}
}
