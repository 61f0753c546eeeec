package imapserver

import (
	"context"
	"testing"

	"github.com/mailroom/mailroom/store"
)

// quietStore is a store whose change feed never fires, as when the change
// was made on another node whose notification has not arrived.
type quietStore struct{ Store }

func (quietStore) Watch(int64) (<-chan store.Change, func()) {
	return make(chan store.Change), func() {}
}

// TestIndexFreshWithoutFeed: FETCH reports the flags in the store at the
// time of the FETCH, even when no change notification reached the session
// (the shared index asks the store for changes, it does not trust the feed).
func TestIndexFreshWithoutFeed(t *testing.T) {
	ts := startTestServer(t, func(c *Config) { c.Store = quietStore{c.Store} })
	for range 3 {
		ts.deliver("", "Subject: m\n\nbody\n")
	}
	a, b := ts.login(), ts.login()
	a.transactf("ok", "select INBOX")
	b.transactf("ok", "select INBOX")
	hasLine(t, a.transactf("ok", "fetch 2 (FLAGS)"), `* 2 FETCH (FLAGS (\Recent))`)

	ctx := context.Background()
	inbox := mustInbox(t, ts)
	if _, _, err := ts.st.UpdateFlags(ctx, inbox, []uint32{2}, store.FlagsAdd, []string{store.FlagFlagged, "$Work"}, 0); err != nil {
		t.Fatal(err)
	}
	hasLine(t, a.transactf("ok", "fetch 2 (FLAGS)"), `* 2 FETCH (FLAGS ($Work \Flagged \Recent))`)
	hasLine(t, b.transactf("ok", "search flagged"), `* SEARCH 2`)
	hasLine(t, b.transactf("ok", "search keyword $Work"), `* SEARCH 2`)

	// Expunged elsewhere: no FETCH response for it (the session has not
	// been told yet, so the sequence numbers stay), the others as before.
	if _, _, err := ts.st.Expunge(ctx, inbox, []uint32{1}, false); err != nil {
		t.Fatal(err)
	}
	lines := a.transactf("ok", "fetch 1:3 (UID FLAGS)")
	noLine(t, lines, "* 1 FETCH")
	hasLine(t, lines, `* 2 FETCH (UID 2 FLAGS ($Work \Flagged \Recent))`)
	hasLine(t, lines, `* 3 FETCH (UID 3 FLAGS (\Recent))`)
}

// TestIndexFollowsSessions: flags stored and messages appended by one
// session are what the other session's FETCH and SEARCH see.
func TestIndexFollowsSessions(t *testing.T) {
	ts := startTestServer(t)
	ts.deliver("", "Subject: one\n\nbody\n")
	a, b := ts.login(), ts.login()
	a.transactf("ok", "select INBOX")
	b.transactf("ok", "select INBOX")
	b.transactf("ok", `store 1 +flags (\Seen)`)
	b.transactf("ok", "append INBOX (\\Draft) {18}\r\nSubject: two\r\n\r\nhi")
	lines := a.transactf("ok", "noop")
	hasLine(t, lines, "* 2 EXISTS")
	lines = a.transactf("ok", "fetch 1:* (UID FLAGS RFC822.SIZE)")
	hasLine(t, lines, `* 1 FETCH (UID 1 FLAGS (\Seen \Recent) RFC822.SIZE 22)`)
	hasLine(t, lines, `* 2 FETCH (UID 2 FLAGS (\Draft) RFC822.SIZE 18)` /* b appended it and so took it as recent */)
	hasLine(t, a.transactf("ok", "uid search unseen"), "* SEARCH 2")
	// The index survives the session and serves the next SELECT.
	a.transactf("ok", "close")
	lines = a.transactf("ok", "select INBOX")
	hasLine(t, lines, "* 2 EXISTS")
	hasLine(t, a.transactf("ok", "fetch 2 (FLAGS)"), `* 2 FETCH (FLAGS (\Draft))`)
}

// TestIndexMailboxRecreated: a mailbox deleted and created again under the
// same name is a new mailbox (new UIDVALIDITY); nothing of the old one's
// index may show.
func TestIndexMailboxRecreated(t *testing.T) {
	ts := startTestServer(t)
	tc := ts.login()
	tc.transactf("ok", "create Box")
	tc.transactf("ok", "append Box (\\Flagged) {9}\r\nSubject:a")
	tc.transactf("ok", "append Box (\\Flagged) {9}\r\nSubject:b")
	tc.transactf("ok", "select Box")
	hasLine(t, tc.transactf("ok", "fetch 1:* (FLAGS)"), `* 2 FETCH (FLAGS (\Flagged \Recent))`)
	tc.transactf("ok", "unselect")
	tc.transactf("ok", "delete Box")
	tc.transactf("ok", "create Box")
	tc.transactf("ok", "append Box (\\Seen) {9}\r\nSubject:c")
	lines := tc.transactf("ok", "select Box")
	hasLine(t, lines, "* 1 EXISTS")
	lines = tc.transactf("ok", "fetch 1:* (UID FLAGS)")
	if len(lines) != 1 {
		t.Fatalf("FETCH 1:* gave %q, want one message", lines)
	}
	hasLine(t, lines, `* 1 FETCH (UID 1 FLAGS (\Seen \Recent))`)
}

// TestIndexCacheBounded: unselected mailboxes' indexes are dropped beyond
// IndexCacheMessages, and a dropped one is rebuilt correctly.
func TestIndexCacheBounded(t *testing.T) {
	ts := startTestServer(t, func(c *Config) { c.IndexCacheMessages = 3 })
	tc := ts.login()
	for _, name := range []string{"A", "B"} {
		tc.transactf("ok", "create %s", name)
		for range 3 {
			ts.deliver(name, "Subject: "+name+"\n\nbody\n")
		}
	}
	for _, name := range []string{"A", "B", "A"} {
		tc.transactf("ok", "select %s", name)
		lines := tc.transactf("ok", "fetch 1:* (UID)")
		if len(lines) != 3 {
			t.Fatalf("%s: FETCH gave %q", name, lines)
		}
		if n := ts.srv.indexes.Len(); n != 1 {
			t.Fatalf("after selecting %s: %d cached indexes, want 1 (budget 3 messages)", name, n)
		}
	}
}
