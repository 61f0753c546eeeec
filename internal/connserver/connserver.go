// Package connserver is the listener and connection bookkeeping that the
// line-based protocol servers (pop3server, managesieve) share: accept with
// backoff on temporary errors, one goroutine per connection, and a
// Shutdown that interrupts idle sessions, waits for busy ones and closes
// what is left when its context ends.
package connserver

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Conn is one accepted session.
type Conn interface {
	// Serve runs the session until it ends.
	Serve()
	// Interrupt asks the session to end at its next idle point (the
	// server is going away): a goodbye, then close.
	Interrupt()
	// Abort closes the network connection at once.
	Abort()
}

// Tracker holds the listeners and connections of one server.
type Tracker struct {
	log     *slog.Logger
	closed  error // what Serve returns after Shutdown
	closing atomic.Bool

	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	conns     map[Conn]struct{}
	wg        sync.WaitGroup
}

// New returns a Tracker that logs accept retries to log; Serve returns
// closed once Shutdown has begun.
func New(log *slog.Logger, closed error) *Tracker {
	return &Tracker{log: log, closed: closed, listeners: map[net.Listener]struct{}{}, conns: map[Conn]struct{}{}}
}

// Closing reports whether Shutdown has begun.
func (t *Tracker) Closing() bool { return t.closing.Load() }

// Serve accepts connections on l until Shutdown, serving each one that
// newConn makes from it on its own goroutine. A temporary accept error
// (such as too many open files) is retried after a growing pause.
func (t *Tracker) Serve(l net.Listener, newConn func(net.Conn) Conn) error {
	if !t.track(func() { t.listeners[l] = struct{}{} }) {
		return t.closed
	}
	defer t.untrack(func() { delete(t.listeners, l) })
	var backoff time.Duration
	for {
		nc, err := l.Accept()
		if err != nil {
			if t.closing.Load() {
				return t.closed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				t.log.Warn("accept failed; retrying", "err", err, "delay", backoff)
				time.Sleep(backoff)
				continue
			}
			return err
		}
		backoff = 0
		c := newConn(nc)
		if !t.track(func() { t.conns[c] = struct{}{}; t.wg.Add(1) }) {
			nc.Close()
			return t.closed
		}
		go func() {
			defer t.wg.Done()
			defer t.untrack(func() { delete(t.conns, c) })
			c.Serve()
		}()
	}
}

// track runs add under the lock unless Shutdown has begun.
func (t *Tracker) track(add func()) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closing.Load() {
		return false
	}
	add()
	return true
}

func (t *Tracker) untrack(remove func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	remove()
}

// Shutdown stops accepting connections, interrupts every session and
// waits for them to end. If ctx ends first, the remaining connections are
// aborted (closed first, so that nothing more reaches the clients), then
// cancel ends their store calls, and ctx's error is returned. cancel is
// also called after a clean shutdown.
func (t *Tracker) Shutdown(ctx context.Context, cancel func()) error {
	t.mu.Lock()
	t.closing.Store(true)
	for l := range t.listeners {
		l.Close()
	}
	for c := range t.conns {
		c.Interrupt()
	}
	t.mu.Unlock()
	done := make(chan struct{})
	go func() {
		t.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		cancel()
		return nil
	case <-ctx.Done():
		t.mu.Lock()
		for c := range t.conns {
			c.Abort()
		}
		t.mu.Unlock()
		cancel()
		<-done
		return ctx.Err()
	}
}
