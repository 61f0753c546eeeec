package pop3server

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/mailroom/mailroom/internal/authtest"
	"github.com/mailroom/mailroom/message"
	"github.com/mailroom/mailroom/store"
	"github.com/mailroom/mailroom/store/mboxindex"
	"github.com/mailroom/mailroom/store/sqlite"
	"github.com/mailroom/mailroom/store/storetest"
)

// newSQLiteServer serves a real SQLite store holding testUser with msgs
// delivered to the INBOX.
func newSQLiteServer(t testing.TB, msgs ...string) (*testServer, *sqlite.Store) {
	t.Helper()
	return newSQLiteServerAt(t, filepath.Join(t.TempDir(), "mail.db"), msgs...)
}

// newSQLiteServerAt is newSQLiteServer with the database file at path.
func newSQLiteServerAt(t testing.TB, path string, msgs ...string) (*testServer, *sqlite.Store) {
	t.Helper()
	st, err := sqlite.OpenWith(t.Context(), path, nil, sqlite.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	hash := authtest.Credentials(testPass)
	acct, err := st.CreateAccount(t.Context(), testUser, hash)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		raw := []byte(m)
		if _, err := st.Deliver(t.Context(), []store.Target{{AccountID: acct.ID}}, store.NewMessage{Raw: raw, Part: message.Parse(raw)}); err != nil {
			t.Fatal(err)
		}
	}
	return startServer(t, st, st, acct, nil), st
}

func TestSQLiteSession(t *testing.T) {
	dots := "Subject: dots\r\n\r\n.\r\n.leading\r\n"
	ts, st := newSQLiteServer(t, msgFirst, msgMultipart, dots)
	ctx := t.Context()
	inbox, err := st.MailboxByName(ctx, ts.acct.ID, store.Inbox)
	if err != nil {
		t.Fatal(err)
	}
	uids, err := storetest.UIDs(ctx, st, inbox.Ref())
	if err != nil || len(uids) != 3 {
		t.Fatalf("UIDs %v, %v", uids, err)
	}
	uidl := func(n int, uid uint32) string { return fmt.Sprintf("%d %d.%d", n, inbox.UIDValidity, uid) }
	total := len(msgFirst) + len(msgMultipart) + len(dots)

	c := ts.login(t)
	c.expect("STAT", fmt.Sprintf("+OK 3 %d", total))
	c.expect("LIST", fmt.Sprintf("+OK 3 messages (%d octets)", total))
	if got, want := c.lines(), []string{
		fmt.Sprintf("1 %d", len(msgFirst)), fmt.Sprintf("2 %d", len(msgMultipart)), fmt.Sprintf("3 %d", len(dots)),
	}; !slices.Equal(got, want) {
		t.Fatalf("LIST: %q, want %q", got, want)
	}
	c.expect("RETR 2", fmt.Sprintf("+OK %d octets", len(msgMultipart)))
	if got := c.data(); got != msgMultipart {
		t.Fatalf("RETR 2: %q", got)
	}
	c.expect("RETR 3", fmt.Sprintf("+OK %d octets", len(dots)))
	if got := c.data(); got != "Subject: dots\r\n\r\n..\r\n..leading\r\n" {
		t.Fatalf("RETR 3: %q", got)
	}
	c.expect("UIDL", "+OK unique-id listing follows")
	if got, want := c.lines(), []string{uidl(1, uids[0]), uidl(2, uids[1]), uidl(3, uids[2])}; !slices.Equal(got, want) {
		t.Fatalf("UIDL: %q, want %q", got, want)
	}

	// DELE then a dropped connection deletes nothing.
	c.expect("DELE 1", "+OK message 1 deleted")
	c.conn.Close()
	c = loginEventually(t, ts)
	c.expect("STAT", fmt.Sprintf("+OK 3 %d", total))

	// A second session is refused while this one holds the maildrop.
	c2 := ts.dial(t)
	c2.expect("AUTH PLAIN "+plainIR("", testUser, testPass), "-ERR [IN-USE] maildrop already locked by another session")

	// DELE then QUIT expunges; the others keep their unique ids.
	c.expect("DELE 1", "+OK message 1 deleted")
	c.expect("QUIT", "+OK pop.example.com POP3 server signing off")
	c.closed()
	if got, _ := storetest.UIDs(ctx, st, inbox.Ref()); !slices.Equal(got, uids[1:]) {
		t.Fatalf("UIDs after QUIT: %v, want %v", got, uids[1:])
	}
	c2.expect("AUTH PLAIN "+plainIR("", testUser, testPass), "+OK maildrop locked and ready")
	c2.expect("UIDL", "+OK unique-id listing follows")
	if got, want := c2.lines(), []string{uidl(1, uids[1]), uidl(2, uids[2])}; !slices.Equal(got, want) {
		t.Fatalf("UIDL after QUIT: %q, want %q", got, want)
	}
	c2.expect("TOP 1 0", "+OK top of message follows")
	if got := c2.data(); !strings.HasSuffix(got, "boundary=\"XXXX\"\r\n\r\n") {
		t.Fatalf("TOP 1 0: %q", got)
	}
}

// TestSQLiteLineEndings: with a real store, STAT and LIST of messages with
// bare LFs, bare CRs and no final line ending report exactly the octets
// RETR then sends (RFC 1939 §5), from the size counted at delivery.
func TestSQLiteLineEndings(t *testing.T) {
	raws := []string{
		"Subject: lf\n\nline one\n.dot\nline two\n",
		"Subject: eol\r\n\r\nno final newline",
		"Subject: mixed\n\r\nbare\rCR\n\n",
	}
	ts, _ := newSQLiteServer(t, raws...)
	wants := []string{
		"Subject: lf\r\n\r\nline one\r\n.dot\r\nline two\r\n",
		"Subject: eol\r\n\r\nno final newline\r\n",
		"Subject: mixed\r\n\r\nbare\rCR\r\n\r\n",
	}
	total := 0
	for _, w := range wants {
		total += len(w)
	}
	c := ts.login(t)
	c.expect("STAT", fmt.Sprintf("+OK 3 %d", total))
	c.expect("LIST", fmt.Sprintf("+OK 3 messages (%d octets)", total))
	if got, want := c.lines(), []string{
		fmt.Sprintf("1 %d", len(wants[0])), fmt.Sprintf("2 %d", len(wants[1])), fmt.Sprintf("3 %d", len(wants[2])),
	}; !slices.Equal(got, want) {
		t.Fatalf("LIST: %q, want %q", got, want)
	}
	for i, want := range wants {
		c.expect(fmt.Sprintf("LIST %d", i+1), fmt.Sprintf("+OK %d %d", i+1, len(want)))
		c.expect(fmt.Sprintf("RETR %d", i+1), fmt.Sprintf("+OK %d octets", len(want)))
		if got := unstuff(c.data()); got != want {
			t.Fatalf("RETR %d: %q, want %q", i+1, got, want)
		}
	}
}

// listCounter counts the maildrop listings read from the store directly.
type listCounter struct {
	*sqlite.Store
	lists atomic.Int64
}

func (s *listCounter) ListMessages(ctx context.Context, m store.MailboxRef, uids []uint32, fn func(store.MessageMeta) error) error {
	s.lists.Add(1)
	return s.Store.ListMessages(ctx, m, uids, fn)
}

// TestSQLiteIndexListing: with Config.Index (the mailbox index the IMAP
// sessions share), the maildrop listing at login comes from the index,
// not from a ListMessages of the INBOX, and is as fresh: a delivery and
// a DELE of an earlier session show at the next login.
func TestSQLiteIndexListing(t *testing.T) {
	_, st := newSQLiteServer(t, msgFirst, msgMultipart)
	acct, err := st.AccountByEmail(t.Context(), testUser)
	if err != nil {
		t.Fatal(err)
	}
	lc := &listCounter{Store: st}
	cache := mboxindex.NewCache(st, 0)
	ts := startServer(t, lc, st, acct, func(c *Config) { c.Index = cache })

	c := ts.login(t)
	c.expect("STAT", fmt.Sprintf("+OK 2 %d", len(msgFirst)+len(msgMultipart)))
	c.expect("DELE 1", "+OK message 1 deleted")
	c.expect("QUIT", "+OK pop.example.com POP3 server signing off")
	raw := []byte("Subject: new\r\n\r\nhi\r\n")
	if _, err := st.Deliver(t.Context(), []store.Target{{AccountID: acct.ID}}, store.NewMessage{Raw: raw, Part: message.Parse(raw)}); err != nil {
		t.Fatal(err)
	}
	c = ts.login(t)
	c.expect("STAT", fmt.Sprintf("+OK 2 %d", len(msgMultipart)+len(raw)))
	c.expect("RETR 2", fmt.Sprintf("+OK %d octets", len(raw)))
	if got := c.data(); got != string(raw) {
		t.Fatalf("RETR 2: %q", got)
	}
	if n := lc.lists.Load(); n != 0 {
		t.Errorf("%d ListMessages calls with an index, want 0", n)
	}
	if n := cache.Len(); n != 1 {
		t.Errorf("%d indexes cached, want the INBOX's", n)
	}
}

var _ bodyStreamer = (*sqlite.Store)(nil)

// TestSQLiteRetrReadAhead: downloading in order from SQLite (read ahead
// through ReadBodies, in batches of readAheadBytes) gives every message
// exactly, a message larger than a batch too, and -ERR [SYS/TEMP] for one
// expunged before it was read.
func TestSQLiteRetrReadAhead(t *testing.T) {
	var raws []string
	for i := range 40 {
		raws = append(raws, fmt.Sprintf("Subject: m%d\r\n\r\n.dot\r\n%s\r\n", i, strings.Repeat("b", i*997)))
	}
	raws = append(raws, "Subject: big\r\n\r\n"+strings.Repeat(strings.Repeat("y", 998)+"\r\n", readAheadBytes/1000+10))
	raws = append(raws, "Subject: last\r\n\r\nlast\r\n")
	ts, st := newSQLiteServer(t, raws...)
	c := ts.login(t)
	inbox, err := st.MailboxByName(t.Context(), ts.acct.ID, store.Inbox)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.Expunge(t.Context(), inbox.Ref(), []uint32{30}, false); err != nil {
		t.Fatal(err)
	}
	for n := 1; n <= len(raws); n++ {
		if n == 30 {
			c.expect("RETR 30", "-ERR [SYS/TEMP] message no longer available")
			continue
		}
		c.retrExact(n, raws[n-1])
	}
}

// TestSQLiteRetrWhileExpunged: another protocol (IMAP EXPUNGE) removes
// messages while a client downloads in order: every RETR sends either the
// message's exact bytes (it was read ahead before the expunge) or -ERR
// [SYS/TEMP], never other bytes; the messages left are all served
// exactly, and the ones expunged before the download reached their batch
// are refused.
func TestSQLiteRetrWhileExpunged(t *testing.T) {
	var raws []string
	for i := range 60 {
		raws = append(raws, fmt.Sprintf("Subject: m%d\r\n\r\n.dot\r\n%s\r\n", i, strings.Repeat(fmt.Sprintf("line %d\r\n", i), 2000)))
	}
	ts, st := newSQLiteServer(t, raws...)
	inbox, err := st.MailboxByName(t.Context(), ts.acct.ID, store.Inbox)
	if err != nil {
		t.Fatal(err)
	}
	c := ts.login(t)
	var gone []uint32
	for uid := uint32(12); uid <= 60; uid += 3 {
		gone = append(gone, uid)
	}
	for n := 1; n <= len(raws); n++ {
		if n == 5 {
			// Batches of about 16 messages: the second is read ahead by
			// now or being read, the later ones are not.
			if _, _, err := st.Expunge(t.Context(), inbox.Ref(), gone, false); err != nil {
				t.Fatal(err)
			}
		}
		if !slices.Contains(gone, uint32(n)) {
			c.retrExact(n, raws[n-1])
			continue
		}
		if l := c.cmd(fmt.Sprintf("RETR %d", n)); l == fmt.Sprintf("+OK %d octets", len(raws[n-1])) {
			if got := unstuff(c.data()); got != raws[n-1] || n > 40 {
				t.Fatalf("RETR %d of a message expunged (before the download's batch, past 40) sent %d bytes", n, len(got))
			}
		} else if l != "-ERR [SYS/TEMP] message no longer available" {
			t.Fatalf("RETR %d: %q", n, l)
		}
	}
}
