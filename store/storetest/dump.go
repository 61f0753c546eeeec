package storetest

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/mailroom/mailroom/store"
)

var dumpTests = []openTest{
	{"Dump/LoadRoundTrip", testDumpLoad},
	{"Dump/LoadAllOrNothing", testLoadAllOrNothing},
}

// dumpOf dumps s: the rows but the counters, every row, and the counters.
func dumpOf(t *testing.T, s store.Store) (rows, all []store.DumpRow, counters map[string]int64) {
	t.Helper()
	d, ok := s.(store.Dumper)
	if !ok {
		t.Fatalf("%T does not implement store.Dumper", s)
	}
	counters = map[string]int64{}
	last := -1
	err := d.Dump(ctx(t), func(r store.DumpRow) error {
		if r.Table < last {
			t.Fatalf("table %d dumped after %d", r.Table, last)
		}
		last = r.Table
		all = append(all, r)
		if store.DumpTables[r.Table].Name == "counters" {
			counters[r.Values[0].(string)] = r.Values[1].(int64)
			return nil
		}
		rows = append(rows, r)
		return nil
	})
	if err != nil {
		t.Fatalf("Dump: %v", err)
	}
	return rows, all, counters
}

func load(t *testing.T, s store.Store, rows []store.DumpRow, failAfter int) error {
	t.Helper()
	l, ok := s.(store.Loader)
	if !ok {
		t.Fatalf("%T does not implement store.Loader", s)
	}
	i := 0
	return l.Load(ctx(t), func() (store.DumpRow, bool, error) {
		if failAfter >= 0 && i == failAfter {
			return store.DumpRow{}, false, errors.New("source broke")
		}
		if i == len(rows) {
			return store.DumpRow{}, false, nil
		}
		i++
		return rows[i-1], true, nil
	})
}

// fillForDump gives s a bit of every table.
func fillForDump(t *testing.T, s store.Store) {
	gone := mustAccount(t, s, "gone@example.org")
	a := mustAccount(t, s, "alice@example.org")
	if err := s.DeleteAccount(ctx(t), gone.Email); err != nil {
		t.Fatal(err)
	}
	inbox := mustMailbox(t, s, a.ID, store.Inbox)
	uids := mustAppend(t, s, inbox.Ref(), testMessage("a", store.FlagSeen, "$Label"), testMessage("b"))
	if _, _, err := s.Expunge(ctx(t), inbox.Ref(), uids[1:], false); err != nil {
		t.Fatal(err)
	}
	if err := s.SetSubscribed(ctx(t), a.ID, "Other", true); err != nil {
		t.Fatal(err)
	}
	// A copy keeps its original's EMAILID (RFC 8474): a non-NULL email_id.
	archive := mustCreate(t, s, a.ID, "Kept")
	if _, _, err := s.Copy(ctx(t), inbox.Ref(), uids[:1], archive.Ref()); err != nil {
		t.Fatal(err)
	}
	// Mailbox ACLs (RFC 4314) move with their mailboxes.
	mustSetACL(t, s, archive.Ref(), "bob@example.com", "lrs")
	mustSetACL(t, s, archive.Ref(), "anyone", "l")
	if _, err := s.AddDomain(ctx(t), "example.net"); err != nil {
		t.Fatal(err)
	}
	// METADATA entries (server and mailbox) and a URLAUTH key.
	if err := s.SetMetadata(ctx(t), a.ID, 0, []store.MetadataEntry{{Name: "/private/comment", Value: []byte("srv")}}, 10); err != nil {
		t.Fatal(err)
	}
	if err := s.SetMetadata(ctx(t), a.ID, archive.ID, []store.MetadataEntry{{Name: "/shared/comment", Value: []byte{0, 1}}}, 10); err != nil {
		t.Fatal(err)
	}
	if _, err := s.URLAuthKey(ctx(t), inbox.Ref(), make([]byte, store.URLAuthKeySize)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddAlias(ctx(t), "team@example.org", []string{"alice@example.org", "bob@example.com"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutSieveScript(ctx(t), a.ID, "main", []byte("keep;\r\n")); err != nil {
		t.Fatal(err)
	}
	if err := s.ActivateSieveScript(ctx(t), a.ID, "main"); err != nil {
		t.Fatal(err)
	}
	when := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := s.RecordSieveState(ctx(t), a.ID, "vacation", "h", "k", when, when.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Enqueue(ctx(t), store.QueuedMessage{From: "alice@example.org", Recipients: []string{"x@remote.example"}, Raw: []byte("Subject: q\r\n\r\nq\r\n"), Created: when}); err != nil {
		t.Fatal(err)
	}
}

// testDumpLoad: a store loaded from another's dump holds the same rows
// and hands out no id or UIDVALIDITY the other did; a second load is
// refused with ErrExists.
func testDumpLoad(t *testing.T, s store.Store, open func(*testing.T) store.Store) {
	fillForDump(t, s)
	rows, all, counters := dumpOf(t, s)
	if len(rows) == 0 || counters["uidvalidity"] == 0 || counters["id:accounts"] < 2 {
		t.Fatalf("dump of %d rows, counters %v", len(rows), counters)
	}
	dst := open(t)
	if err := load(t, dst, all, -1); err != nil {
		t.Fatal(err)
	}
	// Load again: refused.
	if err := load(t, dst, all, -1); !errors.Is(err, store.ErrExists) {
		t.Fatalf("second Load: %v, want ErrExists", err)
	}
	got, _, _ := dumpOf(t, dst)
	if !reflect.DeepEqual(got, rows) {
		t.Fatalf("loaded rows differ:\n%v\nwant\n%v", got, rows)
	}
	a, err := dst.AccountByEmail(ctx(t), "alice@example.org")
	if err != nil {
		t.Fatal(err)
	}
	if st := status(t, dst, mustMailbox(t, dst, a.ID, store.Inbox).Ref()); st.Messages != 1 || st.Unseen != 0 {
		t.Fatalf("loaded INBOX status %+v", st)
	}
	// The dump carries no full-text index: loaded messages are candidates
	// of every text search until ReindexText indexes them.
	inbox := mustMailbox(t, dst, a.ID, store.Inbox).Ref()
	textUIDs := func(needle string) []uint32 {
		got, ok, err := dst.SearchText(ctx(t), inbox, store.TextQuery{Needle: needle})
		if err != nil || !ok {
			t.Fatalf("SearchText(%q) after Load: %v, %v", needle, ok, err)
		}
		return got.All()
	}
	loaded := uidsOf(t, dst, inbox)
	wantUIDs(t, "unindexed after Load", textUIDs("nowhere to be found"), loaded)
	if err := dst.ReindexText(ctx(t), 0, nil); err != nil {
		t.Fatal(err)
	}
	wantUIDs(t, "indexed after ReindexText", textUIDs("nowhere to be found"), nil)
	wantUIDs(t, "found after ReindexText", textUIDs("Hello"), loaded)
	// Counters carried: the next ids and UIDVALIDITY are new.
	c := mustAccount(t, dst, "carol@example.org")
	if c.ID <= counters["id:accounts"] {
		t.Fatalf("new account id %d, at or below the dumped store's last %d", c.ID, counters["id:accounts"])
	}
	if m := mustCreate(t, dst, c.ID, "New"); int64(m.UIDValidity) <= counters["uidvalidity"] {
		t.Fatalf("new UIDVALIDITY %d, at or below the dumped store's last %d", m.UIDValidity, counters["uidvalidity"])
	}
}

// testLoadAllOrNothing: a load whose source fails midway leaves the
// target empty (and loadable).
func testLoadAllOrNothing(t *testing.T, s store.Store, open func(*testing.T) store.Store) {
	fillForDump(t, s)
	_, all, _ := dumpOf(t, s)
	dst := open(t)
	if err := load(t, dst, all, len(all)/2); err == nil {
		t.Fatal("Load succeeded although its source failed")
	}
	if got, _, _ := dumpOf(t, dst); len(got) != 0 {
		t.Fatalf("a failed Load left %d rows", len(got))
	}
	if err := load(t, dst, all, -1); err != nil {
		t.Fatalf("Load after a failed one: %v", err)
	}
}
