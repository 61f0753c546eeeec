package sqlite

import (
	"context"
	"errors"
	"sync"
	"testing"

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
