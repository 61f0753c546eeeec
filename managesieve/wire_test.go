package managesieve

import (
	"encoding/base64"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"
)

func TestPreAuthBounds(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	c := dial(t, ts.addr)
	c.greet()
	// A long line is refused and the session goes on.
	if r := c.expect("NO", "NOOP "+strings.Repeat("a", preAuthMaxLine)); r.text != "line too long" {
		t.Errorf("long line: %v", r)
	}
	c.expect("OK", "NOOP")
	// A literal over the pre-auth bound ends the session: nothing big is
	// read from a client not yet known.
	r := c.cmd(`AUTHENTICATE "PLAIN" {` + "100000+}")
	if r.kind != "BYE" {
		t.Fatalf("big pre-auth literal: %v", r)
	}
	if _, err := c.br.ReadByte(); !errors.Is(err, io.EOF) {
		t.Errorf("open after BYE: %v", err)
	}
}

func TestWrongStateAndUnknown(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	c := dial(t, ts.addr)
	c.greet()
	for _, cmd := range []string{"LISTSCRIPTS", `GETSCRIPT "a"`, `PUTSCRIPT "a" "keep;"`, "UNAUTHENTICATE", `HAVESPACE "a" 1`, `CHECKSCRIPT "keep;"`} {
		if r := c.cmd(cmd); r.kind != "NO" || r.text != errWrongState.text {
			t.Errorf("%s before login: %v", cmd, r)
		}
	}
	c.expect("OK", "NOOP") // a good command resets the bad-command count
	if r := c.cmd("FROB"); r.kind != "NO" || r.text != errUnknownCommand.text {
		t.Errorf("unknown: %v", r)
	}
	c.expect("NO", `"quoted" LOGOUT`)
	c.expect("NO", `NOOP "unterminated`)
	c.expect("NO", "CAPABILITY extra")
	c.expect("OK", "NOOP")
}

func TestTooManyBadCommands(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	c := dial(t, ts.addr)
	c.greet()
	for i := 1; i < maxBadCommands; i++ {
		c.expect("NO", "BOGUS")
	}
	c.send("BOGUS\r\n")
	if r := c.read(); r.kind != "NO" {
		t.Fatalf("last bad command: %v", r)
	}
	if r := c.read(); r.kind != "BYE" {
		t.Fatalf("after too many bad commands: %v", r)
	}
}

func TestIdleTimeout(t *testing.T) {
	t.Parallel()
	ts := startServer(t, func(c *Config) { c.IdleTimeout = 300 * time.Millisecond })
	c := ts.session(t)
	start := time.Now()
	r := c.read()
	// Far below the 30 min default, far above 300 ms: a hang guard for a
	// loaded -race machine, below the client's own 20 s deadline.
	if r.kind != "BYE" || time.Since(start) > 15*time.Second {
		t.Fatalf("idle: %v after %v", r, time.Since(start))
	}
}

func TestPreAuthIdleTimeout(t *testing.T) {
	t.Parallel()
	ts := startServer(t, func(c *Config) { c.preAuthTimeout = 200 * time.Millisecond })
	c := dial(t, ts.addr)
	c.greet()
	start := time.Now()
	if r := c.read(); r.kind != "BYE" || time.Since(start) > 15*time.Second {
		t.Fatalf("idle before login: %v after %v", r, time.Since(start))
	}
	// After login the longer IdleTimeout applies. The login goes out
	// with the connection, before the greeting is read: sent after it, on
	// a loaded machine it could reach the server after the 200 ms.
	c = dial(t, ts.addr)
	ir := base64.StdEncoding.EncodeToString([]byte("\x00" + testUser + "\x00" + testPass))
	c.send(`AUTHENTICATE "PLAIN" "` + ir + `"` + "\r\n")
	c.greet()
	if r := c.read(); r.kind != "OK" {
		t.Fatalf("login: %v", r)
	}
	c.nc.SetReadDeadline(time.Now().Add(600 * time.Millisecond))
	if _, err := c.br.ReadByte(); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("authenticated session: %v, want still open", err)
	}
}

func TestShutdown(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	c := ts.session(t)
	ctx, cancel := contextWithTimeout(30 * time.Second) // a hang guard: it fails the test when reached
	defer cancel()
	if err := ts.srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if r := c.read(); r.kind != "BYE" || r.code != codeTryLater {
		t.Fatalf("idle session at shutdown: %v", r)
	}
}

func TestPipelined(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	c := ts.session(t)
	c.send(`PUTSCRIPT "p" ` + literal("keep;") + "\r\nSETACTIVE \"p\"\r\nLISTSCRIPTS\r\n")
	for _, want := range []string{"OK", "OK", "OK"} {
		r := c.read()
		if r.kind != want {
			t.Fatalf("pipelined: %v", r)
		}
		if len(r.lines) > 0 && (r.lines[0][0] != "p" || r.lines[0][1] != "ACTIVE") {
			t.Fatalf("LISTSCRIPTS %v", r.lines)
		}
	}
}
