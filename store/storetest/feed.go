package storetest

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/mailroom/mailroom/store"
)

var feedTests = []test{
	{"Watch/Deliver", testWatchDeliver},
	{"Watch/MailboxList", testWatchMailboxList},
	{"Watch/Metadata", testWatchMetadata},
	{"ConcurrentDeliver", testConcurrentDeliver},
}

// waitChange waits for a notification matching ok, skipping others (the
// feed may coalesce or carry MailboxID 0 for "anything"), up to 30 s (a
// hang guard: PostgreSQL's LISTEN on a loaded -race machine can be late
// by seconds).
func waitChange(t *testing.T, ch <-chan store.Change, ok func(store.Change) bool) {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case c, open := <-ch:
			if !open {
				t.Fatal("watch channel closed")
			}
			if ok(c) {
				return
			}
		case <-timeout:
			t.Fatal("no change notification within 30 s")
		}
	}
}

func testWatchDeliver(t *testing.T, s store.Store) {
	a := mustAccount(t, s, "alice@example.org")
	inbox := mustMailbox(t, s, a.ID, "INBOX")
	ch, cancel := s.Watch(a.ID)
	defer cancel()
	if _, err := s.Deliver(ctx(t), []store.Target{{AccountID: a.ID}}, testMessage("watch")); err != nil {
		t.Fatal(err)
	}
	waitChange(t, ch, func(c store.Change) bool {
		if c.AccountID != a.ID {
			t.Fatalf("change for account %d on a watch of %d", c.AccountID, a.ID)
		}
		return c.MailboxID == inbox.ID || c.MailboxID == 0
	})
	// The change is visible once notified.
	if u := uidsOf(t, s, inbox.Ref()); len(u) != 1 {
		t.Fatalf("after notification INBOX has %v", u)
	}
	if _, _, err := s.UpdateFlags(ctx(t), inbox.Ref(), []uint32{1}, store.FlagsAdd, []string{store.FlagSeen}, 0); err != nil {
		t.Fatal(err)
	}
	waitChange(t, ch, func(c store.Change) bool { return c.MailboxID == inbox.ID || c.MailboxID == 0 })
	cancel()
	cancel() // idempotent
}

func testWatchMailboxList(t *testing.T, s store.Store) {
	a := mustAccount(t, s, "alice@example.org")
	ch, cancel := s.Watch(a.ID)
	defer cancel()
	mustCreate(t, s, a.ID, "New")
	waitChange(t, ch, func(c store.Change) bool { return c.AccountID == a.ID && c.MailboxID == 0 })
}

// testWatchMetadata: SetMetadata announces the entry names it set or
// removed, of the mailbox or (0) of the server, as a metadata change.
func testWatchMetadata(t *testing.T, s store.Store) {
	a := mustAccount(t, s, "alice@example.org")
	inbox := mustMailbox(t, s, a.ID, "INBOX")
	wf, ok := s.(interface {
		WatchFunc(int64, func(store.Change)) func()
	})
	if !ok {
		t.Fatal("the store has no WatchFunc")
	}
	var mu sync.Mutex
	var got []store.Change
	cancel := wf.WatchFunc(a.ID, func(c store.Change) {
		mu.Lock()
		got = append(got, c)
		mu.Unlock()
	})
	defer cancel()
	setMeta(t, s, a.ID, inbox.ID, "/private/comment", "x", "/shared/comment", "<nil>")
	setMeta(t, s, a.ID, 0, "/private/vendor/a", "1")
	mu.Lock()
	defer mu.Unlock()
	want := []string{fmt.Sprint(inbox.ID, " [/private/comment /shared/comment]"), "0 [/private/vendor/a]"}
	var have []string
	for _, c := range got {
		if c.Metadata != nil {
			have = append(have, fmt.Sprint(c.MailboxID, " ", c.Metadata))
		}
	}
	if !slices.Equal(have, want) {
		t.Fatalf("metadata changes %q, want %q (all: %v)", have, want, got)
	}
}

func testConcurrentDeliver(t *testing.T, s store.Store) {
	const workers, each = 8, 25
	a := mustAccount(t, s, "alice@example.org")
	b := mustAccount(t, s, "bob@example.org")
	inboxA := mustMailbox(t, s, a.ID, "INBOX")
	inboxB := mustMailbox(t, s, b.ID, "INBOX")
	var (
		mu  sync.Mutex
		got = map[int64][]uint32{}
		wg  sync.WaitGroup
	)
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				targets := []store.Target{{AccountID: a.ID}}
				if i%2 == 0 {
					targets = append(targets, store.Target{AccountID: b.ID})
				}
				d, err := s.Deliver(ctx(t), targets, testMessage(fmt.Sprintf("w%d-%d", w, i)))
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				for _, dd := range d {
					got[dd.MailboxID] = append(got[dd.MailboxID], dd.UID)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent Deliver: %v", err)
	}
	check := func(mb store.Mailbox, n int) {
		t.Helper()
		uids := uidsOf(t, s, mb.Ref())
		if len(uids) != n {
			t.Fatalf("%d messages stored, want %d", len(uids), n)
		}
		if err := ascendingUnique(uids); err != nil {
			t.Fatal(err)
		}
		reported := slices.Clone(got[mb.ID])
		slices.Sort(reported)
		if !slices.Equal(reported, uids) {
			t.Fatalf("Deliver reported UIDs %v, stored %v", reported, uids)
		}
		ms := metas(t, s, mb.Ref(), nil)
		seen := map[uint64]bool{}
		for _, m := range ms {
			if seen[m.ModSeq] {
				t.Fatalf("modseq %d used twice", m.ModSeq)
			}
			seen[m.ModSeq] = true
		}
		if st := status(t, s, mb.Ref()); st.UIDNext <= uids[len(uids)-1] {
			t.Fatalf("UIDNEXT %d not above the last UID %d", st.UIDNext, uids[len(uids)-1])
		}
	}
	check(inboxA, workers*each)
	check(inboxB, workers*((each+1)/2))
}
