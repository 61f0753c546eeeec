package storetest

import (
	"errors"
	"testing"

	"github.com/mailroom/mailroom/store"
)

var replaceTests = []test{
	{"Replace/SameAndOtherMailbox", testReplace},
}

// testReplace: Replace appends and expunges in one step, in the same
// mailbox or into another; a missing source message changes nothing.
func testReplace(t *testing.T, s store.Store) {
	a := mustAccount(t, s, "alice@example.org")
	b := mustAccount(t, s, "bob@example.org")
	inbox := mustMailbox(t, s, a.ID, "INBOX")
	drafts := mustMailbox(t, s, a.ID, "Drafts")
	mustAppend(t, s, inbox.Ref(), testMessage("v1"), testMessage("other"))
	uv, uid, err := s.Replace(ctx(t), inbox.Ref(), 1, inbox.Ref(), testMessage("v2"))
	if err != nil {
		t.Fatal(err)
	}
	if uv != inbox.UIDValidity || uid != 3 {
		t.Fatalf("Replace: UIDVALIDITY %d UID %d, want %d 3", uv, uid, inbox.UIDValidity)
	}
	wantUIDs(t, "after Replace", uidsOf(t, s, inbox.Ref()), []uint32{2, 3})
	_, vanished, _, err := s.Changes(ctx(t), inbox.Ref(), 0)
	if err != nil || len(vanished) != 1 || vanished[0] != 1 {
		t.Fatalf("Changes: vanished %v, %v", vanished, err)
	}
	// Into another mailbox.
	if _, uid, err = s.Replace(ctx(t), inbox.Ref(), 3, drafts.Ref(), testMessage("v3")); err != nil || uid != 1 {
		t.Fatalf("Replace into Drafts: uid %d, %v", uid, err)
	}
	wantUIDs(t, "INBOX", uidsOf(t, s, inbox.Ref()), []uint32{2})
	wantUIDs(t, "Drafts", uidsOf(t, s, drafts.Ref()), []uint32{1})
	// Nothing to replace: nothing appended either.
	if _, _, err := s.Replace(ctx(t), inbox.Ref(), 3, drafts.Ref(), testMessage("v4")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Replace of an expunged message: %v, want ErrNotFound", err)
	}
	wantUIDs(t, "Drafts unchanged", uidsOf(t, s, drafts.Ref()), []uint32{1})
	// Scoped by account: bob's ref does not reach alice's mailbox.
	bInbox := mustMailbox(t, s, b.ID, "INBOX")
	ref := inbox.Ref()
	ref.AccountID = bInbox.AccountID
	if _, _, err := s.Replace(ctx(t), ref, 2, bInbox.Ref(), testMessage("x")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Replace across accounts: %v, want ErrNotFound", err)
	}
	wantUIDs(t, "INBOX unchanged", uidsOf(t, s, inbox.Ref()), []uint32{2})
	wantUIDs(t, "bob's INBOX unchanged", uidsOf(t, s, bInbox.Ref()), nil)
}
