package storetest

import (
	"errors"
	"testing"

	"github.com/mailroom/mailroom/store"
)

var objectIDTests = []test{
	{"ObjectID/EmailID", testEmailID},
}

// testEmailID: MessageEmailID is distinct per stored message (even for the
// same bytes), kept by Copy and Move (RFC 8474 §5.1), never handed out
// again after an expunge, and scoped by account.
func testEmailID(t *testing.T, s store.Store) {
	a := mustAccount(t, s, "alice@example.org")
	b := mustAccount(t, s, "bob@example.org")
	inbox := mustMailbox(t, s, a.ID, "INBOX")
	arch := mustMailbox(t, s, a.ID, "Archive")
	mustAppend(t, s, inbox.Ref(), testMessage("same"), testMessage("same"), testMessage("3"))
	ms := metas(t, s, inbox.Ref(), []uint32{1, 2, 3})
	emailID := func(ref store.MailboxRef, id int64) int64 {
		t.Helper()
		e, err := s.MessageEmailID(ctx(t), ref, id)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	ids := map[int64]bool{}
	for _, m := range ms {
		ids[emailID(inbox.Ref(), m.ID)] = true
	}
	if len(ids) != 3 {
		t.Fatalf("EMAILIDs of 3 messages: %v", ids)
	}
	e1, e3 := emailID(inbox.Ref(), ms[0].ID), emailID(inbox.Ref(), ms[2].ID)
	if _, _, err := s.Copy(ctx(t), inbox.Ref(), []uint32{1}, arch.Ref()); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := s.Move(ctx(t), inbox.Ref(), []uint32{3}, arch.Ref()); err != nil {
		t.Fatal(err)
	}
	got := metas(t, s, arch.Ref(), []uint32{1, 2})
	if len(got) != 2 || emailID(arch.Ref(), got[0].ID) != e1 || emailID(arch.Ref(), got[1].ID) != e3 {
		t.Fatalf("copy/move lost the EMAILID: %+v, want %d %d", got, e1, e3)
	}
	// A copy of a copy keeps it too.
	if _, _, err := s.Copy(ctx(t), arch.Ref(), []uint32{1}, inbox.Ref()); err != nil {
		t.Fatal(err)
	}
	if m := metas(t, s, inbox.Ref(), []uint32{4}); len(m) != 1 || emailID(inbox.Ref(), m[0].ID) != e1 {
		t.Fatalf("copy of a copy: %+v", m)
	}
	// Expunge everything; new messages get new ids.
	for _, mb := range []store.Mailbox{inbox, arch} {
		if _, _, err := s.Expunge(ctx(t), mb.Ref(), nil, false); err != nil {
			t.Fatal(err)
		}
	}
	all := map[int64]bool{e1: true, e3: true}
	for id := range ids {
		all[id] = true
	}
	mustAppend(t, s, inbox.Ref(), testMessage("new"))
	if m := metas(t, s, inbox.Ref(), []uint32{5}); len(m) != 1 || all[emailID(inbox.Ref(), m[0].ID)] {
		t.Fatalf("EMAILID reused after expunge: %+v of %v", m, all)
	}
	// Another account's mailbox does not reach the message.
	bInbox := mustMailbox(t, s, b.ID, "INBOX")
	m := metas(t, s, inbox.Ref(), []uint32{5})
	if _, err := s.MessageEmailID(ctx(t), bInbox.Ref(), m[0].ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("MessageEmailID across accounts: %v, want ErrNotFound", err)
	}
}
