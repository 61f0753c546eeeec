package queue

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// PerDomain bounds the connections to one destination, while another
// domain is not held up behind it: slow.test's deliveries are held until
// fast.test's has arrived (an order, not a wall-clock bound a loaded CI
// machine could trip).
func TestPerDomainLimit(t *testing.T) {
	st, _ := newStoreWith(t, "alice@example.org")
	var active, peak atomic.Int32
	held := make(chan struct{})
	release := sync.OnceFunc(func() { close(held) })
	slow := startSink(t, func(string, int) error {
		n := active.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		<-held
		time.Sleep(50 * time.Millisecond) // room for a second one to enter
		active.Add(-1)
		return nil
	})
	t.Cleanup(release) // runs before the sinks stop, also on failure
	fast := startSink(t, nil)
	res := newTestResolver()
	res.addMX("slow.test", "mx.slow.test")
	res.addMX("fast.test", "mx.fast.test")
	cfg := fastConfig(st, res, map[string]string{"mx.slow.test": slow.port(), "mx.fast.test": fast.port()})
	cfg.PerDomain = 1
	cfg.Workers = 8
	q := startQueue(t, cfg)
	ctx := context.Background()
	for range 3 {
		if _, err := q.Enqueue(ctx, "alice@example.org", []string{"x@slow.test"}, []byte(testMsg)); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "a slow.test delivery to start", func() bool { return active.Load() == 1 })
	if _, err := q.Enqueue(ctx, "alice@example.org", []string{"y@fast.test"}, []byte(testMsg)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "fast.test delivery while slow.test is held", func() bool { return len(fast.messages()) == 1 })
	release()
	waitFor(t, "the queue to empty", queueEmpty(t, st))
	if len(slow.messages()) != 3 || peak.Load() != 1 {
		t.Fatalf("slow.test got %d messages with peak concurrency %d, want 3 and 1", len(slow.messages()), peak.Load())
	}
}
