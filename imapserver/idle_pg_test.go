package imapserver

import (
	"context"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/mailroom/mailroom/message"
	"github.com/mailroom/mailroom/store"
	"github.com/mailroom/mailroom/store/postgres"
	"github.com/mailroom/mailroom/store/sqlite"
)

// Both backends give the callback form of Watch that conn.watch looks
// for, so that an idle connection needs no goroutine for the feed.
var (
	_ watchFuncer = (*postgres.Store)(nil)
	_ watchFuncer = (*sqlite.Store)(nil)
)

// TestIdleGoroutinesPostgres: N sessions IDLE on PostgreSQL cost one
// goroutine each (the connection's own), not two: the feed reaches them
// through postgres.Store.WatchFunc, not a goroutine draining a Watch
// channel per connection (issue 13). A delivery still wakes every idler.
// Not parallel: it counts the process's goroutines.
func TestIdleGoroutinesPostgres(t *testing.T) {
	const n = 50
	nodes, servers := pgNodes(t, 1)
	st, ts := nodes[0], servers[0]

	open := func() *idleClient {
		t.Helper()
		nc, err := net.Dial("tcp", ts.addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { nc.Close() })
		ic := &idleClient{nc: nc}
		ic.expect(t, "* OK")
		ic.send(t, "a LOGIN "+testUser+" "+testPass+"\r\nb SELECT INBOX\r\nc IDLE\r\n")
		ic.expect(t, "+ ")
		return ic
	}
	// One idler first, so that what the first session starts once (the
	// pool's connections, the credential cache) is in the baseline.
	clients := []*idleClient{open()}
	before := settledGoroutines()
	for range n {
		clients = append(clients, open())
	}
	after := settledGoroutines()
	perConn := float64(after-before) / n
	t.Logf("goroutines: %d before, %d after %d more idlers: %.2f per connection", before, after, n, perConn)
	// Each connection has its serving goroutine; a Watch channel would
	// add a second one (2.0 per connection).
	if perConn > 1.2 {
		t.Errorf("%.2f goroutines per idle connection on PostgreSQL (%d -> %d for %d sessions); want 1 (the connection's own)", perConn, before, after, n)
	}

	raw := []byte("Subject: x\r\n\r\nhi\r\n")
	if _, err := st.Deliver(context.Background(), []store.Target{{AccountID: ts.acct.ID}}, store.NewMessage{Raw: raw, Part: message.Parse(raw)}); err != nil {
		t.Fatal(err)
	}
	for _, ic := range clients {
		ic.expect(t, "* 1 EXISTS")
	}
}

// settledGoroutines returns runtime.NumGoroutine once it stayed the same
// for 5 samples 50 ms apart (goroutines of earlier tests and logins wind
// down, late on a loaded -race machine), or after 30 s.
func settledGoroutines() int {
	last, same := runtime.NumGoroutine(), 0
	for deadline := time.Now().Add(30 * time.Second); same < 5 && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
		n := runtime.NumGoroutine()
		if n == last {
			same++
		} else {
			last, same = n, 0
		}
	}
	return last
}
