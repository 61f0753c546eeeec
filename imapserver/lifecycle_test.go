package imapserver

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestAutologout(t *testing.T) {
	ts := startTestServer(t, func(c *Config) { c.IdleTimeout = 300 * time.Millisecond })
	tc := ts.login()
	time.Sleep(500 * time.Millisecond)
	if r := tc.readResponse(); !strings.HasPrefix(r, "* BYE autologout") {
		t.Fatalf("got %q", r)
	}
	// Before login too.
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
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	start := time.Now()
	if err := ts.srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if time.Since(start) > time.Second {
		t.Fatalf("shutdown took %v", time.Since(start))
	}
	for _, tc := range []*testConn{idle, waiting} {
		if r := tc.readResponse(); r != "* BYE server shutting down" {
			t.Fatalf("got %q", r)
		}
	}
}
