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
	reads, lists   atomic.Int64
	hreads, hlists atomic.Int64 // ReadHeaders, ListHeaders
}

func (s *bodyReadStore) ReadHeaders(ctx context.Context, ref store.MailboxRef, uids []uint32, fn func(int64, uint32, []byte) error) error {
	s.hreads.Add(1)
	return s.Store.ReadHeaders(ctx, ref, uids, fn)
}

func (s *bodyReadStore) ListHeaders(ctx context.Context, ref store.MailboxRef, uids []uint32, fn func(store.MessageMeta, []byte) error) error {
	s.hlists.Add(1)
	return s.Store.ListHeaders(ctx, ref, uids, fn)
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

// TestFetchHeadersPooledBuffer: FETCH of header fields reads with
// ReadHeaders into the buffer bodies are read into; two sessions taking
// turns, one fetching headers and the other bodies over several batches,
// get every header and body exactly as stored.
func TestFetchHeadersPooledBuffer(t *testing.T) {
	bs := &bodyReadStore{}
	ts := startTestServer(t, func(c *Config) { bs.Store = c.Store; c.Store = bs })
	const n = 300 // two batches of headerBatchCount
	want := make([]string, n+1)
	for i := 1; i <= n; i++ {
		raw := fmt.Sprintf("Subject: m%d %s\nFrom: a%d@example.org\n\n%s\n", i, strings.Repeat("s", i%50), i, strings.Repeat(fmt.Sprintf("line %d\n", i), 1+(i*37)%100))
		ts.deliver("", raw)
		want[i] = strings.ReplaceAll(raw, "\n", "\r\n")
	}
	a, b := ts.login(), ts.login()
	a.transactf("ok", "examine INBOX")
	b.transactf("ok", "examine INBOX")
	for round := range 3 {
		lines := a.transactf("ok", "fetch 1:%d (body.peek[header.fields (subject)])", n)
		if len(lines) != n {
			t.Fatalf("round %d: %d FETCH responses, want %d", round, len(lines), n)
		}
		for k, l := range lines {
			i := k + 1
			subject, _, _ := strings.Cut(want[i], "\r\n")
			if w := fmt.Sprintf("* %d FETCH (BODY[HEADER.FIELDS (SUBJECT)] {%d}\r\n%s\r\n\r\n)", i, len(subject)+4, subject); l != w {
				t.Fatalf("round %d: %q, want %q", round, l, w)
			}
		}
		from := 1 + round*40
		for k, l := range b.transactf("ok", "fetch %d:%d body.peek[]", from, from+60) {
			i := from + k
			if w := fmt.Sprintf("* %d FETCH (BODY[] {%d}\r\n%s)", i, len(want[i]), want[i]); l != w {
				t.Fatalf("round %d: message %d: %.80q..., want %.80q...", round, i, l, w)
			}
		}
	}
	if bs.hreads.Load() == 0 || bs.hlists.Load() != 0 {
		t.Errorf("%d ReadHeaders and %d ListHeaders calls, want FETCH to read with ReadHeaders only", bs.hreads.Load(), bs.hlists.Load())
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

func (s *goneMailboxStore) ReadHeaders(ctx context.Context, ref store.MailboxRef, uids []uint32, fn func(int64, uint32, []byte) error) error {
	if s.gone.Load() {
		return nil
	}
	return s.Store.ReadHeaders(ctx, ref, uids, fn)
}

func (s *goneMailboxStore) ListHeaders(ctx context.Context, ref store.MailboxRef, uids []uint32, fn func(store.MessageMeta, []byte) error) error {
	if s.gone.Load() {
		return store.ErrNotFound
	}
	return s.Store.ListHeaders(ctx, ref, uids, fn)
}

func (s *goneMailboxStore) MessageBody(ctx context.Context, ref store.MailboxRef, id int64) ([]byte, error) {
	if s.gone.Load() {
		return nil, store.ErrNotFound
	}
	return s.Store.MessageBody(ctx, ref, id)
}

// TestFetchBodiesMailboxGone: a FETCH of bodies or headers whose mailbox is deleted between
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
	for _, items := range []string{"body[]", "body.peek[header.fields (subject)]"} {
		noLine(t, tc.transactf("no", "fetch 1:2 %s", items), "FETCH")
		if code := tc.taggedCode(); code != "NONEXISTENT" {
			t.Errorf("FETCH %s: tagged %q, want NO [NONEXISTENT]", items, tc.lastTagged)
		}
	}
}
