package imapserver

import (
	"strings"
	"sync"
	"testing"
	"time"
)

// recMetrics records what the server reports.
type recMetrics struct {
	mu       sync.Mutex
	commands []string // "NAME status"
	idle     int
	maxIdle  int
	tls      []string
}

func (r *recMetrics) IMAPCommand(name, status string, d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.commands = append(r.commands, name+" "+status)
}

func (r *recMetrics) IMAPIdle(delta int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.idle += delta
	r.maxIdle = max(r.maxIdle, r.idle)
}

func (r *recMetrics) TLSHandshakeFailed(l string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.tls = append(r.tls, l)
}

func (r *recMetrics) snapshot() ([]string, int, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.commands...), r.idle, r.maxIdle
}

// Commands are reported by their table name and tagged status; unknown
// command names never reach the metrics; IDLE moves the gauge up and back
// down, also when the client goes away while idling.
func TestMetricsCommandsAndIdle(t *testing.T) {
	m := &recMetrics{}
	ts := startTestServer(t, func(c *Config) { c.Metrics = m })
	tc := ts.login()
	tc.transactf("ok", "select INBOX")
	tc.transactf("ok", "uid fetch 1:* (FLAGS)")
	tc.transactf("bad", "fetch")
	tc.transactf("bad", "XSECRETCOMMAND-%s", "alice")
	tc.transactf("no", "select NoSuchMailbox")
	tc.transactf("bad", "fetch 1 (FLAGS)") // not allowed once the failed SELECT unselected

	tc.writeLine("i1 IDLE")
	if l := tc.readResponse(); !strings.HasPrefix(l, "+ ") {
		t.Fatalf("IDLE: %q", l)
	}
	waitFor(t, func() bool { _, idle, _ := m.snapshot(); return idle == 1 })
	tc.writeLine("DONE")
	tc.readUntilTagged("i1", "ok")
	if _, idle, _ := m.snapshot(); idle != 0 {
		t.Errorf("idle gauge %d after DONE", idle)
	}

	// A client that vanishes while idling leaves the gauge at 0.
	tc2 := ts.login()
	tc2.writeLine("i2 IDLE")
	tc2.readResponse()
	waitFor(t, func() bool { _, idle, _ := m.snapshot(); return idle == 1 })
	tc2.nc.Close()
	waitFor(t, func() bool { _, idle, _ := m.snapshot(); return idle == 0 })

	cmds, _, _ := m.snapshot()
	want := []string{"LOGIN ok", "SELECT ok", "UID FETCH ok", "FETCH bad", "SELECT no", "FETCH bad", "LOGIN ok"}
	if strings.Join(cmds, ",") != strings.Join(want, ",") {
		t.Errorf("commands %q, want %q", cmds, want)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second) // a hang guard
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
