package sqlite

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mailroom/mailroom/store"
)

// waitOrFail waits for wg, failing the test if it takes longer than d (a
// deadlock).
func waitOrFail(t *testing.T, wg *sync.WaitGroup, d time.Duration, what string) {
	t.Helper()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("%s still running after %v", what, d)
	}
}

// openNoIndexer is openTest without the background text indexer: it
// reads pending blobs through a snapshot connection after every delivery,
// so a checkConnsHeld that met it found one connection not idle ("16
// snapshot connections held, 15 idle", seen under -race -count=3).
func openNoIndexer(t *testing.T) *Store {
	t.Helper()
	return openTestWith(t, Options{noTextIndexer: true})
}

// checkConnsHeld: every snapshot connection is back (idle), each outside
// a transaction, and no read pool connection is left in use: the only
// ones database/sql counts in use are the held snapshot connections. The
// store must run no background reader (openNoIndexer).
func checkConnsHeld(t *testing.T, s *Store) {
	t.Helper()
	p := s.snaps
	if open, idle := len(p.open), len(p.idle); open != idle || open > maxSnapshotConns {
		t.Fatalf("%d snapshot connections held, %d idle (max %d)", open, idle, maxSnapshotConns)
	}
	if inUse := s.rdb.Stats().InUse; inUse != len(p.open) {
		t.Fatalf("read pool: %d connections in use, %d of them held for snapshots", inUse, len(p.open))
	}
	var cs []*heldConn
	for range len(p.idle) {
		cs = append(cs, <-p.idle)
	}
	for _, c := range cs {
		// BEGIN fails inside a transaction: one left open would give
		// the next snapshot a stale view.
		if err := c.exec("BEGIN"); err != nil {
			t.Fatalf("snapshot connection put back inside a transaction: %v", err)
		}
		if err := c.exec("ROLLBACK"); err != nil {
			t.Fatal(err)
		}
		p.idle <- c
	}
}

// TestSnapshotsBeyondPool: many more snapshots at once than connections
// for them, while deliveries commit: none deadlocks, each sees one
// consistent state, a read after a write sees it (no snapshot outlives
// its call on a reused connection), and every connection comes back.
func TestSnapshotsBeyondPool(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s := openNoIndexer(t)
	a, d := deliverOne(t, s)
	ref := d.Ref()
	const readers, deliveries = 200, 10
	var stop atomic.Bool
	errc := make(chan error, readers+1)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // the writer, each delivery read back at once
		defer wg.Done()
		defer stop.Store(true)
		for i := range deliveries {
			got, err := s.Deliver(ctx, []store.Target{{AccountID: a.ID}}, newMsg(fmt.Sprint(i)))
			if err != nil {
				errc <- err
				return
			}
			changed, _, highest, err := s.Changes(ctx, ref, 0)
			if err != nil {
				errc <- err
				return
			}
			if !slices.ContainsFunc(changed, func(m store.MessageMeta) bool { return m.UID == got[0].UID }) {
				errc <- fmt.Errorf("Changes after delivery of UID %d returned highest %d, %d messages without it", got[0].UID, highest, len(changed))
				return
			}
		}
	}()
	for i := range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				// Deliveries only: in one snapshot, the newest message's
				// modseq is the mailbox's highest, and each listed
				// message has its body.
				changed, _, highest, err := s.Changes(ctx, ref, 0)
				if err != nil {
					errc <- err
					return
				}
				if len(changed) == 0 || changed[len(changed)-1].ModSeq != highest {
					errc <- fmt.Errorf("inconsistent snapshot: %d messages, highest %d", len(changed), highest)
					return
				}
				if i%4 == 0 {
					uids := make([]uint32, len(changed))
					for k, m := range changed {
						uids[k] = m.UID
					}
					n := 0
					if err := s.ReadBodies(ctx, ref, uids, func(int64, uint32, []byte) error { n++; return nil }); err != nil {
						errc <- err
						return
					}
					if n != len(uids) {
						errc <- fmt.Errorf("ReadBodies of %d listed messages read %d", len(uids), n)
						return
					}
				}
			}
		}()
	}
	waitOrFail(t, &wg, 30*time.Second, "readers and writer")
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	checkConnsHeld(t, s)
}

// countdownCtx is a context that ends (context.Canceled) after its Err has
// been asked n times: a deterministic end at every point of a read.
type countdownCtx struct {
	context.Context
	n    atomic.Int64
	done chan struct{}
}

func newCountdown(n int64) *countdownCtx {
	c := &countdownCtx{Context: context.Background(), done: make(chan struct{})}
	c.n.Store(n)
	return c
}

func (c *countdownCtx) Done() <-chan struct{} { return c.done }

func (c *countdownCtx) Err() error {
	if c.n.Add(-1) < 0 {
		return context.Canceled
	}
	return nil
}

// TestSnapshotContextEnds: a context that ends while waiting for a
// snapshot connection, before or between statements, or between rows,
// makes the call return its error, never part of a result; the
// connections go back outside a transaction and the next reads see new
// writes.
func TestSnapshotContextEnds(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s := openNoIndexer(t)
	ref := mailboxOfRows(ctx, t, s)
	all, _, _, err := s.Changes(ctx, ref, 0)
	if err != nil {
		t.Fatal(err)
	}
	uids := make([]uint32, len(all))
	for i, m := range all {
		uids[i] = m.UID
	}

	// Waiting for a connection: all are taken.
	var held []*heldConn
	for range maxSnapshotConns {
		c, err := s.snaps.get(ctx)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
	}
	wctx, wcancel := context.WithTimeout(ctx, 50*time.Millisecond)
	_, _, _, err = s.Changes(wctx, ref, 0)
	wcancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Changes waiting for a snapshot connection past its deadline: %v", err)
	}
	// Other reads do not wait for snapshot connections.
	if _, err := s.MailboxStatus(ctx, ref); err != nil {
		t.Fatal(err)
	}
	for _, c := range held {
		s.snaps.put(c, false)
	}

	// The context ends at each point of Changes (a snapshot of three
	// statements) and of ReadBodies (a pooled read) in turn.
	for n := int64(0); ; n++ {
		cd := newCountdown(n)
		changed, _, _, err := s.Changes(cd, ref, 0)
		if err == nil {
			if len(changed) != len(all) {
				t.Fatalf("Changes, context ending after %d looks: %d of %d messages and no error", n, len(changed), len(all))
			}
			break
		}
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Changes, context ending after %d looks: %v", n, err)
		}
	}
	for n := int64(0); ; n++ {
		got := 0
		err := s.ReadBodies(newCountdown(n), ref, uids, func(int64, uint32, []byte) error { got++; return nil })
		if err == nil {
			if got != len(uids) {
				t.Fatalf("ReadBodies, context ending after %d looks: %d of %d bodies and no error", n, got, len(uids))
			}
			break
		}
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("ReadBodies, context ending after %d looks: %v", n, err)
		}
	}
	// Many at once, more than the connections, each ending at its own
	// point: then a write, which every connection's next snapshot sees.
	var wg sync.WaitGroup
	for i := range 4 * maxSnapshotConns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, _, err := s.Changes(newCountdown(int64(i%8)), ref, 0)
			if err != nil && !errors.Is(err, context.Canceled) {
				t.Error(err)
			}
		}()
	}
	waitOrFail(t, &wg, 30*time.Second, "Changes")
	checkConnsHeld(t, s)
	if _, _, err := s.Append(ctx, ref, []store.NewMessage{newMsg("new")}); err != nil {
		t.Fatal(err)
	}
	st, err := s.MailboxStatus(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 * maxSnapshotConns {
		_, _, highest, err := s.Changes(ctx, ref, 0)
		if err != nil {
			t.Fatal(err)
		}
		if highest != st.HighestModSeq {
			t.Fatalf("Changes after a write: highest modseq %d, want %d (a stale snapshot)", highest, st.HighestModSeq)
		}
	}
}

// TestReadCallbackFails: a read's callback that panics or fails midway
// through many rows leaves no connection taken.
func TestReadCallbackFails(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s := openNoIndexer(t)
	ref := mailboxOfRows(ctx, t, s)
	st, err := s.MailboxStatus(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	var uids []uint32
	for u := uint32(1); u < st.UIDNext; u++ {
		uids = append(uids, u)
	}
	boom := errors.New("boom")
	for i := range 2 * (maxReadConns + maxSnapshotConns) {
		n := 0
		cb := func() error {
			if n++; n == ctxCheckRows+1 {
				if i%2 == 0 {
					panic(boom)
				}
				return boom
			}
			return nil
		}
		var err error
		func() {
			defer func() {
				if r := recover(); r != nil {
					err = r.(error)
				}
			}()
			if i%4 < 2 {
				err = s.ReadBodies(ctx, ref, uids, func(int64, uint32, []byte) error { return cb() })
			} else {
				err = s.ListMessages(ctx, ref, nil, func(store.MessageMeta) error { return cb() })
			}
		}()
		if !errors.Is(err, boom) {
			t.Fatalf("read %d: %v, want the callback's", i, err)
		}
	}
	checkConnsHeld(t, s)
	if _, _, _, err := s.Changes(ctx, ref, 0); err != nil {
		t.Fatal(err)
	}
}

// TestCloseWithCallsInFlight: Close while snapshots, reads and writes
// run ends them with errors, without a panic or a hang, and every call
// after it returns an error.
func TestCloseWithCallsInFlight(t *testing.T) {
	t.Parallel()
	// Beyond the hang guards below (30 s each): a call that met this
	// deadline before Close would fail the test as a call error.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "mail.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	a, d := deliverOne(t, s)
	ref := d.Ref()
	calls := []func() error{
		func() error { _, _, _, err := s.Changes(ctx, ref, 0); return err },
		func() error {
			return s.ReadBodies(ctx, ref, []uint32{d.UID}, func(int64, uint32, []byte) error { return nil })
		},
		func() error { _, err := s.MailboxStatus(ctx, ref); return err },
		func() error { return s.ListMessages(ctx, ref, nil, func(store.MessageMeta) error { return nil }) },
		func() error { _, err := s.Deliver(ctx, []store.Target{{AccountID: a.ID}}, newMsg("y")); return err },
		func() error {
			_, _, err := s.UpdateFlags(ctx, ref, []uint32{d.UID}, store.FlagsAdd, []string{store.FlagSeen}, 0)
			return err
		},
	}
	var closing atomic.Bool
	var warm, wg sync.WaitGroup
	for i := range 64 {
		call := calls[i%len(calls)]
		warm.Add(1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			first := true
			for {
				err := call()
				if first {
					warm.Done()
					first = false
				}
				if err != nil {
					if !closing.Load() {
						t.Errorf("call %d before Close: %v", i, err)
					}
					return
				}
			}
		}()
	}
	waitOrFail(t, &warm, 30*time.Second, "first calls")
	closing.Store(true)
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Errorf("Close with calls in flight: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Close with calls in flight hangs")
	}
	waitOrFail(t, &wg, 30*time.Second, "calls after Close")
	for i, call := range calls {
		if err := call(); err == nil {
			t.Errorf("call %d after Close: no error", i)
		}
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// mailboxOfRows delivers a message and appends three times ctxCheckRows
// more to its mailbox, so that reads of it check their context between
// rows; it returns the mailbox.
func mailboxOfRows(ctx context.Context, t *testing.T, s *Store) store.MailboxRef {
	t.Helper()
	_, d := deliverOne(t, s)
	ref := d.Ref()
	batch := make([]store.NewMessage, 3*ctxCheckRows)
	for i := range batch {
		batch[i] = newMsg("x")
	}
	if _, _, err := s.Append(ctx, ref, batch); err != nil {
		t.Fatal(err)
	}
	return ref
}
