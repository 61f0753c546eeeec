package queue

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mailroom/mailroom/store"
)

const testLease = 200 * time.Millisecond

// A delivery that takes several lease periods keeps its item: the runner
// renews the lease, so the other runner never starts a second delivery.
// The lease is long enough (renewals every 500 ms, each good for 2 s) that
// a renewal late by a second on a loaded -race machine still keeps it,
// and the destination holds the delivery until the runner has renewed 8
// times (two lease periods), however long that takes.
func TestSlowDeliveryRenewsLease(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st1, path := newStoreWith(t, "alice@example.org")
	st2 := openStore(t, path)
	t.Cleanup(func() { st2.Close() })
	const lease = 2 * time.Second
	const renewals = 8 // lease/4 apart: two lease periods
	// Counted on both nodes: either may claim the item first.
	var renewed atomic.Int64
	sk := startSink(t, func(rcpt string, attempt int) error {
		for deadline := time.Now().Add(60 * time.Second); renewed.Load() < renewals && time.Now().Before(deadline); {
			time.Sleep(10 * time.Millisecond)
		}
		return nil
	})
	res := newTestResolver()
	res.addMX("remote.test", "mx.remote.test")
	ports := map[string]string{"mx.remote.test": sk.port()}
	id, err := st1.Enqueue(ctx, store.QueuedMessage{From: "alice@example.org", Recipients: []string{"bob@remote.test"}, Raw: []byte(testMsg)})
	if err != nil {
		t.Fatal(err)
	}
	for i, st := range []Store{st1, st2} {
		cfg := fastConfig(&renewCounter{Store: st, n: &renewed}, res, ports)
		cfg.Owner = fmt.Sprintf("node-%d", i+1)
		cfg.Lease = lease
		// One worker: a busy runner does not claim, so only the renewals
		// keep its lease.
		cfg.Workers = 1
		// The destination holds RCPT for seconds: not a command timeout.
		cfg.CommandTimeout = time.Minute
		startQueue(t, cfg)
	}
	waitFor(t, "the delivery", func() bool { return len(sk.messages()) >= 1 })
	waitFor(t, "the queue to empty", queueEmpty(t, st1))
	if n := renewed.Load(); n < renewals {
		t.Fatalf("delivered after %d lease renewals; the destination waits for %d", n, renewals)
	}
	time.Sleep(lease / 2) // room for a duplicate to show
	sk.mu.Lock()
	defer sk.mu.Unlock()
	if n := sk.attempts["bob@remote.test"]; n != 1 || len(sk.got) != 1 {
		t.Fatalf("item %d: %d RCPTs and %d messages at the destination, want 1 of each", id, n, len(sk.got))
	}
}

// renewCounter counts in n the lease renewals of the items in flight
// that the store granted.
type renewCounter struct {
	Store
	n *atomic.Int64
}

func (s *renewCounter) RenewQueueLeases(ctx context.Context, owner string, ids []int64, until time.Time) ([]int64, error) {
	renewed, err := s.Store.RenewQueueLeases(ctx, owner, ids, until)
	if len(renewed) > 0 {
		s.n.Add(1)
	}
	return renewed, err
}

// crashableStore stands for a node's view of the store: once the node
// crashes, nothing it does reaches the store (no renewal, no release, no
// outcome). It records the end of the last lease the store granted it.
type crashableStore struct {
	Store
	crashed atomic.Bool

	mu       sync.Mutex
	leaseEnd time.Time
}

func (s *crashableStore) granted(until time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if until.After(s.leaseEnd) {
		s.leaseEnd = until
	}
}

// lastLeaseEnd is the end of the latest lease the store granted.
func (s *crashableStore) lastLeaseEnd() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.leaseEnd
}

var errCrashed = errors.New("node crashed")

func (s *crashableStore) ClaimQueue(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]store.QueueItem, error) {
	if s.crashed.Load() {
		return nil, errCrashed
	}
	items, err := s.Store.ClaimQueue(ctx, owner, now, lease, limit)
	if len(items) > 0 {
		s.granted(now.Add(lease))
	}
	return items, err
}

func (s *crashableStore) RenewQueueLeases(ctx context.Context, owner string, ids []int64, until time.Time) ([]int64, error) {
	if s.crashed.Load() {
		return nil, errCrashed
	}
	renewed, err := s.Store.RenewQueueLeases(ctx, owner, ids, until)
	if len(renewed) > 0 {
		s.granted(until)
	}
	return renewed, err
}

func (s *crashableStore) ReleaseQueueItem(ctx context.Context, id int64, owner string) error {
	if s.crashed.Load() {
		return errCrashed
	}
	return s.Store.ReleaseQueueItem(ctx, id, owner)
}

func (s *crashableStore) UpdateQueueRecipients(ctx context.Context, id int64, rcpts []store.QueueRecipient) error {
	if s.crashed.Load() {
		return errCrashed
	}
	return s.Store.UpdateQueueRecipients(ctx, id, rcpts)
}

func (s *crashableStore) DeleteQueueItem(ctx context.Context, id int64) error {
	if s.crashed.Load() {
		return errCrashed
	}
	return s.Store.DeleteQueueItem(ctx, id)
}

// holdFirst returns a RCPT reply that holds the first attempt at each
// recipient until the test ends (a delivery in progress) and accepts the
// others.
func holdFirst(t *testing.T) func(string, int) error {
	hold := make(chan struct{})
	t.Cleanup(func() { close(hold) })
	return func(rcpt string, attempt int) error {
		if attempt == 1 {
			<-hold
		}
		return nil
	}
}

// A runner that crashes mid-delivery leaves its item to another runner
// about one lease period later, long before its attempt would have timed
// out.
func TestCrashedRunnerTakenOverAfterOneLease(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st1, path := newStoreWith(t, "alice@example.org")
	st2 := openStore(t, path)
	t.Cleanup(func() { st2.Close() })
	sk := startSink(t, holdFirst(t))
	res := newTestResolver()
	res.addMX("remote.test", "mx.remote.test")
	ports := map[string]string{"mx.remote.test": sk.port()}
	id, err := st1.Enqueue(ctx, store.QueuedMessage{From: "alice@example.org", Recipients: []string{"bob@remote.test"}, Raw: []byte(testMsg)})
	if err != nil {
		t.Fatal(err)
	}
	// Far longer than the takeover may take on a loaded -race machine
	// (the bound below), so that a takeover only by the attempt timing
	// out cannot pass.
	const attemptTimeout = 60 * time.Second
	cs := &crashableStore{Store: st1}
	cfg := fastConfig(cs, res, ports)
	cfg.Owner = "crashing-node"
	cfg.Lease = testLease
	cfg.AttemptTimeout = attemptTimeout
	startQueue(t, cfg)
	waitFor(t, "the first node's delivery to start", func() bool {
		sk.mu.Lock()
		defer sk.mu.Unlock()
		return sk.attempts["bob@remote.test"] == 1
	})
	cs.crashed.Store(true)
	crashed := time.Now()

	live := &claimRecorder{Store: st2}
	cfg = fastConfig(live, res, ports)
	cfg.Owner = "live-node"
	cfg.Lease = testLease
	cfg.AttemptTimeout = attemptTimeout
	startQueue(t, cfg)
	waitFor(t, "the live node's delivery", func() bool { return len(sk.messages()) == 1 })
	d := time.Since(crashed)
	waitFor(t, "the queue to empty", queueEmpty(t, st2))
	// Not before the crashed node's lease ended: compared with the lease
	// the store last granted it, not with the time of the crash, since a
	// renewal late on a loaded machine may have let the lease end before
	// the crash, and the takeover then rightly comes sooner than a lease
	// after it.
	claims := live.claims(id)
	if len(claims) == 0 {
		t.Fatal("the live node delivered an item it never claimed")
	}
	if end := cs.lastLeaseEnd(); end.IsZero() || claims[0].now.UnixNano() < end.UnixNano() { // the store's clock
		t.Fatalf("taken over at %v, before the crashed node's lease ended at %v", claims[0].now, end)
	}
	if d > attemptTimeout/2 {
		t.Fatalf("taken over %v after the crash; the lease is %v, the attempt timeout %v", d, testLease, attemptTimeout)
	}
}

// A runner whose lease was taken over (its renewals came too late)
// abandons the attempt at once and records nothing: the item is the new
// holder's.
func TestLostLeaseAbandonsAttempt(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, _ := newStoreWith(t, "alice@example.org")
	sk := startSink(t, holdFirst(t))
	res := newTestResolver()
	res.addMX("remote.test", "mx.remote.test")
	id, err := st.Enqueue(ctx, store.QueuedMessage{From: "alice@example.org", Recipients: []string{"bob@remote.test"}, Raw: []byte(testMsg)})
	if err != nil {
		t.Fatal(err)
	}
	cfg := fastConfig(st, res, map[string]string{"mx.remote.test": sk.port()})
	cfg.Owner = "slow-node"
	cfg.Lease = testLease
	// An attempt left to time out runs far longer than the bound below
	// (a hang guard on a loaded -race machine).
	cfg.AttemptTimeout = 60 * time.Second
	q := startQueue(t, cfg)
	waitFor(t, "the delivery to start", func() bool {
		sk.mu.Lock()
		defer sk.mu.Unlock()
		return sk.attempts["bob@remote.test"] == 1
	})
	// Another node, its clock an hour ahead, sees the lease ended.
	if items, err := st.ClaimQueue(ctx, "other-node", time.Now().Add(time.Hour), time.Hour, 10); err != nil || len(items) != 1 {
		t.Fatalf("taking the item over: %+v, %v", items, err)
	}
	lost := time.Now()
	inflight := func() int {
		q.mu.Lock()
		defer q.mu.Unlock()
		return len(q.inflight)
	}
	for inflight() != 0 {
		if time.Since(lost) > 30*time.Second {
			t.Fatal("the attempt on a lost item still runs")
		}
		time.Sleep(10 * time.Millisecond)
	}
	it, err := st.QueueItem(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if it.LeaseOwner != "other-node" || it.Recipients[0].Attempts != 0 || it.Recipients[0].LastError != "" {
		t.Fatalf("the old holder touched the item: %+v", it)
	}
	if n := len(sk.messages()); n != 0 {
		t.Fatalf("%d messages delivered", n)
	}
}
