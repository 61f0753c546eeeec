package sqlite

import (
	"context"
	"errors"
	"runtime/metrics"
	"testing"
	"time"

	"github.com/mailroom/mailroom/store"
	"github.com/mailroom/mailroom/store/internal/sqlcore"
)

// goroutinesCreated is the runtime's count of goroutines created so far.
func goroutinesCreated() uint64 {
	s := []metrics.Sample{{Name: "/sched/goroutines-created:goroutines"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// TestReadsStartNoGoroutines: a session's store calls under its
// cancellable context (a snapshot of three statements, a body read, a
// status read, a flag write through the writer) start no goroutine. With
// database/sql's transactions and the driver's per-statement interrupter
// each started several and woke them at its end, which queued with the
// sessions' own goroutines on a busy machine (readconns.go).
func TestReadsStartNoGoroutines(t *testing.T) {
	// Not parallel: other tests' goroutines would count.
	s := openTest(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, d := deliverOne(t, s)
	ref := d.Ref()
	ops := []struct {
		name string
		fn   func() error
	}{
		{"Changes", func() error { _, _, _, err := s.Changes(ctx, ref, 0); return err }},
		{"ReadBodies", func() error {
			return s.ReadBodies(ctx, ref, []uint32{d.UID}, func(int64, uint32, []byte) error { return nil })
		}},
		{"MailboxStatus", func() error { _, err := s.MailboxStatus(ctx, ref); return err }},
		{"UpdateFlags", func() error {
			_, _, err := s.UpdateFlags(ctx, ref, []uint32{d.UID}, store.FlagsAdd, []string{store.FlagSeen}, 0)
			return err
		}},
	}
	const n = 200
	for _, op := range ops {
		if err := op.fn(); err != nil { // prepares its statements
			t.Fatalf("%s: %v", op.name, err)
		}
		before := goroutinesCreated()
		for range n {
			if err := op.fn(); err != nil {
				t.Fatalf("%s: %v", op.name, err)
			}
		}
		// A few for whatever else runs (timers of the test binary);
		// one per call is what a regression looks like.
		if got := goroutinesCreated() - before; got > n/10 {
			t.Errorf("%d calls of %s created %d goroutines, want none", n, op.name, got)
		}
	}
}

// TestReadEndsWithContext: a read notices its context ending between
// rows, with the context's error, though its statement runs without the
// context's cancellation.
func TestReadEndsWithContext(t *testing.T) {
	t.Parallel()
	s := openTest(t)
	_, d := deliverOne(t, s)
	batch := make([]store.NewMessage, 300)
	for i := range batch {
		batch[i] = newMsg("x")
	}
	if _, _, err := s.Append(context.Background(), d.Ref(), batch); err != nil {
		t.Fatal(err)
	}
	const q = "SELECT uid FROM messages WHERE mailbox_id = $1"
	// read counts the rows of q, cancelling after the tenth.
	read := func(rows sqlcore.Rows, err error, cancel func()) (int, error) {
		if err != nil {
			return 0, err
		}
		defer rows.Close()
		n := 0
		for rows.Next() {
			if n++; n == 10 {
				cancel()
			}
		}
		return n, rows.Err()
	}
	for _, how := range []string{"pool", "snapshot"} {
		ctx, cancel := context.WithCancel(context.Background())
		var n int
		var err error
		if how == "pool" {
			rows, qerr := readDB{s}.Query(ctx, q, d.MailboxID)
			n, err = read(rows, qerr, cancel)
		} else {
			err = readDB{s}.Snapshot(ctx, func(r sqlcore.Reader) error {
				rows, qerr := r.Query(q, d.MailboxID)
				var rerr error
				n, rerr = read(rows, qerr, cancel)
				return rerr
			})
		}
		cancel()
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s: read of 301 rows cancelled after 10: %v, want context.Canceled", how, err)
		}
		if n > ctxCheckRows {
			t.Errorf("%s: %d rows read after the context ended at the 10th, want at most %d", how, n, ctxCheckRows)
		}
	}
	// An ended context fails the next statement.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, _, err := s.Changes(ctx, d.Ref(), 0); !errors.Is(err, context.Canceled) {
		t.Errorf("Changes with an ended context: %v, want context.Canceled", err)
	}
	if _, err := s.MailboxStatus(ctx, d.Ref()); !errors.Is(err, context.Canceled) {
		t.Errorf("MailboxStatus with an ended context: %v, want context.Canceled", err)
	}
}

// TestSnapshotConnsReturned: a snapshot whose function panics or fails
// gives its connection back, so more of them than the pool holds leave
// it usable.
func TestSnapshotConnsReturned(t *testing.T) {
	t.Parallel()
	s := openTest(t)
	_, d := deliverOne(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a hang guard
	defer cancel()
	boom := errors.New("boom")
	for i := range 3 * maxSnapshotConns {
		func() {
			defer func() { recover() }()
			_ = readDB{s}.Snapshot(ctx, func(sqlcore.Reader) error {
				if i%2 == 0 {
					panic("in a snapshot")
				}
				return boom
			})
		}()
	}
	if _, _, _, err := s.Changes(ctx, d.Ref(), 0); err != nil {
		t.Fatal(err)
	}
	// A connection put back broken inside a transaction is dropped, not
	// handed by database/sql to the next read.
	for range maxSnapshotConns {
		c, err := s.snaps.get(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.exec("BEGIN"); err != nil {
			t.Fatal(err)
		}
		s.snaps.put(c, true)
	}
	for range maxReadConns + maxSnapshotConns {
		if _, _, _, err := s.Changes(ctx, d.Ref(), 0); err != nil {
			t.Fatal(err)
		}
		if _, err := s.MailboxStatus(ctx, d.Ref()); err != nil {
			t.Fatal(err)
		}
	}
}
