package imapserver

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mailroom/mailroom/store"
)

// seenOverlapStore holds FETCH's \Seen write, once armed, until the
// message bytes are being read (or fails it), to show that the two run
// at the same time.
type seenOverlapStore struct {
	Store
	armed      atomic.Bool
	fail       atomic.Bool
	reading    chan struct{}
	once       sync.Once
	overlapped atomic.Bool
}

func (s *seenOverlapStore) ListBodies(ctx context.Context, ref store.MailboxRef, uids []uint32, fn func(store.MessageMeta, []byte) error) error {
	if s.armed.Load() {
		s.once.Do(func() { close(s.reading) })
	}
	return s.Store.ListBodies(ctx, ref, uids, fn)
}

// FeedCoversOtherProcesses and WatchFunc pass the wrapped store's feed
// through as the real stores offer it: complete, and calling back before
// the write returns. Hidden by the wrapper, the server could not take its
// own \Seen write in, and whether NOOP reported it again depended on when
// the feed goroutine delivered the change (a flaky test).
func (s *seenOverlapStore) FeedCoversOtherProcesses() bool {
	fc, ok := s.Store.(completeFeed)
	return ok && fc.FeedCoversOtherProcesses()
}

func (s *seenOverlapStore) WatchFunc(accountID int64, fn func(store.Change)) (cancel func()) {
	return s.Store.(watchFuncer).WatchFunc(accountID, fn)
}

func (s *seenOverlapStore) ReadBodies(ctx context.Context, ref store.MailboxRef, uids []uint32, fn func(int64, uint32, []byte) error) error {
	if s.armed.Load() {
		s.once.Do(func() { close(s.reading) })
	}
	return s.Store.ReadBodies(ctx, ref, uids, fn)
}

func (s *seenOverlapStore) UpdateFlags(ctx context.Context, ref store.MailboxRef, uids []uint32, op store.FlagOp, flags []string, unchangedSince uint64) ([]store.MessageMeta, []uint32, error) {
	if s.armed.Load() {
		select {
		case <-s.reading:
			s.overlapped.Store(true)
		case <-time.After(30 * time.Second): // hang guard: the read never started
		}
		if s.fail.Load() {
			return nil, nil, errors.New("disk on fire")
		}
	}
	return s.Store.UpdateFlags(ctx, ref, uids, op, flags, unchangedSince)
}

// TestFetchSeenOverlapsRead: FETCH BODY[] of an unseen message reads the
// bytes while its implicit \Seen is written, and still sends the response
// only after the write returned: with the committed flags, or not at all
// when the write fails.
func TestFetchSeenOverlapsRead(t *testing.T) {
	ss := &seenOverlapStore{reading: make(chan struct{})}
	ts := startTestServer(t, func(c *Config) { ss.Store = c.Store; c.Store = ss })
	ts.deliver("", simpleMsg)
	ts.deliver("", simpleMsg)
	tc := ts.login()
	tc.transactf("ok", "select inbox")

	ss.armed.Store(true)
	lines := tc.transactf("ok", "fetch 1 body[]")
	hasLine(t, lines, `* 1 FETCH (FLAGS (\Seen \Recent) BODY[] {`)
	if !ss.overlapped.Load() {
		t.Error("the \\Seen write did not wait for the body read: they ran one after the other")
	}
	// The session took its own write in: nothing more to report.
	noLine(t, tc.transactf("ok", "noop"), "FETCH")
	hasLine(t, tc.transactf("ok", "fetch 1 flags"), `* 1 FETCH (FLAGS (\Seen \Recent))`)

	// A failed write: no response for the message, the command fails,
	// and the message stays unseen.
	ss.fail.Store(true)
	lines = tc.transactf("no", "fetch 2 body[]")
	noLine(t, lines, "* 2 FETCH")
	ss.armed.Store(false)
	hasLine(t, tc.transactf("ok", "fetch 2 flags"), `* 2 FETCH (FLAGS (\Recent))`)
}
