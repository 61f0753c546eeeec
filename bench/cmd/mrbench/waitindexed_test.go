package main

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/mailroom/mailroom/message"
	"github.com/mailroom/mailroom/store"
	"github.com/mailroom/mailroom/store/sqlite"
)

// TestWaitIndexed: wait-indexed returns once text_pending is empty, and
// gives up with the count left at its deadline.
func TestWaitIndexed(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "pending.db")
	// WAL and a busy timeout, as the store has: in a rollback journal the
	// poll's read locks every 10 ms could keep the DELETE below from its
	// write lock (SQLITE_BUSY, seen under load).
	d, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for _, q := range []string{
		"CREATE TABLE text_pending (seq INTEGER PRIMARY KEY, blob_id INTEGER)",
		"INSERT INTO text_pending (blob_id) VALUES (1), (2)",
	} {
		if _, err := d.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	// The deadline must come after the first count: a wait that gives
	// up before it has counted (-1; CI: 200 ms was not enough on a
	// loaded machine, and 3 s is not sure to be) is tried again with a
	// longer one.
	for limit := time.Second; ; limit *= 2 {
		ctx, cancel := context.WithTimeout(context.Background(), limit)
		n, _, err := waitIndexed(ctx, path, 10*time.Millisecond)
		cancel()
		if n == -1 && errors.Is(err, context.DeadlineExceeded) && limit < 30*time.Second {
			t.Logf("no count within %v; again with a longer deadline", limit)
			continue
		}
		if n != 2 || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("with 2 pending: %d, %v; want 2 and the deadline", n, err)
		}
		break
	}
	// The rows go 200 ms after the call (from a time taken before it,
	// not in the goroutine: one that ran ahead of a caller delayed on a
	// loaded machine could empty the table less than 100 ms after
	// waitIndexed began); waited must cover at least 100 ms of that.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	called := make(chan time.Time, 1)
	emptied := make(chan error, 1)
	go func() {
		time.Sleep(time.Until((<-called).Add(200 * time.Millisecond)))
		_, err := d.Exec("DELETE FROM text_pending")
		emptied <- err
	}()
	called <- time.Now()
	n, waited, err := waitIndexed(ctx, path, 10*time.Millisecond)
	if err := <-emptied; err != nil {
		t.Fatal(err)
	}
	if n != 0 || err != nil || waited < 100*time.Millisecond {
		t.Fatalf("emptied 200 ms after the call: %d, %v after %v; want 0, nil, at least 100 ms", n, err, waited)
	}
}

// TestWaitIndexedStore: against a real store whose indexer runs, the
// wait ends (the table is the store's).
func TestWaitIndexedStore(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "mailroom.db")
	ctx := context.Background()
	st, err := sqlite.Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	acct, err := st.CreateAccount(ctx, "big@example.org", "x")
	if err != nil {
		t.Fatal(err)
	}
	raw := []byte("Subject: zebrafish\r\n\r\nzebrafish body\r\n")
	for range 3 {
		if _, err := st.Deliver(ctx, []store.Target{{AccountID: acct.ID}}, store.NewMessage{Raw: raw, Part: message.Parse(raw)}); err != nil {
			t.Fatal(err)
		}
	}
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if n, _, err := waitIndexed(wctx, path, 10*time.Millisecond); n != 0 || err != nil {
		t.Fatalf("store with its indexer running: %d pending, %v", n, err)
	}
}
