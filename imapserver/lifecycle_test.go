package imapserver

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestAutologout(t *testing.T) {
	t.Parallel() // it waits out the timeouts
	// The timeout must outlast the LOGIN exchange on a loaded machine under
	// -race (it also runs between the greeting and LOGIN): 10 s, as a
	// 2 s one could end before a LOGIN that a loaded machine held up;
	// readResponse waits for the BYE, no sleep needed.
	ts := startTestServer(t, func(c *Config) { c.IdleTimeout = 10 * time.Second })
	tc := ts.login()
	if r := tc.readResponse(); !strings.HasPrefix(r, "* BYE autologout") {
		t.Fatalf("got %q", r)
	}
	// Before login too, where nothing need happen in time: a short
	// timeout for connections accepted from now on.
	ts.srv.SetLimits(Limits{IdleTimeout: 500 * time.Millisecond})
	tc = ts.dial()
	if r := tc.readResponse(); !strings.HasPrefix(r, "* BYE") {
		t.Fatalf("got %q", r)
	}
}

func TestShutdown(t *testing.T) {
	ts := startTestServer(t)
	idle := ts.login()
	idle.transactf("ok", "select inbox")
	idle.writeLine("i idle")
	idle.readResponse()
	waiting := ts.login()
	// Neither client ever logs out: Shutdown returns nil (not the
	// context's error, after which it force-closes without a BYE) only if
	// the server ended both sessions itself. The deadline is a hang guard,
	// not a speed bound (a slow CI machine under -race).
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := ts.srv.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown did not end the idle sessions itself: %v", err)
	}
	for _, tc := range []*testConn{idle, waiting} {
		if r := tc.readResponse(); r != "* BYE server shutting down" {
			t.Fatalf("got %q", r)
		}
	}
}
