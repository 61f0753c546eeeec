package transfer

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mailroom/mailroom/internal/pgtest"
	"github.com/mailroom/mailroom/store"
	"github.com/mailroom/mailroom/store/postgres"
	"github.com/mailroom/mailroom/store/sqlite"
)

// fillStore gives st some of everything migrate must carry: accounts
// (one deleted, so ids have gaps), folders, messages with flags and
// keywords, an expunge tombstone, kept UIDs, subscriptions, Sieve scripts
// and state, and a queued message with a lease and per-recipient state.
func fillStore(t *testing.T, st store.Store) {
	t.Helper()
	ctx := context.Background()
	gone := account(t, st, "gone@example.test")
	a := sourceAccount(t, st, "a@example.test") // logs in over IMAP
	b := account(t, st, "b@example.test")
	if err := st.DeleteAccount(ctx, gone.Email); err != nil {
		t.Fatal(err)
	}
	inbox, _ := st.MailboxByName(ctx, a.ID, "INBOX")
	if _, _, err := st.Append(ctx, inbox.Ref(), []store.NewMessage{
		newMsg(msg("m1", "one", "1\r\n"), t1, store.FlagSeen, "$Work"),
		newMsg(msg("m2", "two", "2\r\n"), t2),
		newMsg(msg("m3", "three", "3\r\n"), t2, store.FlagDraft),
	}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.UpdateFlags(ctx, inbox.Ref(), []uint32{2}, store.FlagsAdd, []string{store.FlagDeleted, "Later"}, 0); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.Expunge(ctx, inbox.Ref(), []uint32{3}, false); err != nil {
		t.Fatal(err)
	}
	lists, err := st.CreateMailbox(ctx, a.ID, "Lists/go", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.SetUIDValidity(ctx, lists.Ref(), 4242); err != nil {
		t.Fatal(err)
	}
	lists.UIDValidity = 4242
	if _, err := st.AppendUIDs(ctx, lists.Ref(), []store.NewMessage{newMsg(msg("g1", "go", "g\r\n"), t1)}, []uint32{77}); err != nil {
		t.Fatal(err)
	}
	if err := st.SetSubscribed(ctx, a.ID, "Lists/go", true); err != nil {
		t.Fatal(err)
	}
	if err := st.SetSubscribed(ctx, a.ID, "Trash", false); err != nil {
		t.Fatal(err)
	}
	if _, err := st.PutSieveScript(ctx, b.ID, "main", []byte("keep;\r\n")); err != nil {
		t.Fatal(err)
	}
	if _, err := st.PutSieveScript(ctx, b.ID, "other", []byte("discard;\r\n")); err != nil {
		t.Fatal(err)
	}
	if err := st.ActivateSieveScript(ctx, b.ID, "main"); err != nil {
		t.Fatal(err)
	}
	if err := st.RecordSieveState(ctx, b.ID, "vacation", "h", "x@example.test", t1, t2); err != nil {
		t.Fatal(err)
	}
	id, err := st.Enqueue(ctx, store.QueuedMessage{From: "a@example.test", Recipients: []string{"x@remote.test", "y@remote.test"}, Raw: []byte(msg("q1", "queued", "q\r\n")), Created: t1})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.UpdateQueueRecipients(ctx, id, []store.QueueRecipient{{Addr: "x@remote.test", Status: store.RcptDelivered, Attempts: 1, LastError: "250 ok", NextAttempt: t2}}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.ClaimQueue(ctx, "node1", t2, time.Hour, 10); err != nil {
		t.Fatal(err)
	}
}

// dumpRows returns st's dump without the counters (which a backend may
// hold for more tables than another).
func dumpRows(t *testing.T, st store.Dumper) []store.DumpRow {
	t.Helper()
	var out []store.DumpRow
	if err := st.Dump(context.Background(), func(r store.DumpRow) error {
		if store.DumpTables[r.Table].Name != "counters" {
			out = append(out, r)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestMigrateRoundTrip migrates SQLite -> PostgreSQL -> SQLite: every
// row comes back identical, Verify finds both sides equal at each step,
// ids and UIDVALIDITYs are not handed out again afterwards, and a
// non-empty target is refused.
func TestMigrateRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src := openStore(t)
	fillStore(t, src)
	want := dumpRows(t, src)

	pg, err := postgres.Open(ctx, pgtest.DSN(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	var progressed int
	stats, err := Migrate(ctx, src, pg, func(MigrateStats) { progressed++ })
	if err != nil {
		t.Fatal(err)
	}
	if stats.Rows["accounts"] != 2 || stats.Rows["messages"] != 3 || stats.Rows["queue"] != 1 || progressed == 0 {
		t.Fatalf("stats %+v, %d progress calls", stats, progressed)
	}
	t.Logf("migrated %v, %d bytes, %d rows compared", stats.Rows, stats.Bytes, len(want))
	fp, err := Verify(ctx, src, pg)
	if err != nil {
		t.Fatal(err)
	}
	if fp.Accounts != 2 || fp.Messages != 3 || fp.QueueItems != 1 || fp.SieveScripts != 2 {
		t.Fatalf("fingerprint %+v", fp)
	}
	if got := dumpRows(t, pg); !reflect.DeepEqual(got, want) {
		t.Fatalf("PostgreSQL rows differ from SQLite's:\n%v\nwant\n%v", got, want)
	}

	back, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "back.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer back.Close()
	if _, err := Migrate(ctx, pg, back, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(ctx, src, back); err != nil {
		t.Fatal(err)
	}
	if got := dumpRows(t, back); !reflect.DeepEqual(got, want) {
		t.Fatalf("rows after the round trip differ:\n%v\nwant\n%v", got, want)
	}

	// A QRESYNC client resumes on the new store as on the old one: the
	// same untagged responses to SELECT ... (QRESYNC ...) from both, the
	// expunge before its modseq reported VANISHED, nothing after the
	// current HIGHESTMODSEQ.
	srcAddr, pgAddr := serveIMAP(t, src, false), serveIMAP(t, pg, false)
	inbox, _ := src.MailboxByName(ctx, 2, "INBOX")
	old := qresyncSelect(t, srcAddr, inbox.UIDValidity, 1)
	if got := qresyncSelect(t, pgAddr, inbox.UIDValidity, 1); !reflect.DeepEqual(got, old) {
		t.Fatalf("QRESYNC SELECT after the migration:\n%q\nbefore:\n%q", got, old)
	}
	if !slices.ContainsFunc(old, func(r []string) bool { return reflect.DeepEqual(r, []string{"VANISHED", "(EARLIER)", "3"}) }) {
		t.Fatalf("no VANISHED (EARLIER) 3 for the expunged message in %q", old)
	}
	for _, r := range qresyncSelect(t, pgAddr, inbox.UIDValidity, inbox.HighestModSeq) {
		if r[0] == "VANISHED" || (len(r) > 1 && r[1] == "FETCH") {
			t.Fatalf("a client up to date sees a change after the migration: %q", r)
		}
	}

	// Ids and UIDVALIDITYs go on after the source's, also past the
	// deleted account's id.
	for _, st := range []store.Store{pg, back} {
		c := account(t, st, "c@example.test")
		if c.ID <= 3 {
			t.Errorf("new account got id %d, at or below the source's last (3)", c.ID)
		}
		m, err := st.CreateMailbox(ctx, c.ID, "New", "")
		if err != nil {
			t.Fatal(err)
		}
		srcMs, _ := src.Mailboxes(ctx, 2)
		for _, sm := range srcMs {
			if m.UIDValidity <= sm.UIDValidity && sm.UIDValidity != 4242 {
				t.Errorf("new mailbox UIDVALIDITY %d not above the source's %d", m.UIDValidity, sm.UIDValidity)
			}
		}
	}
	// A target that holds something is refused, and left alone.
	before := dumpRows(t, back)
	if _, err := Migrate(ctx, src, back, nil); !errors.Is(err, store.ErrExists) {
		t.Fatalf("migrate into a non-empty store: %v", err)
	}
	if after := dumpRows(t, back); !reflect.DeepEqual(after, before) {
		t.Fatal("a refused migrate changed the target")
	}
}

// qresyncSelect logs in as a@example.test at addr, enables QRESYNC and
// selects INBOX with (QRESYNC (uidValidity modSeq)); it returns the
// untagged responses as fields (without "*"), but RECENT (a count of
// what no session has seen yet, which the first SELECT takes).
func qresyncSelect(t *testing.T, addr string, uidValidity uint32, modSeq uint64) [][]string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	r := bufio.NewReader(c)
	if _, err := r.ReadString('\n'); err != nil { // greeting
		t.Fatal(err)
	}
	var untagged [][]string
	cmd := func(tag, line string) {
		if _, err := fmt.Fprintf(c, "%s %s\r\n", tag, line); err != nil {
			t.Fatal(err)
		}
		for {
			l, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			f := strings.Fields(l)
			if len(f) >= 2 && f[0] == tag {
				if f[1] != "OK" {
					t.Fatalf("%s: %s", line, l)
				}
				return
			}
			if len(f) >= 2 && f[0] == "*" && tag == "c" && !(len(f) == 3 && f[2] == "RECENT") {
				untagged = append(untagged, f[1:])
			}
		}
	}
	cmd("a", "LOGIN a@example.test "+sourcePass)
	cmd("b", "ENABLE QRESYNC")
	cmd("c", fmt.Sprintf("SELECT INBOX (QRESYNC (%d %d))", uidValidity, modSeq))
	return untagged
}
