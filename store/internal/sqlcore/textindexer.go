package sqlcore

import (
	"context"
	"log/slog"
	"time"
)

// TextIndexer writes the full-text entries deliveries left pending
// (textpending.go): a backend runs one per store, from Open to Close. It
// yields to deliveries: while they keep coming (each commit that leaves a
// blob pending calls Wake) it waits, up to TextIndexBacklog pending
// blobs, and indexes once none came for TextIndexQuiet; past the backlog
// it indexes anyway. Its batches go through the backend's low-priority
// write path, each alone in its transaction and many entries per
// statement. The parsing and folding of a burst of deliveries thus
// happens after the burst, not during it, while SearchText reads the
// pending blobs of a mailbox itself, so no search misses them.
//
// On PostgreSQL several nodes may index at once: each takes off the
// pending rows it read (IndexPending's DELETE … RETURNING), so a row two
// nodes read gets one entry, written by whichever commits first.
type TextIndexer struct {
	// index writes a batch of entries (IndexPending through the
	// backend's low-priority write path); pending counts the backlog
	// (TextPending). Fields, so that tests can order them against Wake.
	index   func(ctx context.Context) error
	pending func(ctx context.Context) (int64, error)
	logger  *slog.Logger
	report  func(n int64)        // the backlog, as last counted (mailroom_text_index_pending)
	closed  func(err error) bool // err means the store is closed: stop
	wake    chan struct{}
}

const (
	// TextIndexBlobs and TextIndexBytes bound one indexer transaction:
	// the memory it holds (the entries of that many messages) and how
	// long a delivery arriving meanwhile waits for the writer.
	TextIndexBlobs = 256
	TextIndexBytes = 4 << 20
	// TextIndexQuiet is how long no delivery may have left a blob
	// pending before the indexer runs.
	TextIndexQuiet = 250 * time.Millisecond
	// TextIndexBacklog is how many pending blobs make the indexer run
	// even while deliveries continue: it bounds what SearchText reads
	// instead of the index.
	TextIndexBacklog = 10000
	// textIndexRetry is the pause after a failed batch.
	textIndexRetry = 5 * time.Second
)

// NewTextIndexer returns the indexer of c's pending blobs, writing
// through write. report hears the backlog; closed tells the error of a
// closed store.
func (c *Core) NewTextIndexer(write WriteFunc, logger *slog.Logger, report func(int64), closed func(error) bool) *TextIndexer {
	return &TextIndexer{
		index: func(ctx context.Context) error {
			_, err := c.IndexPending(ctx, write, TextIndexBlobs, TextIndexBytes)
			return err
		},
		pending: c.TextPending,
		logger:  logger,
		report:  report,
		closed:  closed,
		wake:    make(chan struct{}, 1),
	}
}

// Wake tells the indexer that blobs are pending.
func (x *TextIndexer) Wake() {
	select {
	case x.wake <- struct{}{}:
	default:
	}
}

// Start runs the indexer in a goroutine until stop, which waits for it
// to end.
func (x *TextIndexer) Start() (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		x.run(ctx)
	}()
	return func() {
		cancel()
		<-done
	}
}

// run indexes until ctx ends. No wait at first: blobs the last run left
// pending go at once.
func (x *TextIndexer) run(ctx context.Context) {
	pause := func(d time.Duration) bool {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			return true
		case <-ctx.Done():
			return false
		}
	}
	woken := func() bool {
		select {
		case <-x.wake:
			return true
		default:
			return false
		}
	}
	for {
		if err := x.index(ctx); err != nil {
			if ctx.Err() != nil || x.closed(err) {
				return
			}
			x.logger.Error("store: text indexer", "err", err)
			if !pause(textIndexRetry) {
				return
			}
			continue
		}
		// The wake is taken before the count: a commit that woke the
		// indexer before this is in the count, and a wake after it
		// stays for the select below. (Taken after the count, a commit
		// the count did not see could have its wake taken here, and
		// the indexer would wait for another delivery with a blob
		// pending.)
		busy := woken() // a delivery since the last batch
		n := x.countPending(ctx)
		if n == 0 && !busy {
			select {
			case <-x.wake:
				busy = true
			case <-ctx.Done():
				return
			}
		}
		for busy && n < TextIndexBacklog {
			if !pause(TextIndexQuiet) {
				return
			}
			if busy = woken(); busy {
				n = x.countPending(ctx)
			}
		}
	}
}

// countPending reads the backlog and reports it; 1 if it cannot tell.
func (x *TextIndexer) countPending(ctx context.Context) int64 {
	n, err := x.pending(ctx)
	if err != nil {
		if ctx.Err() == nil {
			x.logger.Error("store: text indexer", "err", err)
		}
		return 1
	}
	x.report(n)
	return n
}
