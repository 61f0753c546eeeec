package imapserver

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/mailroom/mailroom/store"
)

// bodyReadStore counts FETCH's reads of message bytes by method.
type bodyReadStore struct {
	Store
	reads, lists atomic.Int64
}

func (s *bodyReadStore) ReadBodies(ctx context.Context, ref store.MailboxRef, uids []uint32, fn func(int64, uint32, []byte) error) error {
	s.reads.Add(1)
	return s.Store.ReadBodies(ctx, ref, uids, fn)
}

func (s *bodyReadStore) ListBodies(ctx context.Context, ref store.MailboxRef, uids []uint32, fn func(store.MessageMeta, []byte) error) error {
	s.lists.Add(1)
	return s.Store.ListBodies(ctx, ref, uids, fn)
}

// TestFetchBodiesPooledBuffer: FETCH reads bodies with ReadBodies into a
// buffer the server lends to one command at a time: two sessions taking
// turns, each over several batches of messages of different sizes, get
// every message exactly as stored, never another's bytes.
func TestFetchBodiesPooledBuffer(t *testing.T) {
	bs := &bodyReadStore{}
	ts := startTestServer(t, func(c *Config) { bs.Store = c.Store; c.Store = bs })
	const n = 150 // three batches of bodyBatchCount
	want := make([]string, n+1)
	for i := 1; i <= n; i++ {
		raw := fmt.Sprintf("Subject: m%d\n\n%s\n", i, strings.Repeat(fmt.Sprintf("line %d of message %d\n", i, i), 1+(i*37)%300))
		ts.deliver("", raw)
		want[i] = strings.ReplaceAll(raw, "\n", "\r\n")
	}
	a, b := ts.login(), ts.login()
	a.transactf("ok", "examine INBOX")
	b.transactf("ok", "examine INBOX")
	check := func(who string, lines []string, from, to int) {
		t.Helper()
		if len(lines) != to-from+1 {
			t.Fatalf("%s: %d FETCH responses for %d:%d", who, len(lines), from, to)
		}
		for k, l := range lines {
			i := from + k
			prefix := fmt.Sprintf("* %d FETCH (BODY[] {%d}\r\n", i, len(want[i]))
			if !strings.HasPrefix(l, prefix) || l[len(prefix):] != want[i]+")" {
				t.Fatalf("%s: message %d: got %.80q..., want %q and the message", who, i, l, prefix)
			}
		}
	}
	for round := range 3 {
		check("a", a.transactf("ok", "fetch 1:%d body[]", n), 1, n)
		from := 1 + round*40
		check("b", b.transactf("ok", "fetch %d:%d body[]", from, from+60), from, from+60)
	}
	if bs.reads.Load() == 0 || bs.lists.Load() != 0 {
		t.Errorf("%d ReadBodies and %d ListBodies calls, want FETCH to read with ReadBodies only", bs.reads.Load(), bs.lists.Load())
	}
}

// goneMailboxStore answers the reads of bytes as the stores do once the
// mailbox is deleted: ReadBodies hands nothing (SQLite's query finds no
// row), ListBodies and MessageBody say store.ErrNotFound.
type goneMailboxStore struct {
	Store
	gone atomic.Bool
}

func (s *goneMailboxStore) ReadBodies(ctx context.Context, ref store.MailboxRef, uids []uint32, fn func(int64, uint32, []byte) error) error {
	if s.gone.Load() {
		return nil
	}
	return s.Store.ReadBodies(ctx, ref, uids, fn)
}

func (s *goneMailboxStore) ListBodies(ctx context.Context, ref store.MailboxRef, uids []uint32, fn func(store.MessageMeta, []byte) error) error {
	if s.gone.Load() {
		return store.ErrNotFound
	}
	return s.Store.ListBodies(ctx, ref, uids, fn)
}

func (s *goneMailboxStore) MessageBody(ctx context.Context, ref store.MailboxRef, id int64) ([]byte, error) {
	if s.gone.Load() {
		return nil, store.ErrNotFound
	}
	return s.Store.MessageBody(ctx, ref, id)
}

// TestFetchBodiesMailboxGone: a FETCH whose mailbox is deleted between
// its metadata and its bytes ends NO [NONEXISTENT] with no response, as
// when the bytes were read with ListBodies; not NO [EXPUNGEISSUED] as
// though each message had been expunged.
func TestFetchBodiesMailboxGone(t *testing.T) {
	gs := &goneMailboxStore{}
	ts := startTestServer(t, func(c *Config) { gs.Store = c.Store; c.Store = gs })
	ts.deliver("", simpleMsg)
	ts.deliver("", simpleMsg)
	tc := ts.login()
	tc.transactf("ok", "examine INBOX")
	gs.gone.Store(true)
	noLine(t, tc.transactf("no", "fetch 1:2 body[]"), "FETCH")
	if code := tc.taggedCode(); code != "NONEXISTENT" {
		t.Errorf("tagged %q, want NO [NONEXISTENT]", tc.lastTagged)
	}
}
