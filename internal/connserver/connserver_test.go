package connserver

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"sync/atomic"
	"testing"
	"time"
)

var errClosed = errors.New("closed")

// echoConn serves until its client closes; Interrupt is ignored when
// stubborn, so Shutdown's grace must end it with Abort.
type echoConn struct {
	nc          net.Conn
	stubborn    bool
	interrupted atomic.Bool
}

func (c *echoConn) Serve() {
	defer c.nc.Close()
	io.Copy(c.nc, c.nc)
}

func (c *echoConn) Interrupt() {
	c.interrupted.Store(true)
	if !c.stubborn {
		c.nc.Close()
	}
}

func (c *echoConn) Abort() { c.nc.Close() }

func start(t *testing.T, stubborn bool) (*Tracker, net.Listener, chan *echoConn, chan error) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tr := New(slog.New(slog.DiscardHandler), errClosed)
	conns := make(chan *echoConn, 8)
	served := make(chan error, 1)
	go func() {
		served <- tr.Serve(l, func(nc net.Conn) Conn {
			c := &echoConn{nc: nc, stubborn: stubborn}
			conns <- c
			return c
		})
	}()
	return tr, l, conns, served
}

func dialEcho(t *testing.T, l net.Listener) net.Conn {
	t.Helper()
	nc, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	if _, err := nc.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1)
	if _, err := io.ReadFull(nc, buf); err != nil {
		t.Fatal(err)
	}
	return nc
}

// A clean shutdown interrupts sessions, waits for them, calls cancel and
// makes Serve return the closed error; Serve after it refuses at once.
func TestShutdownInterruptsAndWaits(t *testing.T) {
	t.Parallel()
	tr, l, conns, served := start(t, false)
	dialEcho(t, l)
	c := <-conns
	cancelled := false
	if err := tr.Shutdown(context.Background(), func() { cancelled = true }); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if !c.interrupted.Load() || !cancelled || !tr.Closing() {
		t.Errorf("interrupted %v, cancelled %v, closing %v; want all true", c.interrupted.Load(), cancelled, tr.Closing())
	}
	if err := <-served; !errors.Is(err, errClosed) {
		t.Errorf("Serve returned %v, want the closed error", err)
	}
	if err := tr.Serve(l, nil); !errors.Is(err, errClosed) {
		t.Errorf("Serve after Shutdown: %v, want the closed error", err)
	}
}

// A session that ignores Interrupt is aborted when the grace ends, and
// Shutdown returns the context's error within it.
func TestShutdownAbortsAfterGrace(t *testing.T) {
	t.Parallel()
	tr, l, conns, _ := start(t, true)
	nc := dialEcho(t, l)
	<-conns
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	began := time.Now()
	if err := tr.Shutdown(ctx, func() {}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown: %v, want DeadlineExceeded", err)
	}
	// A hang guard far above the grace: a Shutdown waiting for the
	// session would never return.
	if d := time.Since(began); d > 30*time.Second {
		t.Errorf("Shutdown took %v", d)
	}
	// Closed: EOF at once; still open: the read waits for its deadline.
	nc.SetReadDeadline(time.Now().Add(30 * time.Second))
	if _, err := nc.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("the aborted session's connection still open: %v", err)
	}
}
