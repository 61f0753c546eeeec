package storetest

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/mailroom/mailroom/store"
)

var messageTests = []test{
	{"Messages/AppendAndRead", testAppendRead},
	{"Messages/UIDsNeverReused", testUIDsNeverReused},
	{"Messages/ListMessages", testListMessages},
	{"Messages/ListBodies", testListBodies},
	{"Messages/ReadMessageBody", testReadMessageBody},
	{"Messages/ReadBodies", testReadBodies},
	{"Messages/ListHeaders", testListHeaders},
	{"Messages/ListHeadersBatches", testListHeadersBatches},
	{"Messages/ListParts", testListParts},
	{"Messages/ListPartsBatches", testListPartsBatches},
	{"Messages/Deliver", testDeliver},
	{"Messages/DeliverErrors", testDeliverErrors},
	{"Messages/Expunge", testExpunge},
	{"Messages/Copy", testCopy},
	{"Messages/Move", testMove},
	{"Messages/WireSize", testWireSize},
	{"Messages/Recent", testRecent},
	{"Messages/RecentConcurrent", testRecentConcurrent},
}

func testAppendRead(t *testing.T, s store.Store) {
	a := mustAccount(t, s, "alice@example.org")
	inbox := mustMailbox(t, s, a.ID, "INBOX")
	msg := testMessage("hello", `\seen`, "$Label", `\Recent`, `\SEEN`, "Custom")
	uv, uids, err := s.Append(ctx(t), inbox.Ref(), []store.NewMessage{msg, testMessage("second")})
	if err != nil {
		t.Fatal(err)
	}
	if uv != inbox.UIDValidity {
		t.Fatalf("Append UIDVALIDITY %d, want %d", uv, inbox.UIDValidity)
	}
	wantUIDs(t, "Append", uids, []uint32{1, 2})
	ms := metas(t, s, inbox.Ref(), nil)
	if len(ms) != 2 {
		t.Fatalf("%d messages", len(ms))
	}
	m := ms[0]
	wantFlags(t, "appended", m.Flags, "$Label", "Custom", store.FlagSeen)
	if !m.HasFlag(`\SEEN`) {
		t.Fatal("HasFlag is not case-insensitive for system flags")
	}
	if !m.InternalDate.Equal(msg.InternalDate) || m.Size != int64(len(msg.Raw)) || m.UID != 1 || m.ModSeq == 0 {
		t.Fatalf("meta %+v", m)
	}
	if _, off := m.InternalDate.Zone(); off != -7*3600 {
		t.Errorf("internal date zone offset %d, want %d", off, -7*3600)
	}
	if ms[1].ModSeq <= m.ModSeq || ms[1].ID == m.ID {
		t.Fatalf("second message modseq %d id %d after %d/%d", ms[1].ModSeq, ms[1].ID, m.ModSeq, m.ID)
	}
	raw, err := s.MessageBody(ctx(t), inbox.Ref(), m.ID)
	if err != nil || string(raw) != string(msg.Raw) {
		t.Fatalf("MessageBody = %q, %v", raw, err)
	}
	part, err := s.MessagePart(ctx(t), inbox.Ref(), m.ID)
	if err != nil || !reflect.DeepEqual(part, msg.Part) {
		t.Fatalf("MessagePart = %+v, %v; want %+v", part, err, msg.Part)
	}
	_, err = s.MessageBody(ctx(t), inbox.Ref(), 987654)
	wantErr(t, "MessageBody missing", err, store.ErrNotFound)
	_, err = s.MessagePart(ctx(t), inbox.Ref(), 987654)
	wantErr(t, "MessagePart missing", err, store.ErrNotFound)

	// A zero internal date means now.
	start := time.Now().Add(-time.Second)
	nodate := testMessage("now")
	nodate.InternalDate = time.Time{}
	u := mustAppend(t, s, inbox.Ref(), nodate)
	ms = metas(t, s, inbox.Ref(), u)
	if d := ms[0].InternalDate; d.Before(start) || d.After(time.Now().Add(time.Second)) {
		t.Fatalf("zero internal date stored as %v", d)
	}
	_, _, err = s.Append(ctx(t), store.MailboxRef{MailboxID: 987654}, []store.NewMessage{msg})
	wantErr(t, "Append to missing mailbox", err, store.ErrNotFound)
}

func testUIDsNeverReused(t *testing.T, s store.Store) {
	a := mustAccount(t, s, "alice@example.org")
	inbox := mustMailbox(t, s, a.ID, "INBOX")
	mustAppend(t, s, inbox.Ref(), testMessage("1"), testMessage("2"), testMessage("3"))
	before := mustMailbox(t, s, a.ID, "INBOX")
	if _, _, err := s.Expunge(ctx(t), inbox.Ref(), []uint32{3}, false); err != nil {
		t.Fatal(err)
	}
	afterExpunge := mustMailbox(t, s, a.ID, "INBOX")
	if afterExpunge.UIDNext != 4 || afterExpunge.HighestModSeq <= before.HighestModSeq {
		t.Fatalf("after expunge %+v, before %+v", afterExpunge, before)
	}
	u := mustAppend(t, s, inbox.Ref(), testMessage("4"))
	wantUIDs(t, "append after expunge of the last UID", u, []uint32{4})
	wantUIDs(t, "UIDs", uidsOf(t, s, inbox.Ref()), []uint32{1, 2, 4})
	ms := metas(t, s, inbox.Ref(), nil)
	if last := ms[len(ms)-1].ModSeq; last <= afterExpunge.HighestModSeq {
		t.Fatalf("append modseq %d not above HIGHESTMODSEQ %d", last, afterExpunge.HighestModSeq)
	}
	err := s.ListMessages(ctx(t), store.MailboxRef{MailboxID: 987654}, nil, func(store.MessageMeta) error { return nil })
	wantErr(t, "ListMessages of missing mailbox", err, store.ErrNotFound)
}

func testListMessages(t *testing.T, s store.Store) {
	a := mustAccount(t, s, "alice@example.org")
	inbox := mustMailbox(t, s, a.ID, "INBOX")
	const n = 1200 // more than one page of any sensible chunked reader
	msgs := make([]store.NewMessage, n)
	for i := range msgs {
		msgs[i] = testMessage("m")
	}
	mustAppend(t, s, inbox.Ref(), msgs...)
	all := metas(t, s, inbox.Ref(), nil)
	if len(all) != n {
		t.Fatalf("listed %d of %d", len(all), n)
	}
	for i, m := range all {
		if m.UID != uint32(i+1) {
			t.Fatalf("message %d has UID %d", i, m.UID)
		}
	}
	sel := []uint32{2, 5, 600, 1199, 5000} // 5000 does not exist
	got := metas(t, s, inbox.Ref(), sel)
	var gotUIDs []uint32
	for _, m := range got {
		gotUIDs = append(gotUIDs, m.UID)
	}
	wantUIDs(t, "ListMessages subset", gotUIDs, []uint32{2, 5, 600, 1199})
	if got := metas(t, s, inbox.Ref(), []uint32{}); len(got) != 0 {
		t.Fatalf("empty uid list listed %d messages", len(got))
	}
	stop := errors.New("stop")
	calls := 0
	err := s.ListMessages(ctx(t), inbox.Ref(), nil, func(store.MessageMeta) error {
		calls++
		if calls == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || calls != 3 {
		t.Fatalf("callback error: err %v after %d calls", err, calls)
	}
	err = s.ListMessages(ctx(t), store.MailboxRef{MailboxID: 987654}, nil, func(store.MessageMeta) error { return nil })
	wantErr(t, "ListMessages of missing mailbox", err, store.ErrNotFound)
}

func testDeliver(t *testing.T, s store.Store) {
	a := mustAccount(t, s, "alice@example.org")
	b := mustAccount(t, s, "bob@example.org")
	junk := mustMailbox(t, s, b.ID, "Junk")
	msg := testMessage("hi", store.FlagFlagged)
	d, err := s.Deliver(ctx(t), []store.Target{{AccountID: a.ID}, {AccountID: b.ID, MailboxID: junk.ID}}, msg)
	if err != nil {
		t.Fatal(err)
	}
	inboxA := mustMailbox(t, s, a.ID, "INBOX")
	want := []store.Delivered{
		{AccountID: a.ID, MailboxID: inboxA.ID, UIDValidity: inboxA.UIDValidity, UID: 1},
		{AccountID: b.ID, MailboxID: junk.ID, UIDValidity: junk.UIDValidity, UID: 1},
	}
	if !reflect.DeepEqual(d, want) {
		t.Fatalf("Deliver = %+v, want %+v", d, want)
	}
	for _, dd := range d {
		ms := metas(t, s, dd.Ref(), nil)
		if len(ms) != 1 {
			t.Fatalf("mailbox %d has %d messages", dd.MailboxID, len(ms))
		}
		wantFlags(t, "delivered", ms[0].Flags, store.FlagFlagged)
		raw, err := s.MessageBody(ctx(t), dd.Ref(), ms[0].ID)
		if err != nil || string(raw) != string(msg.Raw) {
			t.Fatalf("delivered body %q, %v", raw, err)
		}
	}
	if u := uidsOf(t, s, mustMailbox(t, s, b.ID, "INBOX").Ref()); len(u) != 0 {
		t.Fatalf("bob's INBOX got %v; the target named Junk", u)
	}
	d, err = s.Deliver(ctx(t), []store.Target{{AccountID: a.ID}}, testMessage("again"))
	if err != nil || d[0].UID != 2 {
		t.Fatalf("second delivery %+v, %v", d, err)
	}
}

func testDeliverErrors(t *testing.T, s store.Store) {
	a := mustAccount(t, s, "alice@example.org")
	b := mustAccount(t, s, "bob@example.org")
	junkB := mustMailbox(t, s, b.ID, "Junk")
	_, err := s.Deliver(ctx(t), []store.Target{{AccountID: a.ID}, {AccountID: 987654}}, testMessage("x"))
	wantErr(t, "Deliver to missing account", err, store.ErrNotFound)
	_, err = s.Deliver(ctx(t), []store.Target{{AccountID: a.ID}, {AccountID: a.ID, MailboxID: junkB.ID}}, testMessage("x"))
	wantErr(t, "Deliver to another account's mailbox", err, store.ErrNotFound)
	// All or nothing: the valid target got nothing.
	if u := uidsOf(t, s, mustMailbox(t, s, a.ID, "INBOX").Ref()); len(u) != 0 {
		t.Fatalf("failed delivery left %v in INBOX", u)
	}
	if u := uidsOf(t, s, junkB.Ref()); len(u) != 0 {
		t.Fatalf("failed delivery left %v in bob's Junk", u)
	}
}

func testExpunge(t *testing.T, s store.Store) {
	a := mustAccount(t, s, "alice@example.org")
	inbox := mustMailbox(t, s, a.ID, "INBOX")
	mustAppend(t, s, inbox.Ref(),
		testMessage("1", store.FlagDeleted), testMessage("2"), testMessage("3", `\deleted`),
		testMessage("4"), testMessage("5", store.FlagDeleted))
	before := status(t, s, inbox.Ref()).HighestModSeq
	got, highest, err := s.Expunge(ctx(t), inbox.Ref(), []uint32{1, 2, 3, 4}, true)
	if err != nil {
		t.Fatal(err)
	}
	wantUIDs(t, "EXPUNGE of 1:4, only \\Deleted", got, []uint32{1, 3})
	// One new modseq per removed message, in UID order, from the
	// HIGHESTMODSEQ the write found; highest is the new HIGHESTMODSEQ.
	if st := status(t, s, inbox.Ref()); highest != before+2 || st.HighestModSeq != highest {
		t.Fatalf("Expunge highest %d, HIGHESTMODSEQ %d, before %d; want both %d", highest, st.HighestModSeq, before, before+2)
	}
	if _, vanished, _, err := s.Changes(ctx(t), inbox.Ref(), before+1); err != nil || !reflect.DeepEqual(vanished, []uint32{3}) {
		t.Fatalf("Changes since the first expunge's modseq: vanished %v, %v; want [3]", vanished, err)
	}
	got, highest, err = s.Expunge(ctx(t), inbox.Ref(), []uint32{2}, true)
	if err != nil || len(got) != 0 || highest != before+2 {
		t.Fatalf("Expunge of nothing \\Deleted: %v, highest %d, %v; want nothing, %d", got, highest, err, before+2)
	}
	got, _, err = s.Expunge(ctx(t), inbox.Ref(), nil, true)
	if err != nil {
		t.Fatal(err)
	}
	wantUIDs(t, "EXPUNGE of all \\Deleted", got, []uint32{5})
	wantUIDs(t, "left", uidsOf(t, s, inbox.Ref()), []uint32{2, 4})
	got, _, err = s.Expunge(ctx(t), inbox.Ref(), []uint32{4, 99}, false)
	if err != nil {
		t.Fatal(err)
	}
	wantUIDs(t, "POP3-style expunge of 4", got, []uint32{4})
	got, _, err = s.Expunge(ctx(t), inbox.Ref(), nil, false)
	if err != nil {
		t.Fatal(err)
	}
	wantUIDs(t, "expunge everything", got, []uint32{2})
	if st := status(t, s, inbox.Ref()); st.Messages != 0 || st.UIDNext != 6 {
		t.Fatalf("status after expunging all: %+v", st)
	}
	_, _, err = s.Expunge(ctx(t), store.MailboxRef{MailboxID: 987654}, nil, false)
	wantErr(t, "Expunge in missing mailbox", err, store.ErrNotFound)
}

func testCopy(t *testing.T, s store.Store) {
	a := mustAccount(t, s, "alice@example.org")
	inbox := mustMailbox(t, s, a.ID, "INBOX")
	arch := mustMailbox(t, s, a.ID, "Archive")
	mustAppend(t, s, arch.Ref(), testMessage("already there")) // dst UIDs start at 2
	m1, m3 := testMessage("1", store.FlagSeen, "Work"), testMessage("3", store.FlagAnswered)
	mustAppend(t, s, inbox.Ref(), m1, testMessage("2"), m3)
	uv, pairs, err := s.Copy(ctx(t), inbox.Ref(), []uint32{3, 1, 77}, arch.Ref())
	if err != nil {
		t.Fatal(err)
	}
	if uv != arch.UIDValidity {
		t.Fatalf("Copy UIDVALIDITY %d, want %d", uv, arch.UIDValidity)
	}
	if want := []store.UIDPair{{Src: 1, Dst: 2}, {Src: 3, Dst: 3}}; !reflect.DeepEqual(pairs, want) {
		t.Fatalf("Copy pairs %v, want %v", pairs, want)
	}
	src := metas(t, s, inbox.Ref(), []uint32{1, 3})
	dst := metas(t, s, arch.Ref(), []uint32{2, 3})
	for i := range dst {
		if dst[i].ID == src[i].ID || !dst[i].InternalDate.Equal(src[i].InternalDate) || dst[i].Size != src[i].Size {
			t.Fatalf("copy %+v of %+v", dst[i], src[i])
		}
		wantFlags(t, "copy", dst[i].Flags, src[i].Flags...)
	}
	wantUIDs(t, "source unchanged", uidsOf(t, s, inbox.Ref()), []uint32{1, 2, 3})
	// The copy outlives the original.
	if _, _, err := s.Expunge(ctx(t), inbox.Ref(), nil, false); err != nil {
		t.Fatal(err)
	}
	raw, err := s.MessageBody(ctx(t), arch.Ref(), dst[0].ID)
	if err != nil || string(raw) != string(m1.Raw) {
		t.Fatalf("copy body after expunging the original: %q, %v", raw, err)
	}
	part, err := s.MessagePart(ctx(t), arch.Ref(), dst[1].ID)
	if err != nil || !reflect.DeepEqual(part, m3.Part) {
		t.Fatalf("copy part after expunging the original: %+v, %v", part, err)
	}
	_, _, err = s.Copy(ctx(t), inbox.Ref(), []uint32{1}, store.MailboxRef{MailboxID: 987654})
	wantErr(t, "Copy to missing mailbox", err, store.ErrNotFound)
}

func testMove(t *testing.T, s store.Store) {
	a := mustAccount(t, s, "alice@example.org")
	inbox := mustMailbox(t, s, a.ID, "INBOX")
	trash := mustMailbox(t, s, a.ID, "Trash")
	mustAppend(t, s, inbox.Ref(), testMessage("1", store.FlagSeen), testMessage("2"), testMessage("3"))
	before := mustMailbox(t, s, a.ID, "INBOX")
	uv, pairs, srcHighest, err := s.Move(ctx(t), inbox.Ref(), []uint32{1, 3}, trash.Ref())
	if err != nil {
		t.Fatal(err)
	}
	if want := before.HighestModSeq + 2; srcHighest != want {
		t.Fatalf("Move source HIGHESTMODSEQ %d, want %d (one new modseq per moved message)", srcHighest, want)
	}
	if uv != trash.UIDValidity {
		t.Fatalf("Move UIDVALIDITY %d, want %d", uv, trash.UIDValidity)
	}
	if want := []store.UIDPair{{Src: 1, Dst: 1}, {Src: 3, Dst: 2}}; !reflect.DeepEqual(pairs, want) {
		t.Fatalf("Move pairs %v, want %v", pairs, want)
	}
	wantUIDs(t, "source after move", uidsOf(t, s, inbox.Ref()), []uint32{2})
	wantUIDs(t, "destination after move", uidsOf(t, s, trash.Ref()), []uint32{1, 2})
	wantFlags(t, "moved", metas(t, s, trash.Ref(), []uint32{1})[0].Flags, store.FlagSeen)
	_, vanished, highest, err := s.Changes(ctx(t), inbox.Ref(), before.HighestModSeq)
	if err != nil {
		t.Fatal(err)
	}
	wantUIDs(t, "source Changes after move", vanished, []uint32{1, 3})
	if highest != srcHighest {
		t.Fatalf("source HIGHESTMODSEQ %d after Move, Move said %d", highest, srcHighest)
	}
}
