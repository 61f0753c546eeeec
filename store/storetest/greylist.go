package storetest

import (
	"testing"
	"time"

	"github.com/mailroom/mailroom/store"
)

var greylistTests = []test{
	{"GreylistLifecycle", testGreylistLifecycle},
}

// A key's passes: none before the delay, one per attempt after it, kept
// while attempts come within expire, started over after it; reading
// passes changes nothing; expired keys are removed.
func testGreylistLifecycle(t *testing.T, s store.Store) {
	c := ctx(t)
	t0 := time.Date(2025, 3, 4, 5, 0, 0, 0, time.UTC)
	const delay, expire = 5 * time.Minute, 24 * time.Hour
	attempt := func(key string, at time.Time, want int) {
		t.Helper()
		got, err := s.GreylistAttempt(c, key, at, delay, expire)
		if err != nil || got != want {
			t.Fatalf("GreylistAttempt(%s, %v) = %d, %v; want %d", key, at.Sub(t0), got, err, want)
		}
	}
	passes := func(key string, at time.Time, want int) {
		t.Helper()
		got, err := s.GreylistPasses(c, key, at, expire)
		if err != nil || got != want {
			t.Fatalf("GreylistPasses(%s, %v) = %d, %v; want %d", key, at.Sub(t0), got, err, want)
		}
	}
	passes("k", t0, 0)
	attempt("k", t0, 0)
	attempt("k", t0.Add(time.Minute), 0) // too early: refreshed only
	passes("k", t0.Add(2*time.Minute), 0)
	attempt("k", t0.Add(delay), 1) // at first+delay: a pass
	attempt("k", t0.Add(delay+time.Second), 2)
	passes("k", t0.Add(delay+time.Second), 2)
	attempt("other", t0, 0) // keys are independent
	passes("k", t0.Add(delay+time.Second), 2)
	// Within expire of the last attempt the passes stay.
	last := t0.Add(delay + time.Second)
	passes("k", last.Add(expire), 2)
	passes("k", last.Add(expire+time.Second), 0)
	// After it the key starts over: first attempt again, no pass.
	attempt("k", last.Add(expire+time.Second), 0)
	attempt("k", last.Add(expire+time.Second+delay), 1)
	// "other" expired long ago and was removed by the attempts since:
	// a new attempt starts over.
	attempt("other", last.Add(expire+time.Second+delay), 0)
	// Delay 0: every attempt after the first is a pass (the client
	// counter of auto-allow).
	for want := 0; want < 3; want++ {
		if got, err := s.GreylistAttempt(c, "client", t0, 0, expire); err != nil || got != want {
			t.Fatalf("delay 0, attempt %d: %d, %v", want+1, got, err)
		}
	}
}
