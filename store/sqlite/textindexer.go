package sqlite

import (
	"context"
	"errors"
	"time"
)

// The text indexer writes the full-text entries deliveries left pending
// (sqlcore/textpending.go): one goroutine per store, from Open to Close.
// It yields to deliveries: while they keep coming (each commit that
// leaves a blob pending wakes it) it waits, up to textIndexBacklog
// pending blobs, and indexes once none came for textIndexQuiet; past the
// backlog it indexes anyway. Its batches go through the writer at low
// priority (writeIdle), each alone in its transaction and many entries
// in one FTS5 segment. The parsing and folding of a burst of deliveries
// thus happens after the burst, not during it, while SearchText reads
// the pending blobs of a mailbox itself, so no search misses them.

const (
	// textIndexBlobs and textIndexBytes bound one indexer transaction:
	// the memory it holds (the entries of that many messages) and how
	// long a delivery arriving meanwhile waits for the writer.
	textIndexBlobs = 256
	textIndexBytes = 4 << 20
	// textIndexQuiet is how long no delivery may have left a blob
	// pending before the indexer runs.
	textIndexQuiet = 250 * time.Millisecond
	// textIndexBacklog is how many pending blobs make the indexer run
	// even while deliveries continue: it bounds what SearchText reads
	// instead of the index.
	textIndexBacklog = 10000
	// textIndexRetry is the pause after a failed batch.
	textIndexRetry = 5 * time.Second
)

// wakeIndexer tells the indexer that blobs are pending.
func (s *Store) wakeIndexer() {
	select {
	case s.indexWake <- struct{}{}:
	default:
	}
}

// textIndexer runs until ctx ends (Close). No wait at first: blobs the
// last run left pending go at once.
func (s *Store) textIndexer(ctx context.Context) {
	defer s.indexerWG.Done()
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
		case <-s.indexWake:
			return true
		default:
			return false
		}
	}
	for {
		if _, err := s.IndexPending(ctx, s.writeIdle, textIndexBlobs, textIndexBytes); err != nil {
			if ctx.Err() != nil || errors.Is(err, ErrClosed) {
				return
			}
			s.logger.Error("sqlite: text indexer", "err", err)
			if !pause(textIndexRetry) {
				return
			}
			continue
		}
		n := s.countPending(ctx)
		busy := woken() // a delivery since the last batch
		if n == 0 {
			select {
			case <-s.indexWake:
				busy = true
			case <-ctx.Done():
				return
			}
		}
		for busy && n < textIndexBacklog {
			if !pause(textIndexQuiet) {
				return
			}
			if busy = woken(); busy {
				n = s.countPending(ctx)
			}
		}
	}
}

// countPending reads the backlog and reports it
// (mailroom_text_index_pending); 1 if it cannot tell.
func (s *Store) countPending(ctx context.Context) int64 {
	n, err := s.TextPending(ctx)
	if err != nil {
		if ctx.Err() == nil {
			s.logger.Error("sqlite: text indexer", "err", err)
		}
		return 1
	}
	s.m.TextIndexPending(n)
	return n
}
