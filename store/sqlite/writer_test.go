package sqlite

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailroom/mailroom/store"
	"github.com/mailroom/mailroom/store/storetest"
)

// TestBatchIsolation runs failing and succeeding writes at the same time, so
// that they share group-commit batches: a failure must undo only its own
// write.
func TestBatchIsolation(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	a, err := s.CreateAccount(ctx, "a@example.org", "h")
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.CreateAccount(ctx, "b@example.org", "h")
	if err != nil {
		t.Fatal(err)
	}
	junkB, _ := s.MailboxByName(ctx, b.ID, "Junk")
	const n = 60
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			targets := []store.Target{{AccountID: a.ID}}
			if i%3 == 0 {
				// Writes a's INBOX first, then fails on b's Junk.
				targets = append(targets, store.Target{AccountID: a.ID, MailboxID: junkB.ID})
			}
			_, errs[i] = s.Deliver(ctx, targets, newMsg("x"))
		}()
	}
	wg.Wait()
	ok := 0
	for i, err := range errs {
		switch {
		case i%3 == 0 && !errors.Is(err, store.ErrNotFound):
			t.Fatalf("delivery %d: err %v, want ErrNotFound", i, err)
		case i%3 != 0 && err != nil:
			t.Fatalf("delivery %d: %v", i, err)
		case err == nil:
			ok++
		}
	}
	inbox, _ := s.MailboxByName(ctx, a.ID, "INBOX")
	uids, err := storetest.UIDs(ctx, s, inbox.Ref())
	if err != nil {
		t.Fatal(err)
	}
	if len(uids) != ok {
		t.Fatalf("%d messages stored, %d deliveries succeeded", len(uids), ok)
	}
	st, _ := s.MailboxStatus(ctx, inbox.Ref())
	if int(st.UIDNext) != ok+1 {
		t.Fatalf("UIDNEXT %d: failed deliveries consumed UIDs (want %d)", st.UIDNext, ok+1)
	}
	var blobs int
	if err := s.rdb.QueryRow("SELECT count(*) FROM blobs").Scan(&blobs); err != nil || blobs != ok {
		t.Fatalf("%d blobs for %d messages (%v)", blobs, ok, err)
	}
}

// TestCancelledContext checks that a write whose context is already done is
// not applied.
func TestCancelledContext(t *testing.T) {
	s := openTest(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.CreateAccount(ctx, "a@example.org", "h"); !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
	if _, err := s.AccountByEmail(context.Background(), "a@example.org"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("account created despite cancelled context: %v", err)
	}
}

// TestFullDatabaseEndsBatch: a job that fills the database (SQLITE_FULL)
// makes SQLite roll the whole batch's transaction back. A job after it in
// the same batch must then not run: its SAVEPOINT would begin a
// transaction of its own and its RELEASE commit it, while the batch is
// reported failed, so a write the caller was told failed was stored (a
// delivery the sender retries, a duplicate). Every write reported failed
// is absent, every one reported done is there, and once space is back
// writes succeed.
func TestFullDatabaseEndsBatch(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second) // a hang guard
	defer cancel()
	s := openTest(t)
	deliverOne(t, s)
	pages, err := s.PageCount(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetMaxPageCount(ctx, pages+5); err != nil {
		t.Fatal(err)
	}
	big := strings.Repeat("x", 200000) // well beyond 5 pages
	insert := func(key, value string) func(*wtx) error {
		return func(tx *wtx) error {
			_, err := tx.exec("INSERT INTO settings(key, value) VALUES ($1, $2)", key, value)
			return err
		}
	}
	stored := func(key string) bool {
		var n int
		if err := s.rdb.QueryRowContext(ctx, "SELECT count(*) FROM settings WHERE key = $1", key).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n == 1
	}
	shared := 0
	for round := 0; round < 5; round++ {
		// Hold the writer, queue the big write then the small one (the
		// writer takes waiting senders in order), and let it go: one batch.
		gate, running := make(chan struct{}), make(chan struct{})
		held := make(chan error, 1)
		go func() {
			held <- s.write(ctx, func(*wtx) error { close(running); <-gate; return nil })
		}()
		<-running
		key := fmt.Sprintf("small%d", round)
		bigErr, smallErr := make(chan error, 1), make(chan error, 1)
		started := make(chan struct{})
		go func() { close(started); bigErr <- s.write(ctx, insert(key+"big", big)) }()
		<-started
		runtime.Gosched()
		started = make(chan struct{})
		go func() { close(started); smallErr <- s.write(ctx, insert(key, "1")) }()
		<-started
		runtime.Gosched()
		close(gate)
		if err := <-held; err != nil {
			t.Fatal(err)
		}
		if err := <-bigErr; !errors.Is(err, store.ErrNoSpace) {
			t.Fatalf("round %d: big write: %v, want store.ErrNoSpace", round, err)
		}
		serr := <-smallErr
		if got := stored(key); got != (serr == nil) {
			t.Fatalf("round %d: small write reported %v, stored %v", round, serr, got)
		}
		if stored(key + "big") {
			t.Fatalf("round %d: the big write that failed is stored", round)
		}
		if serr != nil {
			shared++ // it shared the batch of the write that filled the database
		}
	}
	if shared == 0 {
		t.Log("the small write never shared the full batch")
	}
	if err := s.SetMaxPageCount(ctx, 1<<30); err != nil {
		t.Fatal(err)
	}
	if err := s.write(ctx, insert("after", big)); err != nil {
		t.Fatalf("write once space is back: %v", err)
	}
	if !stored("after") {
		t.Fatal("the write after space came back is not stored")
	}
}

// TestWriterLeavesStuckTransaction: if the writer's connection is left
// inside a transaction (a failed COMMIT whose ROLLBACK failed too), the
// batch that cannot begin ends it, so writes fail once, not until a
// restart.
func TestWriterLeavesStuckTransaction(t *testing.T) {
	t.Parallel()
	s := openTest(t)
	ctx := context.Background()
	// The writer is idle: only its batches and its data_version poll
	// (a read) use the connection.
	if err := s.w.exec("BEGIN"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateAccount(ctx, "a@example.org", "h"); err == nil {
		t.Fatal("a write inside the stuck transaction succeeded")
	}
	if _, err := s.CreateAccount(ctx, "b@example.org", "h"); err != nil {
		t.Fatalf("the write after: %v", err)
	}
	if _, err := s.AccountByEmail(ctx, "b@example.org"); err != nil {
		t.Fatalf("the write after is not visible: %v", err)
	}
	if _, err := s.AccountByEmail(ctx, "a@example.org"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the failed write: %v, want not found", err)
	}
}
