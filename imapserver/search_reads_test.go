package imapserver

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/mailroom/mailroom/message"
	"github.com/mailroom/mailroom/store"
	"github.com/mailroom/mailroom/store/storetest"
)

// countingStore counts the reads SEARCH makes of message bytes and trees.
type countingStore struct {
	Store
	bodies, parts, lists atomic.Int64
}

func (s *countingStore) MessageBody(ctx context.Context, mbox store.MailboxRef, id int64) ([]byte, error) {
	s.bodies.Add(1)
	return s.Store.MessageBody(ctx, mbox, id)
}

func (s *countingStore) MessagePart(ctx context.Context, mbox store.MailboxRef, id int64) (*message.Part, error) {
	s.parts.Add(1)
	return s.Store.MessagePart(ctx, mbox, id)
}

func (s *countingStore) ListBodies(ctx context.Context, mailboxID store.MailboxRef, uids []uint32, fn func(store.MessageMeta, []byte) error) error {
	s.lists.Add(1)
	return s.Store.ListBodies(ctx, mailboxID, uids, fn)
}

// ReadBodies counts as ListBodies: FETCH reads its batches of bytes
// with it.
func (s *countingStore) ReadBodies(ctx context.Context, mailboxID store.MailboxRef, uids []uint32, fn func(int64, uint32, []byte) error) error {
	s.lists.Add(1)
	return s.Store.ReadBodies(ctx, mailboxID, uids, fn)
}

// TestSearchReads: a flag search reads no bytes, nor does a body search
// of the full-text index's exact hits; one of its candidates reads them
// in batches (no per-message MessageBody) and parses them rather than
// reading their stored tree; a 32 KB message matches too.
func TestSearchReads(t *testing.T) {
	cs := &countingStore{}
	ts := startTestServer(t, func(c *Config) { cs.Store = c.Store; c.Store = cs })
	for i := 0; i < 5; i++ {
		ts.deliver("", "Subject: small\n\nhay hay\n")
	}
	ts.deliver("", "Subject: small\n\nthe needle\n")
	big := "Subject: big\n\n" + strings.Repeat("hay hay hay hay\n", 2000) + "another needle\n"
	ts.deliver("", big)
	// Indexed: a pending blob is matched by the store itself (an exact
	// hit whatever the needle), so the candidate case below needs the
	// index to have answered.
	storetest.WaitTextIndexed(t, ts.st)
	tc := ts.login()
	tc.transactf("ok", "select INBOX")
	cs.bodies.Store(0)
	cs.parts.Store(0)
	cs.lists.Store(0)

	hasLine(t, tc.transactf("ok", "search unseen"), "* SEARCH 1 2 3 4 5 6 7")
	if n := cs.bodies.Load() + cs.parts.Load() + cs.lists.Load(); n != 0 {
		t.Errorf("flag search made %d byte reads, want 0", n)
	}

	// The full-text index's exact hits are not read.
	hasLine(t, tc.transactf("ok", "uid search body needle"), "* SEARCH 6 7")
	if n := cs.bodies.Load() + cs.parts.Load() + cs.lists.Load(); n != 0 {
		t.Errorf("body search of exact hits made %d byte reads, want 0", n)
	}
	// Its candidates (a needle with a space) are.
	hasLine(t, tc.transactf("ok", "uid search body \"r needle\""), "* SEARCH 7")
	if b, l := cs.bodies.Load(), cs.lists.Load(); b != 0 || l != 1 {
		t.Errorf("body search: %d MessageBody and %d ListBodies calls, want 0 and 1", b, l)
	}
	if p := cs.parts.Load(); p != 0 {
		t.Errorf("body search: %d MessagePart calls, want 0", p)
	}
	hasLine(t, tc.transactf("ok", "search subject big"), "* SEARCH 7")
	hasLine(t, tc.transactf("ok", "search not text needle"), "* SEARCH 1 2 3 4 5")
}

// TestSearchFlagAllocsFlat: a flag SEARCH allocates per command, not per
// message of the mailbox: 450 more messages, all matching, add fewer than
// 100 allocations to SEARCH UNSEEN (they added one per message when each
// message was evaluated in a searchMsg of its own).
func TestSearchFlagAllocsFlat(t *testing.T) {
	ts := startTestServer(t)
	add := func(n int) {
		ts.appendToInbox(n, func(i int) []byte {
			return []byte("From: a@example.org\r\nSubject: s" + strings.Repeat("x", i%7) + "\r\n\r\nbody\r\n")
		})
		// The background indexer's allocations would count too.
		storetest.WaitTextIndexed(t, ts.st)
	}
	tc := ts.login()
	allocs := func(want int) float64 {
		tc.transactf("ok", "SELECT INBOX")
		if got := strings.Count(tc.transactf("ok", "SEARCH UNSEEN")[0], " "); got != want {
			t.Fatalf("SEARCH UNSEEN matched %d messages, want %d", got-1, want-1)
		}
		return testing.AllocsPerRun(20, func() { tc.transactf("ok", "SEARCH UNSEEN") })
	}
	add(50)
	small := allocs(51)
	add(450)
	large := allocs(501)
	if large-small >= 100 {
		t.Errorf("SEARCH UNSEEN: %.0f allocations with 50 messages, %.0f with 500", small, large)
	}
}
