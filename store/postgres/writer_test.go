package postgres

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mailroom/mailroom/store"
	"github.com/mailroom/mailroom/store/internal/sqlcore"
)

// lockMailbox holds the row lock of a mailbox from a connection of its
// own, as another node's transaction would, until the returned func runs.
func lockMailbox(t *testing.T, s *Store, mailboxID int64) (release func()) {
	t.Helper()
	ctx := context.Background()
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "SELECT id FROM mailboxes WHERE id = $1 FOR UPDATE", mailboxID); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	release = func() { once.Do(func() { tx.Rollback(ctx) }) }
	t.Cleanup(release)
	return release
}

// blockWriter runs a write that holds the writer until the returned func
// is called, so that the writes sent meanwhile wait for the next batch.
func blockWriter(t *testing.T, s *Store) (release func()) {
	t.Helper()
	gate, running := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- s.write(context.Background(), func(*wtx) error { close(running); <-gate; return nil })
	}()
	var once sync.Once
	release = func() {
		once.Do(func() {
			close(gate)
			if err := <-done; err != nil {
				t.Errorf("blocking write: %v", err)
			}
		})
	}
	t.Cleanup(release)
	select {
	case <-running: // the writer now runs it
	case <-time.After(30 * time.Second):
		t.Fatal("the writer did not take the blocking write in 30 s")
	}
	return release
}

func batchMsg(i int) store.NewMessage {
	return store.NewMessage{Raw: fmt.Appendf(nil, "Subject: %d\r\n\r\nbody %d\r\n", i, i)}
}

// deliverAsync delivers one message to target in a goroutine; the result
// arrives on the returned channel.
func deliverAsync(s *Store, target store.Target, i int) <-chan error {
	ch := make(chan error, 1)
	go func() {
		_, err := s.Deliver(context.Background(), []store.Target{target}, batchMsg(i))
		ch <- err
	}()
	return ch
}

// waitQueued waits until n writes sent in goroutines wait for the writer
// (parked on s.jobs behind a batch that blocks), so they go in its next
// batch together.
// A write counts as offered just before its goroutine parks on s.jobs;
// waitQueued also waits for n goroutines parked in submit's select, so
// that the writer, once released, finds them all.
func waitQueued(t *testing.T, s *Store, n int64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for s.offered.Load() < n || parkedSubmits(s) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d writes offered, %d parked, after 30 s; want %d", s.offered.Load(), parkedSubmits(s), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// parkedSubmits counts the goroutines blocked in s.submit's select (the
// traceback names the receiver as submit's first argument).
func parkedSubmits(s *Store) int64 {
	frame := fmt.Sprintf("postgres.(*Store).submit(%p", s)
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var parked int64
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, " [select") && strings.Contains(g, frame) {
			parked++
		}
	}
	return parked
}

// Concurrent deliveries share transactions (group commit): while a write
// waits for a lock, the deliveries that arrive meanwhile wait for the
// writer and then commit together in one batch, each with its own UID,
// each reported as one write.
func TestGroupCommitBatchesConcurrentDeliveries(t *testing.T) {
	t.Parallel()
	s := openTest(t)
	m := &countingMetrics{}
	s.WithMetrics(m)
	ctx := context.Background()
	a, err := s.CreateAccount(ctx, "batch@example.org", "pw")
	if err != nil {
		t.Fatal(err)
	}
	release := blockWriter(t, s)
	batchesBefore := m.batches.Load()
	const n = 20
	var results []<-chan error
	for i := range n {
		results = append(results, deliverAsync(s, store.Target{AccountID: a.ID}, i+1))
	}
	waitQueued(t, s, int64(n))
	release()
	for i, ch := range results {
		if err := <-ch; err != nil {
			t.Fatalf("delivery %d: %v", i, err)
		}
	}
	if got := m.batches.Load() - batchesBefore; got > 1 {
		t.Errorf("%d concurrent deliveries took %d transactions, want one batch", n, got)
	}
	inbox, err := s.MailboxByName(ctx, a.ID, store.Inbox)
	if err != nil {
		t.Fatal(err)
	}
	msgs := listAll(t, s, store.MailboxRef{AccountID: a.ID, MailboxID: inbox.ID})
	seen := map[uint32]bool{}
	for _, msg := range msgs {
		seen[msg.UID] = true
	}
	if len(msgs) != n || len(seen) != n {
		t.Fatalf("INBOX has %d messages with %d distinct UIDs, want %d", len(msgs), len(seen), n)
	}
	if w := m.writes.Load(); w < n {
		t.Errorf("%d writes reported, want >= %d (one per delivery)", w, n)
	}
	if b, w := m.batched.Load(), m.writes.Load(); b > w {
		t.Errorf("batch sizes sum to %d, more than the %d writes", b, w)
	}
}

// A delivery that fails in a batch fails alone: the others of its batch
// commit.
func TestGroupCommitFailureIsolated(t *testing.T) {
	t.Parallel()
	s := openTest(t)
	ctx := context.Background()
	a, err := s.CreateAccount(ctx, "isolated@example.org", "pw")
	if err != nil {
		t.Fatal(err)
	}
	other, err := s.CreateMailbox(ctx, a.ID, "Other", "")
	if err != nil {
		t.Fatal(err)
	}
	release := blockWriter(t, s)
	good1 := deliverAsync(s, store.Target{AccountID: a.ID}, 1)
	bad := deliverAsync(s, store.Target{AccountID: a.ID, MailboxID: other.ID + 1000}, 2)
	good2 := deliverAsync(s, store.Target{AccountID: a.ID}, 3)
	waitQueued(t, s, 3)
	release()
	for _, ch := range []<-chan error{good1, good2} {
		if err := <-ch; err != nil {
			t.Fatalf("delivery in the failing one's batch: %v", err)
		}
	}
	if err := <-bad; !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("delivery to a missing mailbox: %v, want ErrNotFound", err)
	}
	inbox, err := s.MailboxByName(ctx, a.ID, store.Inbox)
	if err != nil {
		t.Fatal(err)
	}
	msgs := listAll(t, s, store.MailboxRef{AccountID: a.ID, MailboxID: inbox.ID})
	if len(msgs) != 2 {
		t.Fatalf("INBOX has %d messages, want 2", len(msgs))
	}
}

// A write that waits for a row another node holds gives up after
// batchLockTimeout and runs alone, in its caller's goroutine: the node's
// other writes, alone or batched with it, commit without waiting for the
// other node.
func TestGroupCommitLockedRowRunsAlone(t *testing.T) {
	t.Parallel()
	s := openTest(t)
	ctx := context.Background()
	a, err := s.CreateAccount(ctx, "locked@example.org", "pw")
	if err != nil {
		t.Fatal(err)
	}
	held, err := s.CreateMailbox(ctx, a.ID, "Held", "")
	if err != nil {
		t.Fatal(err)
	}
	releaseHeld := lockMailbox(t, s, held.ID)
	var waiting []<-chan error
	for _, batched := range []bool{false, true} {
		var release func()
		if batched {
			release = blockWriter(t, s)
		}
		toHeld := deliverAsync(s, store.Target{AccountID: a.ID, MailboxID: held.ID}, 1)
		waiting = append(waiting, toHeld)
		if batched {
			waitQueued(t, s, 1)
		} else {
			// Ordering only (toHeld reaches the lock first); the
			// assertions below hold either way.
			time.Sleep(300 * time.Millisecond)
		}
		toInbox := deliverAsync(s, store.Target{AccountID: a.ID}, 2)
		if batched {
			waitQueued(t, s, 2)
			release()
		}
		select {
		case err := <-toInbox:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(30 * time.Second): // a hang guard: the lock is held until the end
			t.Fatalf("batched %v: a delivery waited for a row lock another node holds for another write", batched)
		}
		select {
		case err := <-toHeld:
			t.Fatalf("batched %v: delivery to the locked mailbox returned (%v) while the lock is held", batched, err)
		default:
		}
	}
	releaseHeld()
	for _, ch := range waiting {
		if err := <-ch; err != nil {
			t.Fatalf("delivery to the mailbox once unlocked: %v", err)
		}
	}
	if msgs := listAll(t, s, store.MailboxRef{AccountID: a.ID, MailboxID: held.ID}); len(msgs) != 2 {
		t.Fatalf("Held has %d messages, want 2", len(msgs))
	}
}

// Writes after Close fail with ErrClosed instead of waiting.
func TestWriteAfterClose(t *testing.T) {
	t.Parallel()
	s, err := Open(context.Background(), testDSN(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err = s.CreateAccount(context.Background(), "closed@example.org", "pw")
	if !errors.Is(err, ErrClosed) {
		t.Fatalf("write after Close: %v, want ErrClosed", err)
	}
}

func listAll(t *testing.T, s *Store, ref store.MailboxRef) []store.MessageMeta {
	t.Helper()
	var msgs []store.MessageMeta
	err := s.ListMessages(context.Background(), ref, nil, func(m store.MessageMeta) error {
		msgs = append(msgs, m)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return msgs
}

// roundTrips counts the round trips the store's connections make to the
// server: each query outside a batch and each batch is one.
type roundTrips struct{ n atomic.Int64 }

func (r *roundTrips) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	r.n.Add(1)
	return ctx
}

func (r *roundTrips) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (r *roundTrips) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	r.n.Add(1)
	return ctx
}

func (r *roundTrips) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}

func (r *roundTrips) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

// openCounting opens a node on dsn whose round trips rt counts (no text
// indexer: its queries would count too).
func openCounting(t *testing.T, dsn string) (*Store, *roundTrips) {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	rt := &roundTrips{}
	cfg.ConnConfig.Tracer = rt
	s, err := openConfig(context.Background(), cfg, testLogger(t), openOptions{noTextIndexer: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, rt
}

// A batch of n deliveries takes two round trips to the server: BEGIN
// and every delivery's savepoint and statement in one (pipeline.go), the
// notifications and COMMIT in the other.
// Every round trip on the writer's path wakes the server and the writer
// and holds up every write of the node meanwhile.
func TestGroupCommitRoundTrips(t *testing.T) {
	t.Parallel()
	s, rt := openCounting(t, testDSN(t))
	ctx := context.Background()
	a, err := s.CreateAccount(ctx, "trips@example.org", "pw")
	if err != nil {
		t.Fatal(err)
	}
	// Once alone, so that the statements are prepared (pgx's cache)
	// before counting.
	if err := <-deliverAsync(s, store.Target{AccountID: a.ID}, 0); err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{1, 5} {
		release := blockWriter(t, s)
		var results []<-chan error
		for i := range n {
			results = append(results, deliverAsync(s, store.Target{AccountID: a.ID}, i+1))
		}
		waitQueued(t, s, int64(n))
		before := rt.n.Load()
		release()
		for _, ch := range results {
			if err := <-ch; err != nil {
				t.Fatal(err)
			}
		}
		if got := rt.n.Load() - before; got > 2 {
			t.Errorf("a batch of %d deliveries took %d round trips, want at most 2", n, got)
		}
	}
}

// TestFlagWritesCommitAsync: a batch of flag writes (UpdateFlags) commits
// with synchronous_commit off unless SetSyncFlagChanges(true); other
// writes, and a batch that mixes the two, keep it on.
func TestFlagWritesCommitAsync(t *testing.T) {
	t.Parallel()
	// The test schemas commit asynchronously (pgtest.Schema); serve's
	// database does not.
	s := openDSN(t, strings.Replace(testDSN(t), "synchronous_commit=off", "synchronous_commit=on", 1))
	level := func(flags bool) <-chan string {
		ch := make(chan string, 1)
		go func() {
			var v string
			if err := s.send(context.Background(), flags, func(tx *wtx) error {
				return tx.queryRow("SHOW synchronous_commit").Scan(&v)
			}); err != nil {
				v = err.Error()
			}
			ch <- v
		}()
		return ch
	}
	if got := <-level(true); got != "off" {
		t.Errorf("flag write: synchronous_commit %q, want off", got)
	}
	if got := <-level(false); got != "on" {
		t.Errorf("write: synchronous_commit %q, want on", got)
	}
	release := blockWriter(t, s)
	flag, full := level(true), level(false)
	waitQueued(t, s, 2)
	release()
	if f, w := <-flag, <-full; f != "on" || w != "on" {
		t.Errorf("mixed batch: synchronous_commit %q and %q, want on for both", f, w)
	}
	s.SetSyncFlagChanges(true)
	if got := <-level(true); got != "on" {
		t.Errorf("flag write with SetSyncFlagChanges(true): synchronous_commit %q, want on", got)
	}
	s.SetSyncFlagChanges(false)
	// UpdateFlags is a flag write: its batch commits asynchronously.
	ctx := context.Background()
	a, err := s.CreateAccount(ctx, "flags@example.org", "pw")
	if err != nil {
		t.Fatal(err)
	}
	d, err := s.Deliver(ctx, []store.Target{{AccountID: a.ID}}, batchMsg(1))
	if err != nil {
		t.Fatal(err)
	}
	s.SetFlagWrite(func(ctx context.Context, fn func(sqlcore.Tx) error) error {
		return s.coreWriteFlags(ctx, func(tx sqlcore.Tx) error {
			var v string
			if err := tx.QueryRow("SHOW synchronous_commit").Scan(&v); err != nil || v != "off" {
				t.Errorf("UpdateFlags: synchronous_commit %q (%v), want off", v, err)
			}
			return fn(tx)
		})
	})
	if _, _, err := s.UpdateFlags(ctx, d[0].Ref(), []uint32{d[0].UID}, store.FlagsAdd, []string{store.FlagSeen}, 0); err != nil {
		t.Fatal(err)
	}
}

// A delivery whose statement wrote but whose outcome is refused after
// (the mailbox ran out of UIDs) in the middle of a pipelined batch leaves
// nothing behind, and the deliveries before and after it in the batch
// commit (pipeline.go runs them again alone).
func TestPipelineRefusedDeliveryUndone(t *testing.T) {
	t.Parallel()
	s := openTest(t)
	ctx := context.Background()
	a, err := s.CreateAccount(ctx, "refused@example.org", "pw")
	if err != nil {
		t.Fatal(err)
	}
	full, err := s.CreateMailbox(ctx, a.ID, "Full", "")
	if err != nil {
		t.Fatal(err)
	}
	const lastUID = 1<<32 - 1 // a UID whose UIDNEXT would not fit
	if _, err := s.pool.Exec(ctx, "UPDATE mailboxes SET uidnext = $1 WHERE id = $2", int64(lastUID), full.ID); err != nil {
		t.Fatal(err)
	}
	release := blockWriter(t, s)
	good1 := deliverAsync(s, store.Target{AccountID: a.ID}, 1)
	waitQueued(t, s, 1)
	refused := deliverAsync(s, store.Target{AccountID: a.ID, MailboxID: full.ID}, 2)
	waitQueued(t, s, 2)
	good2 := deliverAsync(s, store.Target{AccountID: a.ID}, 3)
	waitQueued(t, s, 3)
	release()
	for _, ch := range []<-chan error{good1, good2} {
		if err := <-ch; err != nil {
			t.Fatalf("delivery in the refused one's batch: %v", err)
		}
	}
	if err := <-refused; !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("delivery to a mailbox out of UIDs: %v, want ErrInvalid", err)
	}
	inbox, err := s.MailboxByName(ctx, a.ID, store.Inbox)
	if err != nil {
		t.Fatal(err)
	}
	if msgs := listAll(t, s, store.MailboxRef{AccountID: a.ID, MailboxID: inbox.ID}); len(msgs) != 2 {
		t.Fatalf("INBOX has %d messages, want 2", len(msgs))
	}
	if msgs := listAll(t, s, store.MailboxRef{AccountID: a.ID, MailboxID: full.ID}); len(msgs) != 0 {
		t.Fatalf("Full has %d messages, want 0", len(msgs))
	}
	var next int64
	if err := s.pool.QueryRow(ctx, "SELECT uidnext FROM mailboxes WHERE id = $1", full.ID).Scan(&next); err != nil || next != lastUID {
		t.Fatalf("Full's uidnext %d (%v), want %d unchanged", next, err, int64(lastUID))
	}
}
