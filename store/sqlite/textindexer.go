package sqlite

import (
	"context"
	"errors"
	"time"
)

// The text indexer writes the full-text entries deliveries left pending
// (sqlcore/textpending.go): one goroutine per store, from Open to Close.
// Deliveries wake it; it waits textIndexDelay so that the entries of
// many deliveries share a transaction (and an FTS5 segment), then writes
// batches through the writer at low priority (writeIdle) until none are
// left.

const (
	// textIndexBlobs and textIndexBytes bound one indexer transaction:
	// the memory it holds (the entries of that many messages) and how
	// long a delivery arriving meanwhile waits for the writer.
	textIndexBlobs = 256
	textIndexBytes = 4 << 20
	// textIndexDelay is how long the indexer lets pending blobs gather
	// after a delivery woke it.
	textIndexDelay = 200 * time.Millisecond
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

// textIndexer runs until ctx ends (Close).
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
	// No wait at first: blobs the last run left pending go at once.
	for {
		_, err := s.IndexPending(ctx, s.writeIdle, textIndexBlobs, textIndexBytes)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, ErrClosed) {
				return
			}
			s.logger.Error("sqlite: text indexer", "err", err)
			if !pause(textIndexRetry) {
				return
			}
			continue
		}
		n, err := s.TextPending(ctx)
		if err == nil {
			s.m.TextIndexPending(n)
		}
		if n >= textIndexBlobs/2 {
			continue // a backlog: no need to let more gather
		}
		select {
		case <-s.indexWake:
		case <-ctx.Done():
			return
		}
		if !pause(textIndexDelay) {
			return
		}
	}
}
