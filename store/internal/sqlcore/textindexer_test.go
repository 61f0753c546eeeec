package sqlcore

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"
)

// TestTextIndexerWakeDuringCount: a delivery that commits and wakes the
// indexer while it counts its backlog, too late for the count to see it,
// is indexed without waiting for another delivery. (CI: a PostgreSQL
// store's single Append stayed pending for a minute.)
func TestTextIndexerWakeDuringCount(t *testing.T) {
	t.Parallel()
	x := &TextIndexer{
		logger: slog.New(slog.DiscardHandler),
		report: func(int64) {},
		closed: func(error) bool { return false },
		wake:   make(chan struct{}, 1),
	}
	var mu sync.Mutex
	pending, counts := 0, 0
	indexed := make(chan int, 1)
	x.index = func(context.Context) error {
		mu.Lock()
		defer mu.Unlock()
		if pending > 0 {
			select {
			case indexed <- pending:
			default:
			}
			pending = 0
		}
		return nil
	}
	x.pending = func(context.Context) (int64, error) {
		mu.Lock()
		defer mu.Unlock()
		counts++
		if counts == 1 {
			// The count's snapshot is taken; then a delivery
			// commits and wakes the indexer before the count
			// returns what it saw.
			pending++
			x.Wake()
			return 0, nil
		}
		return int64(pending), nil
	}
	stop := x.Start()
	defer stop()
	select {
	case n := <-indexed:
		if n != 1 {
			t.Fatalf("indexed %d blobs, want 1", n)
		}
	case <-time.After(30 * time.Second): // a hang guard: the quiet pause is 250 ms
		t.Fatal("the blob committed during the count was not indexed: its wake was lost")
	}
}
