package smtpserver

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"
)

// Shutdown closes idle connections, refuses new ones and lets a message
// in flight finish and be delivered before it returns.
func TestShutdownWaitsForInFlightData(t *testing.T) {
	h := newHarness(t, ModeMX)
	idle := h.dial()
	idle.cmd("EHLO idle.example", "250 ")
	busy := h.dial()
	busy.cmd("EHLO busy.example", "250 ")
	busy.cmd("MAIL FROM:<x@remote.example>", "250 ")
	busy.cmd("RCPT TO:<bob@example.com>", "250 ")
	busy.cmd("DATA", "354 ")
	busy.send("Subject: late\r\n\r\npart one\r\n")

	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second) // a hang guard
		defer cancel()
		done <- h.srv.Shutdown(ctx)
	}()

	idle.expect("421 4.3.2 ")
	idle.expectClosed()
	if err := h.serveErr(); !errors.Is(err, ErrServerClosed) {
		t.Fatalf("Serve returned %v, want ErrServerClosed", err)
	}
	if c, err := net.DialTimeout("tcp", h.addr, time.Second); err == nil {
		c.SetDeadline(time.Now().Add(2 * time.Second))
		buf := make([]byte, 64)
		n, _ := c.Read(buf)
		c.Close()
		if n >= 3 && string(buf[:3]) == "220" {
			t.Fatalf("new connection accepted during shutdown: %q", buf[:n])
		}
	}
	select {
	case err := <-done:
		t.Fatalf("Shutdown returned %v while a message was in flight", err)
	case <-time.After(100 * time.Millisecond):
	}

	busy.send("part two\r\n.\r\n")
	busy.expect("250 2.0.0 OK: queued as ")
	busy.expect("421 4.3.2 ")
	busy.expectClosed()
	if err := <-done; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if n := len(h.inbox("bob@example.com")); n != 1 {
		t.Fatalf("bob has %d messages, want 1", n)
	}
}

func TestShutdownGivesUpAtDeadline(t *testing.T) {
	h := newHarness(t, ModeMX)
	busy := h.dial()
	busy.cmd("EHLO busy.example", "250 ")
	busy.cmd("MAIL FROM:<x@remote.example>", "250 ")
	busy.cmd("RCPT TO:<bob@example.com>", "250 ")
	busy.cmd("DATA", "354 ")
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := h.srv.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown = %v, want deadline exceeded", err)
	}
	busy.expectClosed()
	if n := len(h.inbox("bob@example.com")); n != 0 {
		t.Fatalf("bob has %d messages, want 0", n)
	}
}
