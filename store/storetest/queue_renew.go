package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/mailroom/mailroom/store"
)

func renew(t *testing.T, s store.Store, owner string, until time.Time, ids ...int64) []int64 {
	t.Helper()
	got, err := s.RenewQueueLeases(ctx(t), owner, ids, until)
	if err != nil {
		t.Fatalf("RenewQueueLeases(%s, %v): %v", owner, ids, err)
	}
	return got
}

func leaseUntil(t *testing.T, s store.Store, id int64) (string, time.Time) {
	t.Helper()
	it, err := s.QueueItem(ctx(t), id)
	if err != nil {
		t.Fatal(err)
	}
	return it.LeaseOwner, it.LeaseUntil
}

// Renewing moves the end of the holder's leases, so the items stay out
// of other owners' claims past the first lease's end.
func testQueueRenewExtends(t *testing.T, s store.Store) {
	a := mustEnqueue(t, s, "a@example.org", qt0, "b@remote.test")
	b := mustEnqueue(t, s, "a@example.org", qt0, "b@remote.test")
	c := mustEnqueue(t, s, "a@example.org", qt0, "b@remote.test") // not claimed
	if got := claim(t, s, "n1", qt0, 2); !sameIDs(got, a, b) {
		t.Fatalf("n1 claimed %v, want [%d %d]", got, a, b)
	}
	_, err := s.RenewQueueLeases(ctx(t), "", []int64{a}, qt0.Add(time.Hour))
	wantErr(t, "RenewQueueLeases without owner", err, store.ErrInvalid)
	if got := renew(t, s, "n1", qt0.Add(time.Hour)); len(got) != 0 {
		t.Fatalf("renewing nothing renewed %v", got)
	}
	// Out of order, with a duplicate and an item n1 does not hold.
	until := qt0.Add(3 * time.Minute)
	if got := renew(t, s, "n1", until, b, c, a, b); !sameIDs(got, a, b) {
		t.Fatalf("renewed %v, want [%d %d]", got, a, b)
	}
	for _, id := range []int64{a, b} {
		if owner, u := leaseUntil(t, s, id); owner != "n1" || !u.Equal(until) {
			t.Fatalf("item %d after renewal leased to %q until %v, want n1 until %v", id, owner, u, until)
		}
	}
	if owner, _ := leaseUntil(t, s, c); owner != "" {
		t.Fatalf("renewal leased the unclaimed item to %q", owner)
	}
	// Past the first lease's end, before the renewed one's.
	if got := claim(t, s, "n2", qt0.Add(2*time.Minute), 10); !sameIDs(got, c) {
		t.Fatalf("n2 claimed %v past the first lease, want only [%d]", got, c)
	}
	if got := claim(t, s, "n2", until, 10); !sameIDs(got, a, b, c) {
		t.Fatalf("n2 claimed %v when the renewed lease ended, want [%d %d %d]", got, a, b, c)
	}
}

// Only the holder renews: another owner's renewal changes nothing, and
// neither does renewing a released or deleted item.
func testQueueRenewNotHolder(t *testing.T, s store.Store) {
	a := mustEnqueue(t, s, "a@example.org", qt0, "b@remote.test")
	b := mustEnqueue(t, s, "a@example.org", qt0, "b@remote.test")
	d := mustEnqueue(t, s, "a@example.org", qt0, "b@remote.test")
	claim(t, s, "n1", qt0, 10)
	if got := renew(t, s, "n2", qt0.Add(time.Hour), a, b, d); len(got) != 0 {
		t.Fatalf("a non-holder renewed %v", got)
	}
	if owner, u := leaseUntil(t, s, a); owner != "n1" || !u.Equal(qt0.Add(time.Minute)) {
		t.Fatalf("after a non-holder's renewal: leased to %q until %v", owner, u)
	}
	if err := s.ReleaseQueueItem(ctx(t), b, "n1"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteQueueItem(ctx(t), d); err != nil {
		t.Fatal(err)
	}
	if got := renew(t, s, "n1", qt0.Add(time.Hour), a, b, d, d+100); !sameIDs(got, a) {
		t.Fatalf("renewed %v, want [%d] (%d released, %d deleted, %d unknown)", got, a, b, d, d+100)
	}
	if owner, u := leaseUntil(t, s, b); owner != "" || !u.IsZero() {
		t.Fatalf("renewal took the released item back: leased to %q until %v", owner, u)
	}
}

// An owner whose lease ended and was taken over has lost the item: its
// renewal leaves the new holder's lease alone. A lease that ended with
// nobody taking it over is still the owner's.
func testQueueRenewTakenOver(t *testing.T, s store.Store) {
	a := mustEnqueue(t, s, "a@example.org", qt0, "b@remote.test")
	b := mustEnqueue(t, s, "a@example.org", qt0, "b@remote.test")
	claim(t, s, "slow", qt0, 10)
	later := qt0.Add(time.Minute)
	if got := claim(t, s, "n2", later, 1); !sameIDs(got, a) {
		t.Fatalf("n2 took over %v, want [%d]", got, a)
	}
	until := later.Add(time.Hour)
	if got := renew(t, s, "slow", until, a, b); !sameIDs(got, b) {
		t.Fatalf("the old owner renewed %v, want only [%d] (it lost %d)", got, b, a)
	}
	if owner, u := leaseUntil(t, s, a); owner != "n2" || !u.Equal(later.Add(time.Minute)) {
		t.Fatalf("the taken-over item is leased to %q until %v, want n2 until %v", owner, u, later.Add(time.Minute))
	}
	if owner, u := leaseUntil(t, s, b); owner != "slow" || !u.Equal(until) {
		t.Fatalf("the expired, not taken over item is leased to %q until %v", owner, u)
	}
	if got := claim(t, s, "n3", later, 10); len(got) != 0 {
		t.Fatalf("n3 claimed %v after the renewal", got)
	}
}

// Renewals racing claims for expired leases: every item ends with exactly
// one holder, and a renewal reports an item renewed only if its owner
// still holds it afterwards (no claim overtook it unnoticed).
func testQueueRenewConcurrentClaim(t *testing.T, s store.Store) {
	const items = 16
	var ids []int64
	for range items {
		ids = append(ids, mustEnqueue(t, s, "a@example.org", qt0, "b@remote.test"))
	}
	claim(t, s, "old", qt0, items)
	later := qt0.Add(time.Minute) // old's leases have ended
	far := later.Add(time.Hour)
	var wg sync.WaitGroup
	var renewed []int64
	var claimed []store.QueueItem
	var renewErr, claimErr error
	wg.Add(2)
	go func() {
		defer wg.Done()
		renewed, renewErr = s.RenewQueueLeases(ctx(t), "old", ids, far)
	}()
	go func() {
		defer wg.Done()
		claimed, claimErr = s.ClaimQueue(ctx(t), "new", later, time.Minute, items/2)
	}()
	wg.Wait()
	if renewErr != nil || claimErr != nil {
		t.Fatalf("renew: %v, claim: %v", renewErr, claimErr)
	}
	isRenewed := map[int64]bool{}
	for _, id := range renewed {
		isRenewed[id] = true
	}
	for _, it := range claimed {
		if isRenewed[it.ID] {
			// The claim came first and the renewal must have failed, or
			// the renewal came first and the claim must have skipped it.
			t.Fatalf("item %d both renewed for old and claimed by new", it.ID)
		}
	}
	if len(renewed)+len(claimed) != items {
		t.Fatalf("%d renewed + %d claimed, want %d in all", len(renewed), len(claimed), items)
	}
	for _, id := range ids {
		owner, _ := leaseUntil(t, s, id)
		want := "new"
		if isRenewed[id] {
			want = "old"
		}
		if owner != want {
			t.Fatalf("item %d leased to %q, want %q", id, owner, want)
		}
	}
}
