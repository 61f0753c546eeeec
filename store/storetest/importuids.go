package storetest

import (
	"testing"

	"github.com/mailroom/mailroom/store"
)

var importUIDTests = []test{
	{"ImportUIDs/AppendUIDs", testAppendUIDs},
	{"ImportUIDs/AppendUIDsRefused", testAppendUIDsRefused},
	{"ImportUIDs/AppendUIDsScoped", testAppendUIDsScoped},
	{"ImportUIDs/SetUIDValidity", testSetUIDValidity},
}

func testAppendUIDs(t *testing.T, s store.Store) {
	a := mustAccount(t, s, "alice@example.org")
	m := mustCreate(t, s, a.ID, "Imported")
	before := status(t, s, m.Ref())
	uv, err := s.AppendUIDs(ctx(t), m.Ref(), []store.NewMessage{testMessage("a", store.FlagSeen), testMessage("b"), testMessage("c", "$Label")}, []uint32{5, 9, 200})
	if err != nil {
		t.Fatal(err)
	}
	if uv != m.UIDValidity {
		t.Fatalf("AppendUIDs UIDVALIDITY %d, want %d", uv, m.UIDValidity)
	}
	wantUIDs(t, "after AppendUIDs", uidsOf(t, s, m.Ref()), []uint32{5, 9, 200})
	st := status(t, s, m.Ref())
	if st.UIDNext != 201 || st.Messages != 3 || st.Unseen != 2 {
		t.Fatalf("status after AppendUIDs: %+v", st)
	}
	ms := metas(t, s, m.Ref(), nil)
	wantFlags(t, "uid 5", ms[0].Flags, store.FlagSeen)
	wantFlags(t, "uid 200", ms[2].Flags, "$Label")
	// Modseqs as for Append: each new one above everything before.
	last := before.HighestModSeq
	for _, mm := range ms {
		if mm.ModSeq <= last {
			t.Fatalf("uid %d modseq %d not above %d", mm.UID, mm.ModSeq, last)
		}
		last = mm.ModSeq
	}
	if st.HighestModSeq != last {
		t.Fatalf("HIGHESTMODSEQ %d, want %d", st.HighestModSeq, last)
	}
	// Changes since the old HIGHESTMODSEQ report them.
	changed, _, _, err := s.Changes(ctx(t), m.Ref(), before.HighestModSeq)
	if err != nil || len(changed) != 3 {
		t.Fatalf("Changes: %d changed, %v", len(changed), err)
	}
	// Append after it continues at UIDNEXT.
	wantUIDs(t, "Append after AppendUIDs", mustAppend(t, s, m.Ref(), testMessage("d")), []uint32{201})
	// AppendUIDs continues above.
	if _, err := s.AppendUIDs(ctx(t), m.Ref(), []store.NewMessage{testMessage("e")}, []uint32{202}); err != nil {
		t.Fatal(err)
	}
	// Nothing to append is fine and changes nothing.
	if _, err := s.AppendUIDs(ctx(t), m.Ref(), nil, nil); err != nil {
		t.Fatal(err)
	}
	if st := status(t, s, m.Ref()); st.UIDNext != 203 || st.Messages != 5 {
		t.Fatalf("status at the end: %+v", st)
	}
}

func testAppendUIDsRefused(t *testing.T, s store.Store) {
	a := mustAccount(t, s, "alice@example.org")
	m := mustCreate(t, s, a.ID, "Imported")
	if _, err := s.AppendUIDs(ctx(t), m.Ref(), []store.NewMessage{testMessage("a"), testMessage("b")}, []uint32{3, 4}); err != nil {
		t.Fatal(err)
	}
	// Expunge 4: UIDNEXT stays 5, and 4 must never come back.
	if _, _, err := s.Expunge(ctx(t), m.Ref(), []uint32{4}, false); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		what string
		n    int
		uids []uint32
	}{
		{"UID equal to the existing max", 1, []uint32{3}},
		{"UID below the existing max", 1, []uint32{1}},
		{"expunged UID", 1, []uint32{4}},
		{"not ascending", 2, []uint32{10, 9}},
		{"duplicate", 2, []uint32{10, 10}},
		{"count mismatch", 2, []uint32{10}},
		{"UID 2^32-1", 1, []uint32{^uint32(0)}},
	} {
		msgs := make([]store.NewMessage, tc.n)
		for i := range msgs {
			msgs[i] = testMessage("x")
		}
		_, err := s.AppendUIDs(ctx(t), m.Ref(), msgs, tc.uids)
		wantErr(t, tc.what, err, store.ErrInvalid)
	}
	// Nothing of the refused calls was stored.
	wantUIDs(t, "after refusals", uidsOf(t, s, m.Ref()), []uint32{3})
	if st := status(t, s, m.Ref()); st.UIDNext != 5 || st.Messages != 1 {
		t.Fatalf("status after refusals: %+v", st)
	}
	// The first allowed UID is UIDNEXT.
	if _, err := s.AppendUIDs(ctx(t), m.Ref(), []store.NewMessage{testMessage("c")}, []uint32{5}); err != nil {
		t.Fatal(err)
	}
}

func testAppendUIDsScoped(t *testing.T, s store.Store) {
	a := mustAccount(t, s, "alice@example.org")
	b := mustAccount(t, s, "bob@example.org")
	am := mustCreate(t, s, a.ID, "Imported")
	bm := mustCreate(t, s, b.ID, "Imported")
	// Bob's account naming Alice's mailbox gets ErrNotFound and writes nothing.
	ref := am.Ref()
	ref.AccountID = b.ID
	_, err := s.AppendUIDs(ctx(t), ref, []store.NewMessage{testMessage("x")}, []uint32{7})
	wantErr(t, "AppendUIDs on another account's mailbox", err, store.ErrNotFound)
	_, err = s.SetUIDValidity(ctx(t), ref, 12345)
	wantErr(t, "SetUIDValidity on another account's mailbox", err, store.ErrNotFound)
	// A stale UIDVALIDITY is ErrNotFound too.
	stale := am.Ref()
	stale.UIDValidity = am.UIDValidity + 1
	_, err = s.AppendUIDs(ctx(t), stale, []store.NewMessage{testMessage("x")}, []uint32{7})
	wantErr(t, "AppendUIDs with a stale UIDVALIDITY", err, store.ErrNotFound)
	wantUIDs(t, "alice untouched", uidsOf(t, s, am.Ref()), nil)
	if got, _ := s.MailboxByID(ctx(t), am.Ref()); got.UIDValidity != am.UIDValidity {
		t.Fatalf("alice's UIDVALIDITY changed to %d", got.UIDValidity)
	}
	// Ids are never reused: the same UIDs in two mailboxes are two rows.
	if _, err := s.AppendUIDs(ctx(t), am.Ref(), []store.NewMessage{testMessage("x")}, []uint32{7}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AppendUIDs(ctx(t), bm.Ref(), []store.NewMessage{testMessage("x")}, []uint32{7}); err != nil {
		t.Fatal(err)
	}
	ma, mb := metas(t, s, am.Ref(), nil), metas(t, s, bm.Ref(), nil)
	if ma[0].ID == mb[0].ID {
		t.Fatalf("two messages share id %d", ma[0].ID)
	}
	if _, _, err := s.Expunge(ctx(t), am.Ref(), nil, false); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AppendUIDs(ctx(t), am.Ref(), []store.NewMessage{testMessage("y")}, []uint32{8}); err != nil {
		t.Fatal(err)
	}
	if n := metas(t, s, am.Ref(), nil)[0].ID; n == ma[0].ID || n == mb[0].ID {
		t.Fatalf("message id %d reused", n)
	}
}

func testSetUIDValidity(t *testing.T, s store.Store) {
	a := mustAccount(t, s, "alice@example.org")
	inbox := mustMailbox(t, s, a.ID, store.Inbox)
	// An empty INBOX takes the old server's UIDVALIDITY.
	want := uint32(1234567)
	m, err := s.SetUIDValidity(ctx(t), inbox.Ref(), want)
	if err != nil {
		t.Fatal(err)
	}
	if m.UIDValidity != want || m.ID != inbox.ID {
		t.Fatalf("SetUIDValidity returned %+v", m)
	}
	if got := mustMailbox(t, s, a.ID, store.Inbox); got.UIDValidity != want {
		t.Fatalf("INBOX UIDVALIDITY %d, want %d", got.UIDValidity, want)
	}
	// The old reference is stale now.
	_, err = s.MailboxStatus(ctx(t), inbox.Ref())
	wantErr(t, "status with the old UIDVALIDITY", err, store.ErrNotFound)
	// A mailbox created afterwards gets a new, larger UIDVALIDITY even
	// when the imported one is above the counter.
	big := uint32(4000000000)
	x := mustCreate(t, s, a.ID, "X")
	if _, err := s.SetUIDValidity(ctx(t), x.Ref(), big); err != nil {
		t.Fatal(err)
	}
	y := mustCreate(t, s, a.ID, "Y")
	if y.UIDValidity <= big {
		t.Fatalf("mailbox created after SetUIDValidity(%d) got UIDVALIDITY %d", big, y.UIDValidity)
	}
	// Once a message was there, even if expunged, it is refused.
	mustAppend(t, s, m.Ref(), testMessage("a"))
	if _, _, err := s.Expunge(ctx(t), m.Ref(), nil, false); err != nil {
		t.Fatal(err)
	}
	_, err = s.SetUIDValidity(ctx(t), m.Ref(), 99)
	wantErr(t, "SetUIDValidity after a message", err, store.ErrInvalid)
	_, err = s.SetUIDValidity(ctx(t), y.Ref(), 0)
	wantErr(t, "SetUIDValidity 0", err, store.ErrInvalid)
	if got := mustMailbox(t, s, a.ID, store.Inbox); got.UIDValidity != want {
		t.Fatalf("refused SetUIDValidity changed UIDVALIDITY to %d", got.UIDValidity)
	}
}
