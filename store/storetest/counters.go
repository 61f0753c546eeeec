package storetest

import (
	"fmt"
	"sync"
	"testing"

	"github.com/mailroom/mailroom/store"
)

// Backends keep MailboxStatus's counts on the mailbox row (issue 7); these
// tests hold them to a recount of the messages after every kind of write.
var counterTests = []test{
	{"Counters/EveryWrite", testCountersEveryWrite},
	{"Counters/ConcurrentDeliver", testCountersConcurrentDeliver},
}

// recount computes what MailboxStatus must say from the mailbox's messages.
func recount(t *testing.T, s store.Store, mailboxID store.MailboxRef) store.MailboxStatus {
	t.Helper()
	var st store.MailboxStatus
	for _, m := range metas(t, s, mailboxID, nil) {
		st.Messages++
		if !m.HasFlag(store.FlagSeen) {
			st.Unseen++
		}
		if m.HasFlag(store.FlagDeleted) {
			st.Deleted++
		}
		st.Size += m.Size
	}
	return st
}

// checkCounts compares MailboxStatus of each mailbox with a recount, and
// its UIDNEXT/HIGHESTMODSEQ with the mailbox row.
func checkCounts(t *testing.T, s store.Store, what string, mailboxIDs ...store.MailboxRef) {
	t.Helper()
	for _, id := range mailboxIDs {
		got := status(t, s, id)
		want := recount(t, s, id)
		if got.Messages != want.Messages || got.Unseen != want.Unseen || got.Deleted != want.Deleted || got.Size != want.Size {
			t.Fatalf("%s: MailboxStatus(%d) = %d messages, %d unseen, %d deleted, %d bytes; recount %d, %d, %d, %d",
				what, id, got.Messages, got.Unseen, got.Deleted, got.Size, want.Messages, want.Unseen, want.Deleted, want.Size)
		}
		mb, err := s.MailboxByID(ctx(t), id)
		if err != nil {
			t.Fatalf("%s: MailboxByID(%d): %v", what, id, err)
		}
		if got.UIDNext != mb.UIDNext || got.UIDValidity != mb.UIDValidity || got.HighestModSeq != mb.HighestModSeq {
			t.Fatalf("%s: MailboxStatus(%d) = %+v, mailbox %+v", what, id, got, mb)
		}
	}
}

func wantStatusGone(t *testing.T, s store.Store, what string, mailboxID store.MailboxRef) {
	t.Helper()
	_, err := s.MailboxStatus(ctx(t), mailboxID)
	wantErr(t, what, err, store.ErrNotFound)
}

func testCountersEveryWrite(t *testing.T, s store.Store) {
	c := ctx(t)
	a := mustAccount(t, s, "count@example.org")
	b := mustAccount(t, s, "other@example.org")
	inbox := mustMailbox(t, s, a.ID, store.Inbox).Ref()
	binbox := mustMailbox(t, s, b.ID, store.Inbox).Ref()
	other := mustCreate(t, s, a.ID, "Other").Ref()
	folder := mustCreate(t, s, a.ID, "Folder").Ref()
	checkCounts(t, s, "empty", inbox, other, folder, binbox)

	for i, flags := range [][]string{nil, {store.FlagSeen}, {store.FlagDeleted, "$Work"}} {
		if _, err := s.Deliver(c, []store.Target{{AccountID: a.ID}, {AccountID: b.ID}}, testMessage(fmt.Sprint("d", i), flags...)); err != nil {
			t.Fatalf("Deliver: %v", err)
		}
	}
	checkCounts(t, s, "Deliver", inbox, binbox)

	mustAppend(t, s, inbox, testMessage("a1", store.FlagSeen, store.FlagDeleted), testMessage("a2 longer subject"))
	checkCounts(t, s, "Append", inbox)

	all := uidsOf(t, s, inbox)
	for _, st := range []struct {
		op    store.FlagOp
		uids  []uint32
		flags []string
	}{
		{store.FlagsAdd, all[:3], []string{store.FlagSeen}},
		{store.FlagsAdd, all, []string{store.FlagSeen}}, // some already \Seen
		{store.FlagsRemove, all[1:2], []string{store.FlagSeen}},
		{store.FlagsAdd, all[3:], []string{store.FlagDeleted}},
		{store.FlagsAdd, all, []string{"$Keyword"}}, // keywords only
		{store.FlagsReplace, all[:2], []string{store.FlagDeleted}},
		{store.FlagsRemove, all[:1], []string{store.FlagDeleted, store.FlagSeen}},
	} {
		if _, _, err := s.UpdateFlags(c, inbox, st.uids, st.op, st.flags, 0); err != nil {
			t.Fatalf("UpdateFlags: %v", err)
		}
		checkCounts(t, s, fmt.Sprintf("UpdateFlags %d %v %q", st.op, st.uids, st.flags), inbox)
	}

	if _, _, err := s.Copy(c, inbox, all, other); err != nil {
		t.Fatalf("Copy: %v", err)
	}
	checkCounts(t, s, "Copy", inbox, other)
	if _, _, err := s.Copy(c, other, uidsOf(t, s, other)[:2], other); err != nil {
		t.Fatalf("Copy into itself: %v", err)
	}
	checkCounts(t, s, "Copy into itself", other)

	if _, _, _, err := s.Move(c, inbox, all[:2], folder); err != nil {
		t.Fatalf("Move: %v", err)
	}
	checkCounts(t, s, "Move", inbox, folder)
	if _, _, _, err := s.Move(c, folder, uidsOf(t, s, folder)[:1], folder); err != nil {
		t.Fatalf("Move into itself: %v", err)
	}
	checkCounts(t, s, "Move into itself", folder)

	if _, _, err := s.Expunge(c, other, nil, true); err != nil {
		t.Fatalf("Expunge deleted: %v", err)
	}
	checkCounts(t, s, "Expunge \\Deleted", other)
	if _, _, err := s.Expunge(c, other, uidsOf(t, s, other)[:1], false); err != nil {
		t.Fatalf("Expunge uids: %v", err)
	}
	checkCounts(t, s, "Expunge uids", other)
	if _, _, err := s.Expunge(c, folder, nil, false); err != nil {
		t.Fatalf("Expunge all: %v", err)
	}
	checkCounts(t, s, "Expunge all", folder)
	if st := status(t, s, folder); st.Messages != 0 || st.Size != 0 || st.Unseen != 0 || st.Deleted != 0 {
		t.Fatalf("emptied mailbox: %+v", st)
	}

	before := status(t, s, inbox)
	if err := s.RenameMailbox(c, a.ID, store.Inbox, "Old/Inbox"); err != nil {
		t.Fatalf("RenameMailbox INBOX: %v", err)
	}
	old := mustMailbox(t, s, a.ID, "Old/Inbox").Ref()
	checkCounts(t, s, "RenameMailbox INBOX", inbox, old)
	if st := status(t, s, old); st.Messages != before.Messages || st.Size != before.Size {
		t.Fatalf("renamed INBOX: %+v, was %+v", st, before)
	}
	if err := s.RenameMailbox(c, a.ID, "Other", "Renamed"); err != nil {
		t.Fatalf("RenameMailbox: %v", err)
	}
	checkCounts(t, s, "RenameMailbox", other)

	// The copies in Renamed share bytes with Old/Inbox's messages; deleting
	// one mailbox leaves the other's counts alone.
	if err := s.DeleteMailbox(c, a.ID, "Old/Inbox"); err != nil {
		t.Fatalf("DeleteMailbox: %v", err)
	}
	wantStatusGone(t, s, "MailboxStatus of a deleted mailbox", old)
	checkCounts(t, s, "DeleteMailbox", inbox, other, folder, binbox)

	if _, err := s.Deliver(c, []store.Target{{AccountID: a.ID}, {AccountID: b.ID}}, testMessage("late", store.FlagSeen)); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	if err := s.DeleteAccount(c, b.Email); err != nil {
		t.Fatalf("DeleteAccount: %v", err)
	}
	wantStatusGone(t, s, "MailboxStatus of a deleted account's mailbox", binbox)
	checkCounts(t, s, "DeleteAccount", inbox, other, folder)
}

func testCountersConcurrentDeliver(t *testing.T, s store.Store) {
	c := ctx(t)
	a := mustAccount(t, s, "busy@example.org")
	b := mustAccount(t, s, "busy2@example.org")
	inbox := mustMailbox(t, s, a.ID, store.Inbox).Ref()
	binbox := mustMailbox(t, s, b.ID, store.Inbox).Ref()
	const workers, each = 6, 8
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				var flags []string
				if i%3 == 0 {
					flags = []string{store.FlagSeen}
				}
				targets := []store.Target{{AccountID: a.ID}}
				if w%2 == 0 {
					targets = append(targets, store.Target{AccountID: b.ID})
				}
				if _, err := s.Deliver(c, targets, testMessage(fmt.Sprint(w, "-", i), flags...)); err != nil {
					errs <- err
					return
				}
				if i == each/2 {
					// Flag changes interleaved with the deliveries.
					uids, err := UIDs(c, s, inbox)
					if err == nil && len(uids) > 0 {
						_, _, err = s.UpdateFlags(c, inbox, uids[:1], store.FlagsAdd, []string{store.FlagDeleted}, 0)
					}
					if err != nil {
						errs <- err
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent write: %v", err)
	}
	checkCounts(t, s, "concurrent Deliver", inbox, binbox)
	if st := status(t, s, inbox); st.Messages != workers*each {
		t.Fatalf("INBOX has %d messages after %d deliveries", st.Messages, workers*each)
	}
}
