package storetest

import (
	"testing"

	"github.com/mailroom/mailroom/store"
)

// AccountUsage is what quotas are enforced on: every message in every
// mailbox of the account, copies counted again.
var usageTests = []test{
	{"Usage/EveryWrite", testUsageEveryWrite},
}

// wantUsage compares AccountUsage with a recount over the account's mailboxes.
func wantUsage(t *testing.T, s store.Store, what string, accountID int64, messages int64) store.Usage {
	t.Helper()
	got, err := s.AccountUsage(ctx(t), accountID)
	if err != nil {
		t.Fatalf("%s: AccountUsage: %v", what, err)
	}
	mbs, err := s.Mailboxes(ctx(t), accountID)
	if err != nil {
		t.Fatalf("%s: Mailboxes: %v", what, err)
	}
	var want store.Usage
	for _, mb := range mbs {
		for _, m := range metas(t, s, mb.Ref(), nil) {
			want.Messages++
			want.Bytes += m.Size
		}
	}
	if got != want || got.Messages != messages {
		t.Fatalf("%s: AccountUsage = %+v; recount %+v, want %d messages", what, got, want, messages)
	}
	return got
}

func testUsageEveryWrite(t *testing.T, s store.Store) {
	c := ctx(t)
	a := mustAccount(t, s, "usage@example.org")
	b := mustAccount(t, s, "bystander@example.org")
	inbox := mustMailbox(t, s, a.ID, store.Inbox).Ref()
	sent := mustMailbox(t, s, a.ID, "Sent").Ref()
	folder := mustCreate(t, s, a.ID, "Folder").Ref()
	if u := wantUsage(t, s, "empty", a.ID, 0); u.Bytes != 0 {
		t.Fatalf("empty account uses %d bytes", u.Bytes)
	}

	// One delivery to two mailboxes of a and to b counts twice for a.
	msg := testMessage("delivered")
	if _, err := s.Deliver(c, []store.Target{{AccountID: a.ID}, {AccountID: a.ID, MailboxID: sent.MailboxID}, {AccountID: b.ID}}, msg); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	u := wantUsage(t, s, "Deliver", a.ID, 2)
	if u.Bytes != 2*int64(len(msg.Raw)) {
		t.Fatalf("Deliver: %d bytes, want %d", u.Bytes, 2*len(msg.Raw))
	}
	wantUsage(t, s, "Deliver, other account", b.ID, 1)

	mustAppend(t, s, folder, testMessage("appended one"), testMessage("appended two, longer"))
	wantUsage(t, s, "Append", a.ID, 4)

	if _, _, err := s.Copy(c, folder, uidsOf(t, s, folder), inbox); err != nil {
		t.Fatalf("Copy: %v", err)
	}
	before := wantUsage(t, s, "Copy", a.ID, 6)

	if _, _, _, err := s.Move(c, inbox, uidsOf(t, s, inbox), folder); err != nil {
		t.Fatalf("Move: %v", err)
	}
	if after := wantUsage(t, s, "Move", a.ID, 6); after != before {
		t.Fatalf("Move changed usage: %+v -> %+v", before, after)
	}

	if _, _, err := s.Expunge(c, folder, uidsOf(t, s, folder)[:2], false); err != nil {
		t.Fatalf("Expunge: %v", err)
	}
	wantUsage(t, s, "Expunge", a.ID, 4)

	if err := s.DeleteMailbox(c, a.ID, "Folder"); err != nil {
		t.Fatalf("DeleteMailbox: %v", err)
	}
	wantUsage(t, s, "DeleteMailbox", a.ID, 1)
	wantUsage(t, s, "other account unchanged", b.ID, 1)

	if err := s.DeleteAccount(c, b.Email); err != nil {
		t.Fatalf("DeleteAccount: %v", err)
	}
	_, err := s.AccountUsage(c, b.ID)
	wantErr(t, "AccountUsage of a deleted account", err, store.ErrNotFound)
}
