package imapserver

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailroom/mailroom/message"
	"github.com/mailroom/mailroom/store"
	"github.com/mailroom/mailroom/store/sqlite"
)

// callCounter is a Store that counts the calls made through it, by
// method, before passing them on.
type callCounter struct {
	inner *sqlite.Store
	mu    sync.Mutex
	n     map[string]int
	// claimGate, when set, is called (outside mu) before each
	// ClaimRecent is passed on.
	claimGate func()
}

var (
	_ Store        = (*callCounter)(nil)
	_ watchFuncer  = (*callCounter)(nil)
	_ completeFeed = (*callCounter)(nil)
)

func (s *callCounter) count(m string) {
	s.mu.Lock()
	if s.n == nil {
		s.n = map[string]int{}
	}
	s.n[m]++
	s.mu.Unlock()
}

// take returns the counts so far and starts again.
func (s *callCounter) take() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := maps.Clone(s.n)
	clear(s.n)
	return n
}

func total(m map[string]int) int {
	t := 0
	for _, n := range m {
		t += n
	}
	return t
}

func (s *callCounter) Mailboxes(ctx context.Context, a int64) ([]store.Mailbox, error) {
	s.count("Mailboxes")
	return s.inner.Mailboxes(ctx, a)
}
func (s *callCounter) MailboxByName(ctx context.Context, a int64, name string) (store.Mailbox, error) {
	s.count("MailboxByName")
	return s.inner.MailboxByName(ctx, a, name)
}
func (s *callCounter) MailboxByID(ctx context.Context, m store.MailboxRef) (store.Mailbox, error) {
	s.count("MailboxByID")
	return s.inner.MailboxByID(ctx, m)
}
func (s *callCounter) AccountByID(ctx context.Context, id int64) (store.Account, error) {
	s.count("AccountByID")
	return s.inner.AccountByID(ctx, id)
}
func (s *callCounter) CreateMailbox(ctx context.Context, a int64, name, use string) (store.Mailbox, error) {
	s.count("CreateMailbox")
	return s.inner.CreateMailbox(ctx, a, name, use)
}
func (s *callCounter) DeleteMailbox(ctx context.Context, a int64, name string) error {
	s.count("DeleteMailbox")
	return s.inner.DeleteMailbox(ctx, a, name)
}
func (s *callCounter) RenameMailbox(ctx context.Context, a int64, from, to string) error {
	s.count("RenameMailbox")
	return s.inner.RenameMailbox(ctx, a, from, to)
}
func (s *callCounter) Subscriptions(ctx context.Context, a int64) ([]string, error) {
	s.count("Subscriptions")
	return s.inner.Subscriptions(ctx, a)
}
func (s *callCounter) SetSubscribed(ctx context.Context, a int64, name string, on bool) error {
	s.count("SetSubscribed")
	return s.inner.SetSubscribed(ctx, a, name, on)
}
func (s *callCounter) MailboxStatus(ctx context.Context, m store.MailboxRef) (store.MailboxStatus, error) {
	s.count("MailboxStatus")
	return s.inner.MailboxStatus(ctx, m)
}
func (s *callCounter) ClaimRecent(ctx context.Context, m store.MailboxRef) (uint32, uint32, error) {
	s.count("ClaimRecent")
	s.mu.Lock()
	gate := s.claimGate
	s.mu.Unlock()
	if gate != nil {
		gate()
	}
	return s.inner.ClaimRecent(ctx, m)
}
func (s *callCounter) RecentCount(ctx context.Context, m store.MailboxRef) (uint32, uint32, error) {
	s.count("RecentCount")
	return s.inner.RecentCount(ctx, m)
}
func (s *callCounter) AccountUsage(ctx context.Context, a int64) (store.Usage, error) {
	s.count("AccountUsage")
	return s.inner.AccountUsage(ctx, a)
}
func (s *callCounter) Append(ctx context.Context, m store.MailboxRef, msgs []store.NewMessage) (uint32, []uint32, error) {
	s.count("Append")
	return s.inner.Append(ctx, m, msgs)
}
func (s *callCounter) ListMessages(ctx context.Context, m store.MailboxRef, uids []uint32, fn func(store.MessageMeta) error) error {
	s.count("ListMessages")
	return s.inner.ListMessages(ctx, m, uids, fn)
}
func (s *callCounter) ListBodies(ctx context.Context, m store.MailboxRef, uids []uint32, fn func(store.MessageMeta, []byte) error) error {
	s.count("ListBodies")
	return s.inner.ListBodies(ctx, m, uids, fn)
}
func (s *callCounter) ReadBodies(ctx context.Context, m store.MailboxRef, uids []uint32, fn func(int64, uint32, []byte) error) error {
	s.count("ReadBodies")
	return s.inner.ReadBodies(ctx, m, uids, fn)
}
func (s *callCounter) ListParts(ctx context.Context, m store.MailboxRef, uids []uint32, fn func(store.MessageMeta, *message.Part) error) error {
	s.count("ListParts")
	return s.inner.ListParts(ctx, m, uids, fn)
}
func (s *callCounter) ReadHeaders(ctx context.Context, m store.MailboxRef, uids []uint32, fn func(int64, uint32, []byte) error) error {
	s.count("ReadHeaders")
	return s.inner.ReadHeaders(ctx, m, uids, fn)
}
func (s *callCounter) ListHeaders(ctx context.Context, m store.MailboxRef, uids []uint32, fn func(store.MessageMeta, []byte) error) error {
	s.count("ListHeaders")
	return s.inner.ListHeaders(ctx, m, uids, fn)
}
func (s *callCounter) MessageBody(ctx context.Context, m store.MailboxRef, id int64) ([]byte, error) {
	s.count("MessageBody")
	return s.inner.MessageBody(ctx, m, id)
}
func (s *callCounter) MessagePart(ctx context.Context, m store.MailboxRef, id int64) (*message.Part, error) {
	s.count("MessagePart")
	return s.inner.MessagePart(ctx, m, id)
}
func (s *callCounter) Replace(ctx context.Context, src store.MailboxRef, uid uint32, dst store.MailboxRef, msg store.NewMessage) (uint32, uint32, error) {
	s.count("Replace")
	return s.inner.Replace(ctx, src, uid, dst, msg)
}
func (s *callCounter) EmailIDs(ctx context.Context, m store.MailboxRef, uids []uint32) (map[uint32]int64, error) {
	s.count("EmailIDs")
	return s.inner.EmailIDs(ctx, m, uids)
}
func (s *callCounter) SaveDates(ctx context.Context, m store.MailboxRef, uids []uint32) (map[uint32]time.Time, error) {
	s.count("SaveDates")
	return s.inner.SaveDates(ctx, m, uids)
}
func (s *callCounter) SearchText(ctx context.Context, m store.MailboxRef, q store.TextQuery) (store.TextHits, bool, error) {
	s.count("SearchText")
	return s.inner.SearchText(ctx, m, q)
}
func (s *callCounter) UpdateFlags(ctx context.Context, m store.MailboxRef, uids []uint32, op store.FlagOp, flags []string, since uint64) ([]store.MessageMeta, []uint32, error) {
	s.count("UpdateFlags")
	return s.inner.UpdateFlags(ctx, m, uids, op, flags, since)
}
func (s *callCounter) Expunge(ctx context.Context, m store.MailboxRef, uids []uint32, onlyDeleted bool) ([]uint32, uint64, error) {
	s.count("Expunge")
	return s.inner.Expunge(ctx, m, uids, onlyDeleted)
}
func (s *callCounter) Copy(ctx context.Context, src store.MailboxRef, uids []uint32, dst store.MailboxRef) (uint32, []store.UIDPair, error) {
	s.count("Copy")
	return s.inner.Copy(ctx, src, uids, dst)
}
func (s *callCounter) Move(ctx context.Context, src store.MailboxRef, uids []uint32, dst store.MailboxRef) (uint32, []store.UIDPair, uint64, error) {
	s.count("Move")
	return s.inner.Move(ctx, src, uids, dst)
}
func (s *callCounter) Changes(ctx context.Context, m store.MailboxRef, since uint64) ([]store.MessageMeta, []uint32, uint64, error) {
	s.count("Changes")
	return s.inner.Changes(ctx, m, since)
}
func (s *callCounter) Watch(a int64) (<-chan store.Change, func()) {
	s.count("Watch")
	return s.inner.Watch(a)
}
func (s *callCounter) WatchFunc(a int64, fn func(store.Change)) func() {
	s.count("Watch")
	return s.inner.WatchFunc(a, fn)
}
func (s *callCounter) FeedCoversOtherProcesses() bool { return s.inner.FeedCoversOtherProcesses() }
func (s *callCounter) MailboxACL(ctx context.Context, m store.MailboxRef) ([]store.ACLEntry, error) {
	s.count("MailboxACL")
	return s.inner.MailboxACL(ctx, m)
}
func (s *callCounter) SetMailboxACL(ctx context.Context, m store.MailboxRef, id, rights string) error {
	s.count("SetMailboxACL")
	return s.inner.SetMailboxACL(ctx, m, id, rights)
}
func (s *callCounter) MailboxRights(ctx context.Context, viewer int64, m store.MailboxRef) (string, error) {
	s.count("MailboxRights")
	return s.inner.MailboxRights(ctx, viewer, m)
}
func (s *callCounter) SharedMailboxes(ctx context.Context, viewer int64) ([]store.SharedMailbox, error) {
	s.count("SharedMailboxes")
	return s.inner.SharedMailboxes(ctx, viewer)
}

// startCountingServer starts a test server whose store counts its calls.
func startCountingServer(t *testing.T) (*testServer, *callCounter) {
	t.Helper()
	cs := &callCounter{}
	ts := startTestServer(t, func(c *Config) {
		cs.inner = c.Store.(*sqlite.Store)
		c.Store = cs
	})
	return ts, cs
}

// twoOnInbox delivers n messages to the INBOX and returns two sessions
// that selected it, the first after ENABLE of ext.
func twoOnInbox(ts *testServer, n int, ext string) (*testConn, *testConn) {
	for range n {
		ts.deliver("INBOX", "Subject: hi\n\nbody\n")
	}
	tc, other := ts.login(), ts.login()
	tc.transactf("ok", "enable %s", ext)
	tc.transactf("ok", "select INBOX")
	other.transactf("ok", "select INBOX")
	return tc, other
}

// TestIdleCommandsReadNothing: on a mailbox where nothing changed, NOOP,
// IDLE/DONE and LOGOUT make no store call at all, however much time has
// passed (the change feed, which also carries other processes' commits,
// says nothing changed); after a delivery one NOOP reads the changes once.
// FETCH of flags and SEARCH on flags answer from the shared index without
// a store call then too. STORE +FLAGS on an idle mailbox is one write and
// no read (its result feeds the view and the shared index); another
// session still learns of it through the feed.
func TestIdleCommandsReadNothing(t *testing.T) {
	t.Parallel()
	cs := &callCounter{}
	var mu sync.Mutex
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	ts := startTestServer(t, func(c *Config) {
		cs.inner = c.Store.(*sqlite.Store)
		c.Store = cs
		c.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	})
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	for range 3 {
		ts.deliver("INBOX", "Subject: hi\n\nbody\n")
	}
	tc := ts.login()
	tc.transactf("ok", "select INBOX")
	cs.take()

	for i := range 5 {
		advance(10 * time.Second)
		if got := tc.transactf("ok", "noop"); len(got) != 0 {
			t.Errorf("noop %d: untagged %q on an unchanged mailbox", i, got)
		}
	}
	if n := cs.take(); total(n) != 0 {
		t.Errorf("5 NOOPs on an unchanged mailbox made store calls %v, want none", n)
	}

	tc.writeLine("i1 IDLE")
	if r := tc.readResponse(); !strings.HasPrefix(r, "+ ") {
		t.Fatalf("IDLE: %q", r)
	}
	advance(time.Minute)
	tc.writeLine("DONE")
	tc.readUntilTagged("i1", "ok")
	if n := cs.take(); total(n) != 0 {
		t.Errorf("IDLE/DONE with nothing changed made store calls %v, want none", n)
	}

	ts.deliver("INBOX", "Subject: new\n\nbody\n")
	got := tc.transactf("ok", "noop")
	hasLine(t, got, "* 4 EXISTS")
	if n := cs.take(); n["Changes"] != 1 || total(n) > 2 {
		// Changes, plus ClaimRecent for an IMAP4rev1 session's \Recent.
		t.Errorf("NOOP after a delivery made store calls %v, want one Changes (and at most ClaimRecent)", n)
	}
	if n := cs.take(); total(n) != 0 {
		t.Errorf("%v", n)
	}
	tc.transactf("ok", "noop")
	if n := cs.take(); total(n) != 0 {
		t.Errorf("second NOOP after a delivery made store calls %v, want none", n)
	}

	other := ts.login()
	other.transactf("ok", "select INBOX")
	cs.take()
	tc.transactf("ok", `store 1 +flags (\Seen)`)
	storeCalls := cs.take()
	t.Logf("STORE +FLAGS store calls: %v", storeCalls)
	if storeCalls["UpdateFlags"] != 1 || total(storeCalls) != 1 {
		t.Errorf("STORE +FLAGS made store calls %v, want one UpdateFlags and no read", storeCalls)
	}

	// The other session learns of it through the feed: one Changes.
	got = other.transactf("ok", "noop")
	hasLine(t, got, `* 1 FETCH (UID 1 FLAGS (\Seen))`)
	if n := cs.take(); n["Changes"] != 1 || total(n) != 1 {
		t.Errorf("NOOP in another session after a STORE made store calls %v, want one Changes", n)
	}
	tc.transactf("ok", "noop")
	if n := cs.take(); total(n) != 0 {
		t.Errorf("NOOP after the session's own STORE made store calls %v, want none", n)
	}
	got = tc.transactf("ok", "fetch 1:* (uid flags)")
	hasLine(t, got, `* 1 FETCH (UID 1 FLAGS (\Seen \Recent))`)
	tc.transactf("ok", "search unseen")
	if n := cs.take(); total(n) != 0 {
		t.Errorf("FETCH FLAGS and SEARCH UNSEEN on an unchanged mailbox made store calls %v, want none (the index is fresh)", n)
	}

	tc.writeLine("z LOGOUT")
	tc.readUntilTagged("z", "ok")
	if n := cs.take(); total(n) != 0 {
		t.Errorf("LOGOUT made store calls %v, want none", n)
	}
}

// TestOwnStoreAfterOthersReadsTheirs: a STORE whose write finds another
// session's change before it (the view is behind the mailbox) is not
// taken as all that happened: the session reads Changes and reports the
// other change too, at the end of its STORE, and again nothing at the
// next NOOP.
func TestOwnStoreAfterOthersReadsTheirs(t *testing.T) {
	t.Parallel()
	ts, cs := startCountingServer(t)
	for range 2 {
		ts.deliver("INBOX", "Subject: hi\n\nbody\n")
	}
	a, b := ts.login(), ts.login()
	a.transactf("ok", "select INBOX")
	b.transactf("ok", "select INBOX")
	b.transactf("ok", `store 2 +flags.silent (\Flagged)`)
	cs.take()

	got := a.transactf("ok", `store 1 +flags.silent (\Seen)`)
	hasLine(t, got, `* 2 FETCH (UID 2 FLAGS (\Flagged \Recent))`)
	noLine(t, got, `* 1 FETCH`)
	if n := cs.take(); n["UpdateFlags"] != 1 || n["Changes"] != 1 || total(n) != 2 {
		t.Errorf("STORE after another session's change made store calls %v, want UpdateFlags and one Changes", n)
	}
	if got := a.transactf("ok", "noop"); len(got) != 0 {
		t.Errorf("NOOP after the sync: %q", got)
	}
	got = a.transactf("ok", "fetch 1:2 (flags)")
	hasLine(t, got, `* 1 FETCH (FLAGS (\Seen \Recent))`)
	hasLine(t, got, `* 2 FETCH (FLAGS (\Flagged \Recent))`)

	// And the other way round: b learns of a's change.
	got = b.transactf("ok", "noop")
	hasLine(t, got, `* 1 FETCH (UID 1 FLAGS (\Seen))`)
}

func (s *callCounter) GetMetadata(ctx context.Context, a, mb int64, names []string, depth int) ([]store.MetadataEntry, error) {
	s.count("GetMetadata")
	return s.inner.GetMetadata(ctx, a, mb, names, depth)
}
func (s *callCounter) SetMetadata(ctx context.Context, a, mb int64, es []store.MetadataEntry, maxEntries int) error {
	s.count("SetMetadata")
	return s.inner.SetMetadata(ctx, a, mb, es, maxEntries)
}
func (s *callCounter) URLAuthKey(ctx context.Context, m store.MailboxRef, newKey []byte) ([]byte, error) {
	s.count("URLAuthKey")
	return s.inner.URLAuthKey(ctx, m, newKey)
}
func (s *callCounter) DeleteURLAuthKeys(ctx context.Context, a, mb int64) error {
	s.count("DeleteURLAuthKeys")
	return s.inner.DeleteURLAuthKeys(ctx, a, mb)
}
func (s *callCounter) AccountByEmail(ctx context.Context, email string) (store.Account, error) {
	s.count("AccountByEmail")
	return s.inner.AccountByEmail(ctx, email)
}

// TestIdleFanOutReadsOnce: a delivery to a mailbox that many sessions
// idle on costs O(1) store calls, not one per session (issue 15 item 3):
// the first session woken reads the change into the mailbox's shared
// index and the others answer `* n EXISTS` from it; one IMAP4rev1
// session claims \Recent, the others know the claim moved past what
// they can see. Every session still gets the new EXISTS, and afterwards
// sees the message's flags as the store has them.
func TestIdleFanOutReadsOnce(t *testing.T) {
	t.Parallel()
	ts, cs := startCountingServer(t)
	ts.deliver("INBOX", "Subject: first\n\nbody\n")
	const n = 30
	conns := idleOnInbox(t, ts, n)
	for round := 2; round <= 3; round++ {
		cs.take()
		ts.deliver("INBOX", "Subject: next\n\nbody\n")
		for i, tc := range conns {
			// Each session gets EXISTS with the new count (and RECENT
			// for IMAP4rev1), in any order with nothing else.
			want := fmt.Sprintf("* %d EXISTS", round)
			for {
				r := strings.TrimRight(tc.readResponse(), "\r\n")
				if r == want {
					break
				}
				if f := strings.Fields(r); len(f) != 3 || f[0] != "*" || f[2] != "RECENT" {
					t.Fatalf("session %d, delivery %d: %q while waiting for %q", i, round, r, want)
				}
			}
		}
		calls := cs.take()
		// O(1), not O(n): usually 1 Changes; under load a session woken
		// after the index moved on takes a later feed tick and reads
		// again, so allow a few, far below n.
		if calls["Changes"] > 4 || calls["ClaimRecent"] > 2 || total(calls) > 6 {
			t.Errorf("delivery %d to %d idling sessions made store calls %v, want O(1) (at most 4 Changes, 2 ClaimRecent)", round, n, calls)
		}
	}
	// \Recent went to exactly one session per message.
	recent := 0
	for i, tc := range conns {
		tc.writeLine("DONE")
		tc.readUntilTagged(fmt.Sprintf("i%d", i), "ok")
		for _, line := range tc.transactf("ok", "search recent") {
			recent += len(strings.Fields(line)) - 2 // "* SEARCH" then the numbers
		}
	}
	if recent != 3 {
		t.Errorf("%d sessions see %d messages as \\Recent in all, want 3 (each in one session: the first SELECT took the first)", n, recent)
	}
	got := conns[0].transactf("ok", "fetch 1:* (uid flags)")
	if len(got) != 3 {
		t.Errorf("FETCH 1:* after the deliveries: %q, want 3 messages", got)
	}
}

// TestOwnExpungeReadsNothing: EXPUNGE and UID EXPUNGE on an idle mailbox
// are one write and no read (the write's result feeds the view and the
// shared index), with CONDSTORE's HIGHESTMODSEQ taken from it too;
// another session still learns of them through the feed, and the
// session's next commands read nothing.
func TestOwnExpungeReadsNothing(t *testing.T) {
	t.Parallel()
	ts, cs := startCountingServer(t)
	tc, other := twoOnInbox(ts, 5, "condstore")
	tc.transactf("ok", `store 1,3,5 +flags.silent (\Deleted)`)
	other.transactf("ok", "noop")
	tc.transactf("ok", "noop")
	cs.take()

	got := tc.transactf("ok", "uid expunge 5")
	if n := cs.take(); n["Expunge"] != 1 || total(n) != 1 {
		t.Errorf("UID EXPUNGE made store calls %v, want one Expunge and no read", n)
	}
	if len(got) != 1 || got[0] != "* 5 EXPUNGE" {
		t.Errorf("UID EXPUNGE 5: untagged %q, want [* 5 EXPUNGE]", got)
	}
	got = tc.transactf("ok", "expunge")
	if n := cs.take(); n["Expunge"] != 1 || total(n) != 1 {
		t.Errorf("EXPUNGE made store calls %v, want one Expunge and no read", n)
	}
	if len(got) != 2 || got[0] != "* 3 EXPUNGE" || got[1] != "* 1 EXPUNGE" {
		t.Errorf("EXPUNGE: untagged %q, want [* 3 EXPUNGE * 1 EXPUNGE]", got)
	}
	st, err := cs.inner.MailboxStatus(t.Context(), mustInbox(t, ts))
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("[HIGHESTMODSEQ %d]", st.HighestModSeq); !strings.Contains(tc.lastTagged, want) {
		t.Errorf("EXPUNGE: tagged %q, want %s", tc.lastTagged, want)
	}
	tc.transactf("ok", "noop")
	got = tc.transactf("ok", "fetch 1:* (uid flags)")
	if n := cs.take(); total(n) != 0 {
		t.Errorf("NOOP and FETCH FLAGS after the session's own EXPUNGE made store calls %v, want none", n)
	}
	if len(got) != 2 || got[0] != `* 1 FETCH (UID 2 FLAGS (\Recent))` || got[1] != `* 2 FETCH (UID 4 FLAGS (\Recent))` {
		t.Errorf("FETCH after EXPUNGE: %q", got)
	}

	// The other session learns of them through the feed: one Changes.
	got = other.transactf("ok", "noop")
	if len(got) != 3 || got[0] != "* 5 EXPUNGE" {
		t.Errorf("NOOP in another session after the EXPUNGEs: %q, want three EXPUNGEs", got)
	}
	if n := cs.take(); n["Changes"] != 1 || total(n) != 1 {
		t.Errorf("NOOP in another session after the EXPUNGEs made store calls %v, want one Changes", n)
	}
}

// TestOwnExpungeAfterOthersReadsTheirs: as TestOwnStoreAfterOthersReadsTheirs
// for EXPUNGE: another session's change before it is read with Changes
// and reported, and the next NOOP reports nothing again.
func TestOwnExpungeAfterOthersReadsTheirs(t *testing.T) {
	t.Parallel()
	ts, cs := startCountingServer(t)
	for range 2 {
		ts.deliver("INBOX", "Subject: hi\n\nbody\n")
	}
	a, b := ts.login(), ts.login()
	a.transactf("ok", "select INBOX")
	b.transactf("ok", "select INBOX")
	a.transactf("ok", `store 1 +flags.silent (\Deleted)`)
	b.transactf("ok", `store 2 +flags.silent (\Flagged)`)
	cs.take()

	got := a.transactf("ok", "expunge")
	if len(got) != 2 || got[0] != "* 1 EXPUNGE" || got[1] != `* 1 FETCH (UID 2 FLAGS (\Flagged \Recent))` {
		t.Errorf("EXPUNGE after another session's change: untagged %q", got)
	}
	if n := cs.take(); n["Expunge"] != 1 || n["Changes"] != 1 || total(n) != 2 {
		t.Errorf("EXPUNGE after another session's change made store calls %v, want Expunge and one Changes", n)
	}
	if got := a.transactf("ok", "noop"); len(got) != 0 {
		t.Errorf("NOOP after the sync: %q", got)
	}
}

// TestOwnMoveCopyAppendReadNothing: MOVE out of the selected mailbox of
// an idle session is one write (after the lookup of the destination's
// name) and no read: its result feeds the view and the shared index
// although the feed reports two changes (source and destination). COPY
// and APPEND into another mailbox are one write too, and the session's
// next NOOP and FETCH FLAGS read nothing; another session still learns
// of the MOVE through the feed.
func TestOwnMoveCopyAppendReadNothing(t *testing.T) {
	t.Parallel()
	ts, cs := startCountingServer(t)
	tc, other := twoOnInbox(ts, 4, "qresync")
	cs.take()

	writeOnly := func(what, write string) {
		t.Helper()
		n := cs.take()
		if n[write] != 1 || n["MailboxByName"] != 1 || total(n) != 2 {
			t.Errorf("%s made store calls %v, want MailboxByName and one %s, no read", what, n, write)
		}
	}
	got := tc.transactf("ok", "uid move 2 Archive")
	writeOnly("UID MOVE", "Move")
	if len(got) != 3 || !strings.HasPrefix(got[0], "* OK [COPYUID ") || got[1] != "* VANISHED 2" || !strings.HasPrefix(got[2], "* OK [HIGHESTMODSEQ ") {
		t.Errorf("UID MOVE 2: untagged %q, want COPYUID, VANISHED 2, HIGHESTMODSEQ", got)
	}
	st, err := cs.inner.MailboxStatus(t.Context(), mustInbox(t, ts))
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("* OK [HIGHESTMODSEQ %d]", st.HighestModSeq); len(got) == 3 && !strings.HasPrefix(got[2], want) {
		t.Errorf("UID MOVE: %q, want %s", got[2], want)
	}
	got = tc.transactf("ok", "move 1 Archive")
	writeOnly("MOVE", "Move")
	if len(got) != 3 || got[1] != "* VANISHED 1" {
		t.Errorf("MOVE 1: untagged %q", got)
	}
	tc.transactf("ok", "copy 1 Archive")
	writeOnly("COPY", "Copy")
	tc.transactf("ok", "append Archive {5+}\r\nhi\r\n\r\n")
	writeOnly("APPEND", "Append")

	got = tc.transactf("ok", "noop")
	got = append(got, tc.transactf("ok", "fetch 1:* (uid flags)")...)
	if n := cs.take(); total(n) != 0 {
		t.Errorf("NOOP and FETCH FLAGS after the session's own MOVE, COPY and APPEND made store calls %v, want none", n)
	}
	if len(got) != 2 || got[0] != `* 1 FETCH (UID 3 FLAGS (\Recent))` || got[1] != `* 2 FETCH (UID 4 FLAGS (\Recent))` {
		t.Errorf("NOOP, FETCH after MOVE: %q", got)
	}

	// The other session learns of the MOVEs through the feed.
	got = other.transactf("ok", "noop")
	if len(got) != 2 || got[0] != "* 2 EXPUNGE" || got[1] != "* 1 EXPUNGE" {
		t.Errorf("NOOP in another session after the MOVEs: %q, want two EXPUNGEs", got)
	}
	if n := cs.take(); n["Changes"] != 1 || total(n) != 1 {
		t.Errorf("NOOP in another session after the MOVEs made store calls %v, want one Changes", n)
	}
}

// TestIdleWakeQueuesWithoutBuffer: when a delivery wakes many idlers and
// one of them is held up claiming \Recent (a store write), the others
// queue for the claim without a write buffer each (issue 15 target 3: at
// 10,000 idlers those were 40 MB of fresh buffers, a quarter of the
// fan-out's CPU); once the claim is done every idler gets EXISTS, and
// exactly one of them RECENT 1.
func TestIdleWakeQueuesWithoutBuffer(t *testing.T) {
	t.Parallel()
	ts, cs := startCountingServer(t)
	const n = 20
	conns := idleOnInbox(t, ts, n)
	// The last session gives its buffer back just after "+ idling".
	for deadline := time.Now().Add(30 * time.Second); ts.srv.writersOut.Load() != 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d write buffers lent out with every session idling, want 0", ts.srv.writersOut.Load())
		}
	}
	entered, release := make(chan struct{}, n), make(chan struct{})
	cs.mu.Lock()
	cs.claimGate = func() { entered <- struct{}{}; <-release }
	cs.mu.Unlock()
	ts.deliver("INBOX", "Subject: wake\n\nbody\n")
	<-entered
	// Every session has taken its wake-up, so it is past the point where
	// it used to borrow a buffer, and (but for the claimer) waits for the
	// claim.
	woken := func() bool {
		ts.srv.mu.Lock()
		defer ts.srv.mu.Unlock()
		for c := range ts.srv.conns {
			if c.pending.Load() != noChange {
				return false
			}
		}
		return true
	}
	for deadline := time.Now().Add(30 * time.Second); !woken(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the idlers did not all wake up")
		}
	}
	out := ts.srv.writersOut.Load()
	close(release)
	if out != 0 {
		t.Errorf("%d write buffers lent out while %d woken idlers wait for the \\Recent claim, want 0", out, n)
	}
	recent := 0
	for i, tc := range conns {
		if r := strings.TrimRight(tc.readResponse(), "\r\n"); r != "* 1 EXISTS" {
			t.Fatalf("session %d: %q, want * 1 EXISTS", i, r)
		}
		switch r := strings.TrimRight(tc.readResponse(), "\r\n"); r {
		case "* 1 RECENT":
			recent++
		case "* 0 RECENT":
		default:
			t.Fatalf("session %d: %q after EXISTS, want RECENT", i, r)
		}
	}
	if recent != 1 {
		t.Errorf("%d sessions got * 1 RECENT, want exactly 1", recent)
	}
}

// idleOnInbox returns n sessions that selected the INBOX and idle (tags
// i0, i1, ...).
func idleOnInbox(t *testing.T, ts *testServer, n int) []*testConn {
	t.Helper()
	conns := make([]*testConn, n)
	for i := range conns {
		conns[i] = ts.login()
		conns[i].transactf("ok", "select INBOX")
		conns[i].writeLine("i%d IDLE", i)
		if r := conns[i].readResponse(); !strings.HasPrefix(r, "+ ") {
			t.Fatalf("IDLE %d: %q", i, r)
		}
	}
	return conns
}
