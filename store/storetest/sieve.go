package storetest

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/mailroom/mailroom/store"
)

var sieveTests = []test{
	{"Sieve/Scripts", testSieveScripts},
	{"Sieve/Bounds", testSieveBounds},
	{"Sieve/Isolation", testSieveIsolation},
	{"Sieve/Rename", testSieveRename},
	{"Sieve/State", testSieveState},
	{"DeliverBatch/CopiesAndQueue", testDeliverBatch},
	{"DeliverBatch/FailureStoresNothing", testDeliverBatchAtomic},
}

// Put, get, list, activate (one at a time), replace (same id, still
// active), delete; ids are never reused.
func testSieveScripts(t *testing.T, s store.Store) {
	a := mustAccount(t, s, "alice@example.org")
	if _, err := s.ActiveSieveScript(ctx(t), a.ID); err == nil {
		t.Fatal("a new account has an active script")
	} else {
		wantErr(t, "ActiveSieveScript of a new account", err, store.ErrNotFound)
	}
	one, err := s.PutSieveScript(ctx(t), a.ID, "one", []byte("keep;"))
	if err != nil {
		t.Fatal(err)
	}
	two, err := s.PutSieveScript(ctx(t), a.ID, "Two", []byte("discard;"))
	if err != nil {
		t.Fatal(err)
	}
	if one.ID == 0 || two.ID <= one.ID || one.Active || one.AccountID != a.ID || string(one.Source) != "keep;" {
		t.Fatalf("put: %+v, %+v", one, two)
	}
	if err := s.ActivateSieveScript(ctx(t), a.ID, "one"); err != nil {
		t.Fatal(err)
	}
	if err := s.ActivateSieveScript(ctx(t), a.ID, "Two"); err != nil {
		t.Fatal(err)
	}
	act, err := s.ActiveSieveScript(ctx(t), a.ID)
	if err != nil || act.Name != "Two" || string(act.Source) != "discard;" || !act.Active {
		t.Fatalf("active %+v, %v", act, err)
	}
	wantErr(t, "activate a missing script", s.ActivateSieveScript(ctx(t), a.ID, "nope"), store.ErrNotFound)
	// Replacing keeps the id and the active mark.
	two2, err := s.PutSieveScript(ctx(t), a.ID, "Two", []byte("stop;"))
	if err != nil || two2.ID != two.ID || !two2.Active || string(two2.Source) != "stop;" {
		t.Fatalf("replace: %+v, %v", two2, err)
	}
	list, err := s.SieveScripts(ctx(t), a.ID)
	if err != nil || len(list) != 2 || list[0].Name != "Two" || list[1].Name != "one" || !list[0].Active || list[1].Active {
		t.Fatalf("list %+v, %v", list, err)
	}
	got, err := s.SieveScript(ctx(t), a.ID, "one")
	if err != nil || got.ID != one.ID || string(got.Source) != "keep;" {
		t.Fatalf("get %+v, %v", got, err)
	}
	_, err = s.SieveScript(ctx(t), a.ID, "ONE")
	wantErr(t, "names are case-sensitive", err, store.ErrNotFound)
	if err := s.ActivateSieveScript(ctx(t), a.ID, ""); err != nil {
		t.Fatal(err)
	}
	_, err = s.ActiveSieveScript(ctx(t), a.ID)
	wantErr(t, "after deactivate", err, store.ErrNotFound)
	if err := s.DeleteSieveScript(ctx(t), a.ID, "Two"); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "delete twice", s.DeleteSieveScript(ctx(t), a.ID, "Two"), store.ErrNotFound)
	three, err := s.PutSieveScript(ctx(t), a.ID, "Two", []byte(""))
	if err != nil || three.ID <= two.ID || three.Active || three.Source == nil {
		t.Fatalf("recreated %+v, %v: the id of a deleted script is never reused", three, err)
	}
}

func testSieveBounds(t *testing.T, s store.Store) {
	a := mustAccount(t, s, "alice@example.org")
	for _, tc := range []struct {
		name string
		src  []byte
	}{
		{"", nil},
		{strings.Repeat("n", store.MaxSieveNameLen+1), nil},
		{"a/b", nil},
		{"tab\there", nil},
		{"\xff", nil},
		{"big", bytes.Repeat([]byte("#"), store.MaxSieveScriptSize+1)},
	} {
		_, err := s.PutSieveScript(ctx(t), a.ID, tc.name, tc.src)
		wantErr(t, "PutSieveScript("+tc.name+")", err, store.ErrInvalid)
	}
	if _, err := s.PutSieveScript(ctx(t), a.ID, "max", bytes.Repeat([]byte("#"), store.MaxSieveScriptSize)); err != nil {
		t.Fatalf("script of exactly the limit: %v", err)
	}
	_, err := s.PutSieveScript(ctx(t), 987654, "x", nil)
	wantErr(t, "PutSieveScript for a missing account", err, store.ErrNotFound)
	for i := 1; i < store.MaxSieveScripts; i++ {
		if _, err := s.PutSieveScript(ctx(t), a.ID, "s"+string(rune('a'+i%26))+strings.Repeat("x", i), nil); err != nil {
			t.Fatal(err)
		}
	}
	_, err = s.PutSieveScript(ctx(t), a.ID, "one too many", nil)
	wantErr(t, "script beyond MaxSieveScripts", err, store.ErrInvalid)
	if _, err := s.PutSieveScript(ctx(t), a.ID, "max", []byte("keep;")); err != nil {
		t.Fatalf("replacing at the count limit: %v", err)
	}
}

// Scripts and state are scoped by account; deleting the account removes
// them.
func testSieveIsolation(t *testing.T, s store.Store) {
	a := mustAccount(t, s, "alice@example.org")
	b := mustAccount(t, s, "bob@example.org")
	if _, err := s.PutSieveScript(ctx(t), a.ID, "mine", []byte("keep;")); err != nil {
		t.Fatal(err)
	}
	if err := s.ActivateSieveScript(ctx(t), a.ID, "mine"); err != nil {
		t.Fatal(err)
	}
	_, err := s.SieveScript(ctx(t), b.ID, "mine")
	wantErr(t, "another account's script", err, store.ErrNotFound)
	wantErr(t, "activating another account's script", s.ActivateSieveScript(ctx(t), b.ID, "mine"), store.ErrNotFound)
	wantErr(t, "deleting another account's script", s.DeleteSieveScript(ctx(t), b.ID, "mine"), store.ErrNotFound)
	if l, err := s.SieveScripts(ctx(t), b.ID); err != nil || len(l) != 0 {
		t.Fatalf("bob lists %+v, %v", l, err)
	}
	if err := s.ActivateSieveScript(ctx(t), b.ID, ""); err != nil {
		t.Fatal(err)
	}
	if act, err := s.ActiveSieveScript(ctx(t), a.ID); err != nil || act.Name != "mine" {
		t.Fatalf("bob's deactivate touched alice: %+v, %v", act, err)
	}
	now := qt0
	if err := s.RecordSieveState(ctx(t), a.ID, store.SieveStateVacation, "h", "x@remote.test", now, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if seen, err := s.SieveStateSeen(ctx(t), b.ID, store.SieveStateVacation, "h", "x@remote.test", now); err != nil || seen {
		t.Fatalf("bob sees alice's state: %v, %v", seen, err)
	}
	if err := s.DeleteAccount(ctx(t), "alice@example.org"); err != nil {
		t.Fatal(err)
	}
	if l, err := s.SieveScripts(ctx(t), a.ID); err != nil || len(l) != 0 {
		t.Fatalf("deleted account's scripts %+v, %v", l, err)
	}
	if seen, err := s.SieveStateSeen(ctx(t), a.ID, store.SieveStateVacation, "h", "x@remote.test", now); err != nil || seen {
		t.Fatalf("deleted account's state: %v, %v", seen, err)
	}
}

func testSieveState(t *testing.T, s store.Store) {
	a := mustAccount(t, s, "alice@example.org")
	t0 := qt0
	seen := func(kind, handle, key string, since time.Time) bool {
		t.Helper()
		ok, err := s.SieveStateSeen(ctx(t), a.ID, kind, handle, key, since)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if seen(store.SieveStateVacation, "h", "x@remote.test", t0.Add(-time.Hour)) {
		t.Fatal("state seen before any was recorded")
	}
	if err := s.RecordSieveState(ctx(t), a.ID, store.SieveStateVacation, "h", "x@remote.test", t0, t0.Add(24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	switch {
	case !seen(store.SieveStateVacation, "h", "x@remote.test", t0.Add(-time.Hour)):
		t.Fatal("recorded reply not seen")
	case seen(store.SieveStateVacation, "h", "x@remote.test", t0.Add(time.Minute)):
		t.Fatal("a reply before since counts")
	case seen(store.SieveStateVacation, "other", "x@remote.test", t0.Add(-time.Hour)):
		t.Fatal("another handle counts")
	case seen(store.SieveStateDuplicate, "h", "x@remote.test", t0.Add(-time.Hour)):
		t.Fatal("another kind counts")
	case seen(store.SieveStateVacation, "h", "y@remote.test", t0.Add(-time.Hour)):
		t.Fatal("another sender counts")
	}
	// A later record replaces the time; a record purges expired ones.
	t1 := t0.Add(48 * time.Hour)
	if err := s.RecordSieveState(ctx(t), a.ID, store.SieveStateDuplicate, "d", "<id@x>", t1, t1.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if seen(store.SieveStateVacation, "h", "x@remote.test", t0.Add(-time.Hour)) {
		t.Fatal("expired state still seen after a later record")
	}
	if err := s.RecordSieveState(ctx(t), a.ID, store.SieveStateDuplicate, "d", "<id@x>", t1.Add(time.Minute), t1.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if !seen(store.SieveStateDuplicate, "d", "<id@x>", t1.Add(30*time.Second)) {
		t.Fatal("re-recorded state not updated")
	}
}

// Copies that differ per account and several queue entries in one call.
func testDeliverBatch(t *testing.T, s store.Store) {
	a := mustAccount(t, s, "alice@example.org")
	b := mustAccount(t, s, "bob@example.org")
	lists := mustCreate(t, s, a.ID, "Lists")
	m1 := testMessage("for alice", store.FlagFlagged)
	m2 := testMessage("for bob")
	d, qids, err := s.DeliverBatch(ctx(t), []store.Copy{
		{Targets: []store.Target{{AccountID: a.ID}, {AccountID: a.ID, MailboxID: lists.ID}, {AccountID: a.ID}}, Message: m1},
		{Targets: []store.Target{{AccountID: b.ID}}, Message: m2},
	}, []store.QueuedMessage{
		{From: "", Recipients: []string{"x@remote.test"}, Raw: []byte("Subject: r1\r\n\r\n"), Created: qt0},
		{From: "alice@example.org", Recipients: []string{"y@remote.test"}, Raw: []byte("Subject: r2\r\n\r\n"), Created: qt0},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(d) != 3 || d[0].AccountID != a.ID || d[1].MailboxID != lists.ID || d[2].AccountID != b.ID || len(qids) != 2 || qids[1] <= qids[0] {
		t.Fatalf("delivered %+v, queued %v", d, qids)
	}
	ms := metas(t, s, d[1].Ref(), nil)
	if len(ms) != 1 || !ms[0].HasFlag(store.FlagFlagged) {
		t.Fatalf("Lists holds %+v", ms)
	}
	raw, err := s.MessageBody(ctx(t), d[2].Ref(), metas(t, s, d[2].Ref(), nil)[0].ID)
	if err != nil || string(raw) != string(m2.Raw) {
		t.Fatalf("bob's copy %q, %v", raw, err)
	}
	for i, want := range []string{"Subject: r1\r\n\r\n", "Subject: r2\r\n\r\n"} {
		raw, err := s.QueueMessage(ctx(t), qids[i])
		if err != nil || string(raw) != want {
			t.Fatalf("queued %d: %q, %v", i, raw, err)
		}
	}
	_, _, err = s.DeliverBatch(ctx(t), nil, nil)
	wantErr(t, "DeliverBatch with nothing to do", err, store.ErrInvalid)
}

func testDeliverBatchAtomic(t *testing.T, s store.Store) {
	a := mustAccount(t, s, "alice@example.org")
	inboxA := mustMailbox(t, s, a.ID, "INBOX")
	_, _, err := s.DeliverBatch(ctx(t), []store.Copy{
		{Targets: []store.Target{{AccountID: a.ID}}, Message: testMessage("a")},
		{Targets: []store.Target{{AccountID: 987654}}, Message: testMessage("b")},
	}, []store.QueuedMessage{{Recipients: []string{"x@remote.test"}, Raw: []byte("x")}})
	wantErr(t, "DeliverBatch to a missing account", err, store.ErrNotFound)
	if u := uidsOf(t, s, inboxA.Ref()); len(u) != 0 {
		t.Fatalf("failed batch left %v in alice's INBOX", u)
	}
	if got := queuedIDs(t, s); len(got) != 0 {
		t.Fatalf("failed batch left queue items %v", got)
	}
	checkCounts(t, s, "after a failed batch", inboxA.Ref())
}

// RenameSieveScript keeps id, source and the active mark; a missing old
// name is ErrNotFound, an existing new name ErrExists, and a refused
// rename changes nothing; another account's names do not collide.
func testSieveRename(t *testing.T, s store.Store) {
	a := mustAccount(t, s, "alice@example.org")
	b := mustAccount(t, s, "bob@example.org")
	one, err := s.PutSieveScript(ctx(t), a.ID, "one", []byte("keep;"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutSieveScript(ctx(t), a.ID, "two", []byte("discard;")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutSieveScript(ctx(t), b.ID, "uno", []byte("stop;")); err != nil {
		t.Fatal(err)
	}
	if err := s.ActivateSieveScript(ctx(t), a.ID, "one"); err != nil {
		t.Fatal(err)
	}
	if err := s.RenameSieveScript(ctx(t), a.ID, "one", "uno"); err != nil {
		t.Fatal(err)
	}
	got, err := s.SieveScript(ctx(t), a.ID, "uno")
	if err != nil || got.ID != one.ID || !got.Active || string(got.Source) != "keep;" {
		t.Fatalf("renamed %+v, %v: want id %d, active, same source", got, err, one.ID)
	}
	act, err := s.ActiveSieveScript(ctx(t), a.ID)
	if err != nil || act.Name != "uno" {
		t.Fatalf("active after rename %+v, %v", act, err)
	}
	_, err = s.SieveScript(ctx(t), a.ID, "one")
	wantErr(t, "old name after rename", err, store.ErrNotFound)
	wantErr(t, "rename a missing script", s.RenameSieveScript(ctx(t), a.ID, "one", "three"), store.ErrNotFound)
	wantErr(t, "rename onto an existing script", s.RenameSieveScript(ctx(t), a.ID, "uno", "two"), store.ErrExists)
	wantErr(t, "rename onto itself", s.RenameSieveScript(ctx(t), a.ID, "two", "two"), store.ErrExists)
	wantErr(t, "rename to an invalid name", s.RenameSieveScript(ctx(t), a.ID, "two", "a/b"), store.ErrInvalid)
	wantErr(t, "rename another account's script", s.RenameSieveScript(ctx(t), b.ID, "two", "zwei"), store.ErrNotFound)
	list, err := s.SieveScripts(ctx(t), a.ID)
	if err != nil || len(list) != 2 || list[0].Name != "two" || list[1].Name != "uno" || list[0].Active || !list[1].Active {
		t.Fatalf("after refused renames %+v, %v", list, err)
	}
	// An inactive script stays inactive; bob's script of the same name is untouched.
	if err := s.RenameSieveScript(ctx(t), a.ID, "two", "zwei"); err != nil {
		t.Fatal(err)
	}
	z, err := s.SieveScript(ctx(t), a.ID, "zwei")
	if err != nil || z.Active || string(z.Source) != "discard;" {
		t.Fatalf("renamed inactive %+v, %v", z, err)
	}
	bu, err := s.SieveScript(ctx(t), b.ID, "uno")
	if err != nil || string(bu.Source) != "stop;" || bu.AccountID != b.ID {
		t.Fatalf("bob's script %+v, %v", bu, err)
	}
}
