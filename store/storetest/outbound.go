package storetest

import (
	"sync"
	"testing"

	"github.com/mailroom/mailroom/store"
)

var outboundTests = []test{
	{"OutboundCounters", testOutboundCounters},
	{"OutboundConcurrent", testOutboundConcurrent},
	{"OutboundFailed", testOutboundFailed},
}

// Failed recipients add up per account and day, on a day without a row
// as on one with counts, and leave the other counters alone.
func testOutboundFailed(t *testing.T, s store.Store) {
	a := mustAccount(t, s, "fail@example.org")
	b := mustAccount(t, s, "other@example.org")
	const day, hour = 20000, 20000 * 24
	if err := s.AddOutboundFailed(ctx(t), a.ID, day, 2); err != nil {
		t.Fatal(err)
	}
	if c, err := s.OutboundCounters(ctx(t), a.ID, day); err != nil || c.DayFailed != 2 || c.DayRecipients != 0 || c.Notified {
		t.Fatalf("after a failure on a new day: %+v, %v", c, err)
	}
	if err := s.AddOutbound(ctx(t), a.ID, day, hour, 5, bitmapOf("x@r.example")); err != nil {
		t.Fatal(err)
	}
	if err := s.AddOutboundFailed(ctx(t), a.ID, day, 3); err != nil {
		t.Fatal(err)
	}
	c, err := s.OutboundCounters(ctx(t), a.ID, day)
	if err != nil || c.DayFailed != 5 || c.DayRecipients != 5 || c.DayMessages != 1 || string(c.External) != string(bitmapOf("x@r.example")) {
		t.Fatalf("after send and failure: %+v, %v", c, err)
	}
	for _, other := range []struct{ acct, day int64 }{{b.ID, day}, {a.ID, day + 1}} {
		if c, err := s.OutboundCounters(ctx(t), other.acct, other.day); err != nil || c.DayFailed != 0 {
			t.Fatalf("account %d day %d: %+v, %v", other.acct, other.day, c, err)
		}
	}
}

func bitmapOf(addrs ...string) []byte {
	b := make([]byte, store.OutboundBitmapBytes)
	for _, a := range addrs {
		i, bit := store.OutboundBit(a)
		b[i] |= bit
	}
	return b
}

// Counters add up per account and day; the hour counter restarts with a
// new hour; the bitmap is the OR of what was added; Notified is set
// exactly once; another account and another day are untouched.
func testOutboundCounters(t *testing.T, s store.Store) {
	a := mustAccount(t, s, "a@example.org")
	b := mustAccount(t, s, "b@example.org")
	const day, hour = 20000, 20000 * 24
	if c, err := s.OutboundCounters(ctx(t), a.ID, day); err != nil || c.DayMessages != 0 || c.External != nil || c.Notified {
		t.Fatalf("empty counters %+v, %v", c, err)
	}
	steps := []struct {
		hour, rcpts int64
		ext         []string
	}{{hour, 3, []string{"x@r.example"}}, {hour, 2, []string{"y@r.example", "x@r.example"}}, {hour + 1, 1, nil}}
	for _, st := range steps {
		if err := s.AddOutbound(ctx(t), a.ID, day, st.hour, st.rcpts, bitmapOf(st.ext...)); err != nil {
			t.Fatal(err)
		}
	}
	c, err := s.OutboundCounters(ctx(t), a.ID, day)
	if err != nil {
		t.Fatal(err)
	}
	want := bitmapOf("x@r.example", "y@r.example")
	if c.Hour != hour+1 || c.HourMessages != 1 || c.DayMessages != 3 || c.DayRecipients != 6 || string(c.External) != string(want) || c.Notified {
		t.Fatalf("counters %+v", c)
	}
	if n := store.OutboundDistinct(c.External); n < 1.9 || n > 2.1 {
		t.Fatalf("distinct estimate %v, want 2", n)
	}
	for _, other := range []struct{ acct, day int64 }{{b.ID, day}, {a.ID, day + 1}} {
		if c, err := s.OutboundCounters(ctx(t), other.acct, other.day); err != nil || c.DayMessages != 0 {
			t.Fatalf("account %d day %d: %+v, %v", other.acct, other.day, c, err)
		}
	}
	for i, want := range []bool{true, false} {
		if set, err := s.MarkOutboundNotified(ctx(t), a.ID, day); err != nil || set != want {
			t.Fatalf("MarkOutboundNotified #%d = %v, %v; want %v", i+1, set, err, want)
		}
	}
	// Notifying first, counting later (another account) works too.
	if set, err := s.MarkOutboundNotified(ctx(t), b.ID, day); err != nil || !set {
		t.Fatalf("MarkOutboundNotified(b) = %v, %v", set, err)
	}
	if err := s.AddOutbound(ctx(t), b.ID, day, hour, 1, bitmapOf("z@r.example")); err != nil {
		t.Fatal(err)
	}
	if c, err := s.OutboundCounters(ctx(t), b.ID, day); err != nil || !c.Notified || c.DayMessages != 1 || c.HourMessages != 1 {
		t.Fatalf("b after notify and add: %+v, %v", c, err)
	}
	if c, _ := s.OutboundCounters(ctx(t), a.ID, day); !c.Notified {
		t.Fatalf("a lost Notified: %+v", c)
	}
	// Counting on a later day drops the account's days before
	// yesterday, not yesterday and not other accounts'.
	if err := s.AddOutbound(ctx(t), a.ID, day+1, hour+24, 1, nil); err != nil {
		t.Fatal(err)
	}
	if c, _ := s.OutboundCounters(ctx(t), a.ID, day); c.DayMessages != 3 {
		t.Fatalf("yesterday's counters gone: %+v", c)
	}
	if err := s.AddOutbound(ctx(t), a.ID, day+2, hour+48, 1, nil); err != nil {
		t.Fatal(err)
	}
	if c, _ := s.OutboundCounters(ctx(t), a.ID, day); c.DayMessages != 0 || c.Notified {
		t.Fatalf("day before yesterday kept: %+v", c)
	}
	if c, _ := s.OutboundCounters(ctx(t), b.ID, day); c.DayMessages != 1 {
		t.Fatalf("another account's day pruned: %+v", c)
	}
}

// Concurrent adds lose no count and no bit.
func testOutboundConcurrent(t *testing.T, s store.Store) {
	a := mustAccount(t, s, "a@example.org")
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- s.AddOutbound(ctx(t), a.ID, 1, 24, 2, bitmapOf(string(rune('a'+i))+"@r.example"))
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	c, err := s.OutboundCounters(ctx(t), a.ID, 1)
	if err != nil {
		t.Fatal(err)
	}
	var all []string
	for i := range n {
		all = append(all, string(rune('a'+i))+"@r.example")
	}
	if c.DayMessages != n || c.HourMessages != n || c.DayRecipients != 2*n || string(c.External) != string(bitmapOf(all...)) {
		t.Fatalf("after %d concurrent adds: %+v", n, c)
	}
}
