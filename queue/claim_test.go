package queue

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/mailroom/mailroom/store"
)

// shortClaimStore deletes the last item of the first claim that returns
// more than one and leaves it out of the result: what a queue delete (or
// another worker finishing the item) between the claim and its re-read
// did to ClaimQueue before it returned the claimed rows themselves.
type shortClaimStore struct {
	Store
	once sync.Once
}

func (s *shortClaimStore) ClaimQueue(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]store.QueueItem, error) {
	items, err := s.Store.ClaimQueue(ctx, owner, now, lease, limit)
	if err != nil || len(items) < 2 {
		return items, err
	}
	s.once.Do(func() {
		last := items[len(items)-1]
		if err := s.Store.DeleteQueueItem(ctx, last.ID); err != nil {
			panic(err)
		}
		items = items[:len(items)-1]
	})
	return items, err
}

// Issue 11 item 18: a claim that came back short (an item deleted
// meanwhile) made the runner conclude that nothing more was due, and the
// rest of the queue waited for the next poll (a minute by default) with
// workers idle. The poll interval here is an hour: every message must
// still go out at once.
func TestShortClaimDoesNotStall(t *testing.T) {
	st, _ := newStoreWith(t, "alice@example.org")
	sk := startSink(t, func(string, int) error { return nil })
	res := newTestResolver()
	res.addMX("remote.test", "mx.remote.test")
	ctx := context.Background()
	const n = 8
	for i := range n {
		raw := fmt.Sprintf("From: alice@example.org\r\nTo: bob@remote.test\r\nSubject: %d\r\n\r\nbody %d\r\n", i, i)
		if _, err := st.Enqueue(ctx, store.QueuedMessage{From: "alice@example.org", Recipients: []string{"bob@remote.test"}, Raw: []byte(raw)}); err != nil {
			t.Fatal(err)
		}
	}
	cfg := fastConfig(&shortClaimStore{Store: st}, res, map[string]string{"mx.remote.test": sk.port()})
	cfg.PollInterval = time.Hour
	cfg.Workers = 2
	startQueue(t, cfg)
	waitFor(t, "the queue to empty without a poll", queueEmpty(t, st))
	if got := len(sk.messages()); got != n-1 {
		t.Fatalf("sink got %d messages, want %d (one was deleted)", got, n-1)
	}
}

// goneAfterClaimStore deletes every claimed item right after the claim
// but returns it: the worker then finds it gone.
type goneAfterClaimStore struct{ Store }

func (s goneAfterClaimStore) ClaimQueue(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]store.QueueItem, error) {
	items, err := s.Store.ClaimQueue(ctx, owner, now, lease, limit)
	for _, it := range items {
		if err := s.Store.DeleteQueueItem(ctx, it.ID); err != nil {
			panic(err)
		}
	}
	return items, err
}

// errorCounter is a slog.Handler that counts records at level Error.
type errorCounter struct {
	mu   sync.Mutex
	msgs []string
}

func (h *errorCounter) Enabled(context.Context, slog.Level) bool { return true }
func (h *errorCounter) Handle(_ context.Context, r slog.Record) error {
	if r.Level >= slog.LevelError {
		h.mu.Lock()
		h.msgs = append(h.msgs, r.Message)
		h.mu.Unlock()
	}
	return nil
}
func (h *errorCounter) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *errorCounter) WithGroup(string) slog.Handler      { return h }

// An item deleted after it was claimed is gone, not an error: before, each
// logged "queue: reading message ... not found" (59 in one run of the
// issue's multi-node test).
func TestItemGoneAfterClaimIsNotAnError(t *testing.T) {
	st, _ := newStoreWith(t, "alice@example.org")
	sk := startSink(t, func(string, int) error { return nil })
	res := newTestResolver()
	res.addMX("remote.test", "mx.remote.test")
	ctx := context.Background()
	for i := range 3 {
		raw := fmt.Sprintf("From: alice@example.org\r\nTo: bob@remote.test\r\nSubject: %d\r\n\r\nbody\r\n", i)
		if _, err := st.Enqueue(ctx, store.QueuedMessage{From: "alice@example.org", Recipients: []string{"bob@remote.test"}, Raw: []byte(raw)}); err != nil {
			t.Fatal(err)
		}
	}
	h := &errorCounter{}
	cfg := fastConfig(goneAfterClaimStore{st}, res, map[string]string{"mx.remote.test": sk.port()})
	cfg.Logger = slog.New(h)
	q := startQueue(t, cfg)
	waitFor(t, "the queue to empty", queueEmpty(t, st))
	if err := q.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.msgs) != 0 {
		t.Fatalf("errors logged for items deleted after their claim: %q", h.msgs)
	}
	if n := len(sk.messages()); n != 0 {
		t.Fatalf("%d deleted messages were sent", n)
	}
}
