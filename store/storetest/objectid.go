package storetest

import (
	"testing"

	"github.com/mailroom/mailroom/store"
)

var objectIDTests = []test{
	{"ObjectID/EmailID", testEmailID},
}

// testEmailID: EmailIDs is distinct per stored message (even for the
// same bytes), kept by Copy and Move (RFC 8474 §5.1), never handed out
// again after an expunge, and scoped by account.
func testEmailID(t *testing.T, s store.Store) {
	a := mustAccount(t, s, "alice@example.org")
	b := mustAccount(t, s, "bob@example.org")
	inbox := mustMailbox(t, s, a.ID, "INBOX")
	arch := mustMailbox(t, s, a.ID, "Archive")
	mustAppend(t, s, inbox.Ref(), testMessage("same"), testMessage("same"), testMessage("3"))
	ms := metas(t, s, inbox.Ref(), []uint32{1, 2, 3})
	emailID := func(ref store.MailboxRef, uid uint32) int64 {
		t.Helper()
		e, err := s.EmailIDs(ctx(t), ref, []uint32{uid})
		if err != nil || len(e) != 1 {
			t.Fatalf("EmailIDs of UID %d: %v, %v", uid, e, err)
		}
		return e[uid]
	}
	// One call answers for several messages; unknown UIDs are absent.
	got3, err := s.EmailIDs(ctx(t), inbox.Ref(), []uint32{1, 2, 3, 99})
	if err != nil {
		t.Fatal(err)
	}
	ids := map[int64]bool{}
	for _, m := range ms {
		if got3[m.UID] != emailID(inbox.Ref(), m.UID) {
			t.Fatalf("EmailIDs of 1:3,99 %v disagrees with one at a time", got3)
		}
		ids[got3[m.UID]] = true
	}
	if len(ids) != 3 || len(got3) != 3 {
		t.Fatalf("EMAILIDs of 3 messages: %v", got3)
	}
	e1, e3 := emailID(inbox.Ref(), 1), emailID(inbox.Ref(), 3)
	if _, _, err := s.Copy(ctx(t), inbox.Ref(), []uint32{1}, arch.Ref()); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := s.Move(ctx(t), inbox.Ref(), []uint32{3}, arch.Ref()); err != nil {
		t.Fatal(err)
	}
	if emailID(arch.Ref(), 1) != e1 || emailID(arch.Ref(), 2) != e3 {
		t.Fatalf("copy/move lost the EMAILID, want %d %d", e1, e3)
	}
	// A copy of a copy keeps it too.
	if _, _, err := s.Copy(ctx(t), arch.Ref(), []uint32{1}, inbox.Ref()); err != nil {
		t.Fatal(err)
	}
	if emailID(inbox.Ref(), 4) != e1 {
		t.Fatalf("copy of a copy lost the EMAILID")
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
	if all[emailID(inbox.Ref(), 5)] {
		t.Fatalf("EMAILID reused after expunge: %v", all)
	}
	// Another account's mailbox does not reach the message: a ref with
	// bob's account and alice's mailbox id names nothing.
	bInbox := mustMailbox(t, s, b.ID, "INBOX")
	cross := inbox.Ref()
	cross.AccountID = bInbox.AccountID
	if got, err := s.EmailIDs(ctx(t), cross, []uint32{5}); err != nil || len(got) != 0 {
		t.Fatalf("EmailIDs across accounts: %v, %v; want none", got, err)
	}
}
