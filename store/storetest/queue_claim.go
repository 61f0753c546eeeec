package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/mailroom/mailroom/store"
)

var queueClaimTests = []test{
	{"Queue/ClaimExcludes", testQueueClaimExcludes},
	{"Queue/ClaimExpired", testQueueClaimExpired},
	{"Queue/ClaimRelease", testQueueClaimRelease},
	{"Queue/ClaimFinished", testQueueClaimFinished},
	{"Queue/ClaimConcurrent", testQueueClaimConcurrent},
	{"Queue/RenewExtends", testQueueRenewExtends},
	{"Queue/RenewNotHolder", testQueueRenewNotHolder},
	{"Queue/RenewTakenOver", testQueueRenewTakenOver},
	{"Queue/RenewConcurrentClaim", testQueueRenewConcurrentClaim},
}

func claim(t *testing.T, s store.Store, owner string, now time.Time, limit int) []int64 {
	t.Helper()
	items, err := s.ClaimQueue(ctx(t), owner, now, time.Minute, limit)
	if err != nil {
		t.Fatalf("ClaimQueue(%s): %v", owner, err)
	}
	ids := make([]int64, len(items))
	for i, it := range items {
		if it.LeaseOwner != owner || !it.LeaseUntil.Equal(now.Add(time.Minute)) {
			t.Fatalf("ClaimQueue(%s) returned item %d leased to %q until %v", owner, it.ID, it.LeaseOwner, it.LeaseUntil)
		}
		ids[i] = it.ID
	}
	return ids
}

func sameIDs(a []int64, b ...int64) bool {
	return fmt.Sprint(a) == fmt.Sprint(b)
}

func leaseOf(t *testing.T, s store.Store, id int64) string {
	t.Helper()
	it, err := s.QueueItem(ctx(t), id)
	if err != nil {
		t.Fatal(err)
	}
	return it.LeaseOwner
}

// A claimed item is nobody else's until its lease ends; its holder may
// claim it again.
func testQueueClaimExcludes(t *testing.T, s store.Store) {
	a := mustEnqueue(t, s, "a@example.org", qt0, "b@remote.test")
	b := mustEnqueue(t, s, "a@example.org", qt0, "b@remote.test", "c@remote.test")
	mustEnqueue(t, s, "a@example.org", qt0.Add(time.Hour), "b@remote.test") // not due
	_, err := s.ClaimQueue(ctx(t), "", qt0, time.Minute, 10)
	wantErr(t, "ClaimQueue without owner", err, store.ErrInvalid)
	_, err = s.ClaimQueue(ctx(t), "n1", qt0, 0, 10)
	wantErr(t, "ClaimQueue without lease", err, store.ErrInvalid)

	if got := claim(t, s, "n1", qt0, 1); !sameIDs(got, a) {
		t.Fatalf("n1 claimed %v with limit 1, want [%d]", got, a)
	}
	if got := claim(t, s, "n2", qt0, 10); !sameIDs(got, b) {
		t.Fatalf("n2 claimed %v, want [%d] (a is n1's)", got, b)
	}
	if got := claim(t, s, "n3", qt0.Add(30*time.Second), 10); len(got) != 0 {
		t.Fatalf("n3 claimed %v while both are leased", got)
	}
	if got := claim(t, s, "n1", qt0.Add(30*time.Second), 10); !sameIDs(got, a) {
		t.Fatalf("n1 re-claimed %v, want its own [%d]", got, a)
	}
	it, err := s.QueueItem(ctx(t), b)
	if err != nil || it.LeaseOwner != "n2" || !it.LeaseUntil.Equal(qt0.Add(time.Minute)) || len(it.Recipients) != 2 {
		t.Fatalf("QueueItem of a claimed item %+v, %v", it, err)
	}
	if it.LeasedAt(qt0) != "n2" || it.LeasedAt(qt0.Add(time.Minute)) != "" {
		t.Fatalf("LeasedAt: %q at t0, %q at the end", it.LeasedAt(qt0), it.LeasedAt(qt0.Add(time.Minute)))
	}
	items, err := s.QueueItems(ctx(t))
	if err != nil || len(items) != 3 || items[0].LeaseOwner != "n1" || items[1].LeaseOwner != "n2" || items[2].LeaseOwner != "" {
		t.Fatalf("QueueItems leases %+v, %v", items, err)
	}
}

// An owner that stopped renewing (crashed) loses its items when the lease
// ends.
func testQueueClaimExpired(t *testing.T, s store.Store) {
	a := mustEnqueue(t, s, "a@example.org", qt0, "b@remote.test")
	claim(t, s, "dead", qt0, 10)
	if got := claim(t, s, "n2", qt0.Add(time.Minute-time.Nanosecond), 10); len(got) != 0 {
		t.Fatalf("claimed %v before the lease ended", got)
	}
	if got := claim(t, s, "n2", qt0.Add(time.Minute), 10); !sameIDs(got, a) {
		t.Fatalf("claimed %v when the lease ended, want [%d]", got, a)
	}
	if got := claim(t, s, "dead", qt0.Add(time.Minute), 10); len(got) != 0 {
		t.Fatalf("the old owner got %v back", got)
	}
}

// Releasing makes an item claimable again as soon as it is due; only the
// holder's release counts.
func testQueueClaimRelease(t *testing.T, s store.Store) {
	a := mustEnqueue(t, s, "a@example.org", qt0, "b@remote.test")
	b := mustEnqueue(t, s, "a@example.org", qt0, "b@remote.test")
	claim(t, s, "n1", qt0, 10)
	if err := s.ReleaseQueueItem(ctx(t), a, "n2"); err != nil {
		t.Fatal(err)
	}
	if leaseOf(t, s, a) != "n1" {
		t.Fatal("a release by a non-holder ended the lease")
	}
	// An attempt deferred a: its update does not release it.
	later := qt0.Add(time.Hour)
	if err := s.UpdateQueueRecipients(ctx(t), a, []store.QueueRecipient{{Addr: "b@remote.test", Status: store.RcptPending, Attempts: 1, NextAttempt: later}}); err != nil {
		t.Fatal(err)
	}
	if leaseOf(t, s, a) != "n1" {
		t.Fatal("UpdateQueueRecipients released the item")
	}
	for _, id := range []int64{a, b} {
		if err := s.ReleaseQueueItem(ctx(t), id, "n1"); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.ReleaseQueueItem(ctx(t), b+100, "n1"); err != nil {
		t.Fatalf("ReleaseQueueItem of an unknown id: %v", err)
	}
	it, _ := s.QueueItem(ctx(t), a)
	if it.LeaseOwner != "" || !it.LeaseUntil.IsZero() {
		t.Fatalf("released item still leased: %+v", it)
	}
	if got := claim(t, s, "n2", qt0.Add(time.Second), 10); !sameIDs(got, b) {
		t.Fatalf("after release n2 claimed %v, want [%d] (a is not due)", got, b)
	}
	if got := claim(t, s, "n3", later, 10); !sameIDs(got, a, b) {
		t.Fatalf("when a is due (and n2's lease on b over) n3 claimed %v, want [%d %d]", got, a, b)
	}
}

// An item whose recipients are all final is claimable too: its DSN and
// removal are still to do, and only one node may do them.
func testQueueClaimFinished(t *testing.T, s store.Store) {
	a := mustEnqueue(t, s, "a@example.org", qt0, "b@remote.test")
	b := mustEnqueue(t, s, "a@example.org", qt0, "b@remote.test")
	if err := s.UpdateQueueRecipients(ctx(t), a, []store.QueueRecipient{{Addr: "b@remote.test", Status: store.RcptFailed, Attempts: 1, NextAttempt: qt0.Add(time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	if err := s.UpdateQueueRecipients(ctx(t), b, []store.QueueRecipient{{Addr: "b@remote.test", Status: store.RcptPending, Attempts: 1, NextAttempt: qt0.Add(time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	if got := claim(t, s, "n1", qt0, 10); !sameIDs(got, a) {
		t.Fatalf("claimed %v, want the finished [%d]", got, a)
	}
	if got := claim(t, s, "n2", qt0, 10); len(got) != 0 {
		t.Fatalf("a second owner claimed %v", got)
	}
}

// Owners claiming at the same moment never get the same item.
func testQueueClaimConcurrent(t *testing.T, s store.Store) {
	const owners, rounds, perRound = 8, 3, 24
	for round := range rounds {
		now := qt0.Add(time.Duration(round) * time.Hour) // earlier leases have ended
		want := map[int64]bool{}
		for range perRound {
			want[mustEnqueue(t, s, "a@example.org", now, "b@remote.test")] = true
		}
		var mu sync.Mutex
		got := map[int64]string{}
		var wg sync.WaitGroup
		errs := make(chan error, owners)
		for o := range owners {
			owner := fmt.Sprintf("r%d-n%d", round, o)
			wg.Add(1)
			go func() {
				defer wg.Done()
				// An owner gets its own items back too (they come first),
				// so it asks for 2 more than it holds, like a queue runner.
				held := 0
				for {
					items, err := s.ClaimQueue(ctx(t), owner, now, time.Minute, held+2)
					if err != nil {
						errs <- err
						return
					}
					fresh := 0
					mu.Lock()
					for _, it := range items {
						prev, dup := got[it.ID]
						switch {
						case dup && prev != owner:
							errs <- fmt.Errorf("item %d claimed by %s and %s", it.ID, prev, owner)
						case !dup:
							got[it.ID] = owner
							fresh++
						}
					}
					mu.Unlock()
					if fresh == 0 {
						return
					}
					held += fresh
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("round %d: %d items claimed, want %d", round, len(got), len(want))
		}
		for id := range got {
			if !want[id] {
				t.Fatalf("round %d: claimed item %d of an earlier round", round, id)
			}
		}
		for id := range want {
			if err := s.DeleteQueueItem(ctx(t), id); err != nil {
				t.Fatal(err)
			}
		}
	}
}
