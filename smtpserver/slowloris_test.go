package smtpserver

import (
	"bufio"
	"errors"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/mailroom/mailroom/internal/connlimit"
)

// TestSlowlorisDropped: clients that stall mid-command hold at most
// max_connections_per_ip slots, further ones get 421 4.7.0, and the
// stalled ones are dropped when the command timeout expires, after which
// the server serves new clients again.
func TestSlowlorisDropped(t *testing.T) {
	// Long enough for the fourth client to dial while the three stalled
	// ones are still held, and for the client after recovery to send its
	// EHLO, on a loaded -race machine: at 300 ms the first stalled client
	// could be dropped before the fourth was refused.
	const timeout = 2 * time.Second
	h := newHarness(t, ModeMX, func(c *Config) { c.ReadTimeout = timeout })
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := connlimit.New(raw, connlimit.Config{PerIP: 3, Refuse: connlimit.RefuseSMTP})
	go h.srv.Serve(l) // ended by the harness's Shutdown

	dial := func() (net.Conn, *bufio.Reader, string) {
		t.Helper()
		c, err := net.Dial("tcp", raw.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		// A hang guard: a stalled connection the server does not drop
		// fails below with the deadline, not with EOF.
		c.SetDeadline(time.Now().Add(60 * time.Second))
		r := bufio.NewReader(c)
		line, _ := r.ReadString('\n')
		return c, r, line
	}
	var stalled []*bufio.Reader
	for range 3 {
		c, r, greet := dial()
		if !strings.HasPrefix(greet, "220 ") {
			t.Fatalf("greeting %q", greet)
		}
		c.Write([]byte("EHL")) // never finished
		stalled = append(stalled, r)
	}
	if _, _, line := dial(); !strings.HasPrefix(line, "421 4.7.0") {
		t.Fatalf("over the per-IP limit: %q, want 421 4.7.0", line)
	}
	start := time.Now()
	for _, r := range stalled {
		for {
			if _, err := r.ReadString('\n'); err != nil {
				if errors.Is(err, os.ErrDeadlineExceeded) {
					t.Fatalf("stalled connection still open after %v", time.Since(start))
				}
				break // closed by the server
			}
		}
	}
	// Far above the timeout: dropped by it, late on a loaded -race machine.
	if d := time.Since(start); d > timeout+30*time.Second {
		t.Errorf("stalled connections dropped after %v", d)
	}
	// Slots are free again.
	deadline := time.Now().Add(30 * time.Second) // a hang guard
	for {
		c, r, line := dial()
		if strings.HasPrefix(line, "220 ") {
			c.Write([]byte("EHLO ok\r\n"))
			if l, _ := r.ReadString('\n'); !strings.HasPrefix(l, "250") {
				t.Fatalf("EHLO after recovery: %q", l)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still refused after the stalled clients were dropped: %q", line)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if st := l.Stats(); st.Refused == 0 {
		t.Errorf("stats %+v", st)
	}
}
