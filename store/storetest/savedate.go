package storetest

import (
	"testing"
	"time"

	"github.com/mailroom/mailroom/store"
)

var saveDateTests = []test{
	{"SaveDate/SetAnewByCopyAndMove", testSaveDates},
}

// testSaveDates: SaveDates is when a message was put into its mailbox
// (RFC 8514): Append and Deliver set it, Copy and Move set it anew in the
// destination while the source copy keeps its own; it is scoped by
// mailbox and account, and expunged UIDs are absent.
func testSaveDates(t *testing.T, s store.Store) {
	a := mustAccount(t, s, "alice@example.org")
	b := mustAccount(t, s, "bob@example.org")
	inbox := mustMailbox(t, s, a.ID, "INBOX")
	arch := mustMailbox(t, s, a.ID, "Archive")
	old := testMessage("old")
	old.InternalDate = time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	before := time.Now().Add(-time.Second)
	mustAppend(t, s, inbox.Ref(), old, testMessage("2"))
	if _, err := s.Deliver(ctx(t), []store.Target{{AccountID: a.ID}}, testMessage("3")); err != nil {
		t.Fatal(err)
	}
	saved := func(ref store.MailboxRef, uids ...uint32) map[uint32]time.Time {
		t.Helper()
		m, err := s.SaveDates(ctx(t), ref, uids)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	first := saved(inbox.Ref(), 1, 2, 3, 99)
	if len(first) != 3 {
		t.Fatalf("SaveDates of 3 messages and a missing UID: %v", first)
	}
	for uid, d := range first {
		if d.Before(before) || d.After(time.Now().Add(time.Second)) {
			t.Fatalf("UID %d saved %v, want about now (internal date %v is not it)", uid, d, old.InternalDate)
		}
	}
	time.Sleep(20 * time.Millisecond)
	if _, _, err := s.Copy(ctx(t), inbox.Ref(), []uint32{1}, arch.Ref()); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := s.Move(ctx(t), inbox.Ref(), []uint32{2}, arch.Ref()); err != nil {
		t.Fatal(err)
	}
	got := saved(arch.Ref(), 1, 2)
	if len(got) != 2 || !got[1].After(first[1]) || !got[2].After(first[2]) {
		t.Fatalf("Copy/Move kept the save date: %v, source had %v", got, first)
	}
	if now := saved(inbox.Ref(), 1, 2); len(now) != 1 || !now[1].Equal(first[1]) {
		t.Fatalf("source after Copy and Move: %v, want UID 1 as before (%v) and UID 2 gone", now, first[1])
	}
	// Another account's view of the mailbox finds nothing.
	if m, err := s.SaveDates(ctx(t), store.MailboxRef{AccountID: b.ID, MailboxID: inbox.ID}, []uint32{1, 3}); err == nil && len(m) != 0 {
		t.Fatalf("SaveDates across accounts: %v", m)
	}
	if m := saved(inbox.Ref()); len(m) != 0 {
		t.Fatalf("SaveDates of no UIDs: %v", m)
	}
}
