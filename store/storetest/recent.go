package storetest

import (
	"errors"
	"sync"
	"testing"

	"github.com/mailroom/mailroom/store"
)

// testRecent: ClaimRecent hands each new message out once; RecentCount
// counts without taking; both are scoped by the mailbox ref.
func testRecent(t *testing.T, s store.Store) {
	a := mustAccount(t, s, "alice@example.org")
	inbox := mustMailbox(t, s, a.ID, "INBOX")
	if f, n, err := s.ClaimRecent(ctx(t), inbox.Ref()); err != nil || f != n {
		t.Fatalf("empty mailbox: ClaimRecent [%d,%d) %v", f, n, err)
	}
	uids := mustAppend(t, s, inbox.Ref(), testMessage("1"), testMessage("2"), testMessage("3"))
	if _, c, err := s.RecentCount(ctx(t), inbox.Ref()); err != nil || c != 3 {
		t.Fatalf("RecentCount %d %v, want 3", c, err)
	}
	// An expunged recent message is no longer counted.
	if _, _, err := s.Expunge(ctx(t), inbox.Ref(), uids[1:2], false); err != nil {
		t.Fatal(err)
	}
	if first, c, err := s.RecentCount(ctx(t), inbox.Ref()); err != nil || c != 2 || first > uids[0] {
		t.Fatalf("RecentCount after expunge: first %d count %d %v", first, c, err)
	}
	f, n, err := s.ClaimRecent(ctx(t), inbox.Ref())
	if err != nil || f > uids[0] || n != uids[2]+1 {
		t.Fatalf("ClaimRecent [%d,%d) %v, want to cover %v", f, n, err, uids)
	}
	if f2, n2, err := s.ClaimRecent(ctx(t), inbox.Ref()); err != nil || f2 != n2 || n2 != n {
		t.Fatalf("second ClaimRecent [%d,%d) %v, want empty at %d", f2, n2, err, n)
	}
	if _, c, err := s.RecentCount(ctx(t), inbox.Ref()); err != nil || c != 0 {
		t.Fatalf("RecentCount after claim %d %v", c, err)
	}
	more := mustAppend(t, s, inbox.Ref(), testMessage("4"))
	if f, n, err := s.ClaimRecent(ctx(t), inbox.Ref()); err != nil || f != more[0] || n != more[0]+1 {
		t.Fatalf("ClaimRecent of the new one [%d,%d) %v, want [%d,%d)", f, n, err, more[0], more[0]+1)
	}
	// Another account's ref, or a stale UIDVALIDITY: ErrNotFound.
	b := mustAccount(t, s, "bob@example.org")
	bad := inbox.Ref()
	bad.AccountID = b.ID
	if _, _, err := s.ClaimRecent(ctx(t), bad); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("other account: %v", err)
	}
	bad = inbox.Ref()
	bad.UIDValidity++
	if _, _, err := s.RecentCount(ctx(t), bad); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("stale UIDVALIDITY: %v", err)
	}
}

// testRecentConcurrent: claims racing for the same messages get each UID
// exactly once between them.
func testRecentConcurrent(t *testing.T, s store.Store) {
	a := mustAccount(t, s, "alice@example.org")
	inbox := mustMailbox(t, s, a.ID, "INBOX")
	var mu sync.Mutex
	got := map[uint32]int{}
	var wg sync.WaitGroup
	var all []uint32
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 10 {
				f, n, err := s.ClaimRecent(ctx(t), inbox.Ref())
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				for u := f; u < n; u++ {
					got[u]++
				}
				mu.Unlock()
			}
		}()
	}
	for i := range 10 {
		all = append(all, mustAppend(t, s, inbox.Ref(), testMessage("m"+string(rune('a'+i))))...)
	}
	wg.Wait()
	f, n, err := s.ClaimRecent(ctx(t), inbox.Ref())
	if err != nil {
		t.Fatal(err)
	}
	for u := f; u < n; u++ {
		got[u]++
	}
	for _, u := range all {
		if got[u] != 1 {
			t.Errorf("UID %d claimed %d times", u, got[u])
		}
	}
}
