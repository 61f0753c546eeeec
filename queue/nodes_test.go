package queue

import (
	"context"
	"fmt"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mailroom/mailroom/store"
)

// Two runners (two nodes) on one store deliver every message exactly once.
func TestTwoRunnersDeliverEachMessageOnce(t *testing.T) {
	const n = 40
	ctx := context.Background()
	st1, path := newStoreWith(t, "alice@example.org")
	st2 := openStore(t, path)
	t.Cleanup(func() { st2.Close() })
	sk := startSink(t, nil)
	res := newTestResolver()
	res.addMX("remote.test", "mx.remote.test")
	ports := map[string]string{"mx.remote.test": sk.port()}
	for i := range n {
		rcpts := []string{fmt.Sprintf("r%d@remote.test", i)}
		if i%4 == 0 {
			rcpts = append(rcpts, fmt.Sprintf("s%d@remote.test", i))
		}
		if _, err := st1.Enqueue(ctx, store.QueuedMessage{From: "alice@example.org", Recipients: rcpts, Raw: []byte(testMsg)}); err != nil {
			t.Fatal(err)
		}
	}
	var runners []*Queue
	for i, st := range []Store{st1, st2} {
		cfg := fastConfig(st, res, ports)
		cfg.Owner = fmt.Sprintf("node-%d", i+1)
		cfg.Workers = 4
		cfg.PerDomain = 4
		runners = append(runners, New(cfg))
	}
	for _, q := range runners {
		q.Start()
		t.Cleanup(func() { q.Shutdown(context.Background()) })
	}
	waitFor(t, "every message delivered", func() bool { return len(sk.messages()) >= n })
	waitFor(t, "the queue to empty", queueEmpty(t, st1))
	time.Sleep(100 * time.Millisecond) // room for a duplicate to show
	msgs := sk.messages()
	if len(msgs) != n {
		t.Fatalf("%d messages delivered for %d queued", len(msgs), n)
	}
	sk.mu.Lock()
	defer sk.mu.Unlock()
	for i := range n {
		want := []string{fmt.Sprintf("r%d@remote.test", i)}
		if i%4 == 0 {
			want = append(want, fmt.Sprintf("s%d@remote.test", i))
		}
		for _, r := range want {
			if got := sk.attempts[r]; got != 1 {
				t.Errorf("%s got %d RCPTs, want 1", r, got)
			}
		}
	}
}

// A runner that died holding an item leaves it to the others once the
// lease ends, not before.
func TestCrashedRunnersItemTakenOverAfterLease(t *testing.T) {
	ctx := context.Background()
	st, _ := newStoreWith(t, "alice@example.org")
	sk := startSink(t, nil)
	res := newTestResolver()
	res.addMX("remote.test", "mx.remote.test")
	id, err := st.Enqueue(ctx, store.QueuedMessage{From: "alice@example.org", Recipients: []string{"bob@remote.test"}, Raw: []byte(testMsg)})
	if err != nil {
		t.Fatal(err)
	}
	if items, err := st.ClaimQueue(ctx, "dead-node", time.Now(), time.Minute, 10); err != nil || len(items) != 1 {
		t.Fatalf("claim as the dead node: %+v, %v", items, err)
	}
	var skew atomic.Int64
	cfg := fastConfig(st, res, map[string]string{"mx.remote.test": sk.port()})
	cfg.Owner = "live-node"
	cfg.Now = func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	startQueue(t, cfg)
	time.Sleep(200 * time.Millisecond) // ten polls
	if got := len(sk.messages()); got != 0 {
		t.Fatalf("%d deliveries of an item another node holds", got)
	}
	if it, err := st.QueueItem(ctx, id); err != nil || it.LeaseOwner != "dead-node" {
		t.Fatalf("item %+v, %v", it, err)
	}
	skew.Store(int64(2 * time.Minute))
	waitFor(t, "the delivery after the lease", func() bool { return len(sk.messages()) == 1 })
	waitFor(t, "the queue to empty", queueEmpty(t, st))
}

// An attempt that outlasts AttemptTimeout is cut off, deferred and the
// item released, well before the per-command timeout.
func TestAttemptTimeoutDefersAndReleases(t *testing.T) {
	ctx := context.Background()
	st, _ := newStoreWith(t, "alice@example.org")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() { // a server that never greets
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	_, port, _ := net.SplitHostPort(l.Addr().String())
	res := newTestResolver()
	res.addMX("remote.test", "mx.remote.test")
	claims := &claimRecorder{Store: st}
	cfg := fastConfig(claims, res, map[string]string{"mx.remote.test": port})
	cfg.Owner = "node-a"
	cfg.AttemptTimeout = 400 * time.Millisecond
	// Far beyond the bound below, so a slow CI machine cannot blur the two.
	cfg.CommandTimeout = 10 * time.Minute
	cfg.RetrySchedule = []time.Duration{time.Hour}
	cfg.Lifetime = 24 * time.Hour
	startQueue(t, cfg)
	start := time.Now()
	id, err := st.Enqueue(ctx, store.QueuedMessage{From: "alice@example.org", Recipients: []string{"bob@remote.test"}, Raw: []byte(testMsg)})
	if err != nil {
		t.Fatal(err)
	}
	// node-a's claim is recorded as the store grants it: polling the item
	// for node-a's lease could miss it, held only for the 400 ms of the
	// attempt, which a poll late on a loaded machine overshoots (and then
	// waits for a lease that never comes back).
	var it store.QueueItem
	waitFor(t, "the attempt to be cut off", func() bool {
		it, err = st.QueueItem(ctx, id)
		return err == nil && it.Recipients[0].Attempts == 1 && it.LeaseOwner == ""
	})
	if owners := claims.owners(id); len(owners) != 1 || owners[0] != "node-a" {
		t.Fatalf("item claimed by %q, want node-a", owners)
	}
	mu.Lock()
	if len(conns) == 0 {
		t.Error("node-a's attempt never connected")
	}
	mu.Unlock()
	if d := time.Since(start); d > time.Minute {
		t.Fatalf("attempt ended after %v; CommandTimeout ended it, not AttemptTimeout", d)
	}
	if r := it.Recipients[0]; r.Status != store.RcptPending || !r.NextAttempt.After(time.Now().Add(50*time.Minute)) {
		t.Fatalf("recipient after the cut-off attempt %+v", r)
	}
}

// A runner claims only as many items as it has idle workers; a worker
// that frees up claims the rest at once, not at the next poll.
func TestBusyWorkersClaimMoreWhenFree(t *testing.T) {
	ctx := context.Background()
	st, _ := newStoreWith(t, "alice@example.org")
	sk := startSink(t, nil)
	res := newTestResolver()
	res.addMX("remote.test", "mx.remote.test")
	for i := range 3 {
		if _, err := st.Enqueue(ctx, store.QueuedMessage{From: "alice@example.org", Recipients: []string{fmt.Sprintf("r%d@remote.test", i)}, Raw: []byte(testMsg)}); err != nil {
			t.Fatal(err)
		}
	}
	cfg := fastConfig(st, res, map[string]string{"mx.remote.test": sk.port()})
	cfg.Workers = 1
	cfg.PollInterval = time.Hour
	startQueue(t, cfg)
	waitFor(t, "all three delivered without a poll", func() bool { return len(sk.messages()) == 3 })
}

// claimRecorder records the claims the store granted: by which owner and
// at what time (the claim's now) each item was claimed.
type claimRecorder struct {
	Store
	mu      sync.Mutex
	claimed map[int64][]claim
}

type claim struct {
	owner string
	now   time.Time
}

func (s *claimRecorder) ClaimQueue(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]store.QueueItem, error) {
	items, err := s.Store.ClaimQueue(ctx, owner, now, lease, limit)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.claimed == nil {
		s.claimed = map[int64][]claim{}
	}
	for _, it := range items {
		s.claimed[it.ID] = append(s.claimed[it.ID], claim{owner, now})
	}
	return items, err
}

// claims returns the claims of item id, in order.
func (s *claimRecorder) claims(id int64) []claim {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.claimed[id])
}

// owners returns the owners that claimed item id, in order, each once in
// a row.
func (s *claimRecorder) owners(id int64) []string {
	var o []string
	for _, c := range s.claims(id) {
		o = append(o, c.owner)
	}
	return slices.Compact(o)
}
