package storetest

import (
	"testing"

	"github.com/mailroom/mailroom/store"
)

var flagTests = []test{
	{"Flags/Ops", testFlagOps},
	{"Flags/UnchangedSince", testUnchangedSince},
	{"Changes", testChanges},
}

func testFlagOps(t *testing.T, s store.Store) {
	a := mustAccount(t, s, "alice@example.org")
	inbox := mustMailbox(t, s, a.ID, "INBOX")
	mustAppend(t, s, inbox.Ref(), testMessage("1"), testMessage("2", store.FlagSeen, "Work"))
	hms := mustMailbox(t, s, a.ID, "INBOX").HighestModSeq

	changed, failed, err := s.UpdateFlags(ctx(t), inbox.Ref(), []uint32{1, 2}, store.FlagsAdd, []string{`\seen`, "work"}, 0)
	if err != nil || len(failed) != 0 {
		t.Fatalf("add: %v, failed %v", err, failed)
	}
	// Message 2 already had both (keywords compare case-insensitively).
	if len(changed) != 1 || changed[0].UID != 1 || changed[0].ModSeq <= hms {
		t.Fatalf("add changed %+v (HIGHESTMODSEQ was %d)", changed, hms)
	}
	wantFlags(t, "after +FLAGS", changed[0].Flags, store.FlagSeen, "work")
	if now := mustMailbox(t, s, a.ID, "INBOX").HighestModSeq; now != changed[0].ModSeq {
		t.Fatalf("HIGHESTMODSEQ %d, want the new modseq %d", now, changed[0].ModSeq)
	}
	wantFlags(t, "listed after +FLAGS", metas(t, s, inbox.Ref(), []uint32{1})[0].Flags, store.FlagSeen, "work")

	hms = changed[0].ModSeq
	changed, _, err = s.UpdateFlags(ctx(t), inbox.Ref(), []uint32{1, 2}, store.FlagsRemove, []string{"WORK", `\Seen`}, 0)
	if err != nil || len(changed) != 2 {
		t.Fatalf("remove: %+v, %v", changed, err)
	}
	// The new modseqs follow the previous HIGHESTMODSEQ one by one, in UID
	// order: the result is all that happened in between (imapserver feeds
	// its session views and mailbox index from it).
	for i, m := range changed {
		if m.UID != uint32(i+1) || m.ModSeq != hms+uint64(i+1) {
			t.Fatalf("remove changed %+v, want UIDs 1, 2 with modseqs %d, %d", changed, hms+1, hms+2)
		}
	}
	for _, m := range changed {
		wantFlags(t, "after -FLAGS", m.Flags)
	}

	changed, _, err = s.UpdateFlags(ctx(t), inbox.Ref(), []uint32{2}, store.FlagsReplace, []string{store.FlagDraft, "$Junk", store.FlagDraft}, 0)
	if err != nil || len(changed) != 1 {
		t.Fatalf("replace: %+v, %v", changed, err)
	}
	wantFlags(t, "after FLAGS", changed[0].Flags, "$Junk", store.FlagDraft)
	hms = mustMailbox(t, s, a.ID, "INBOX").HighestModSeq

	// A no-op change reports nothing and does not bump modseqs.
	changed, failed, err = s.UpdateFlags(ctx(t), inbox.Ref(), []uint32{2, 99}, store.FlagsReplace, []string{"$junk", `\draft`}, 0)
	if err != nil || len(changed) != 0 || len(failed) != 0 {
		t.Fatalf("no-op replace: changed %+v failed %v err %v", changed, failed, err)
	}
	if now := mustMailbox(t, s, a.ID, "INBOX").HighestModSeq; now != hms {
		t.Fatalf("no-op change moved HIGHESTMODSEQ %d -> %d", hms, now)
	}
	_, _, err = s.UpdateFlags(ctx(t), store.MailboxRef{MailboxID: 987654}, []uint32{1}, store.FlagsAdd, []string{store.FlagSeen}, 0)
	wantErr(t, "UpdateFlags in missing mailbox", err, store.ErrNotFound)
}

func testUnchangedSince(t *testing.T, s store.Store) {
	a := mustAccount(t, s, "alice@example.org")
	inbox := mustMailbox(t, s, a.ID, "INBOX")
	mustAppend(t, s, inbox.Ref(), testMessage("1"), testMessage("2"), testMessage("3"))
	ms := metas(t, s, inbox.Ref(), nil)
	since := ms[2].ModSeq // all three unchanged since then
	// Someone else changes message 2.
	if _, _, err := s.UpdateFlags(ctx(t), inbox.Ref(), []uint32{2}, store.FlagsAdd, []string{store.FlagFlagged}, 0); err != nil {
		t.Fatal(err)
	}
	changed, failed, err := s.UpdateFlags(ctx(t), inbox.Ref(), []uint32{1, 2, 3}, store.FlagsAdd, []string{store.FlagSeen}, since)
	if err != nil {
		t.Fatal(err)
	}
	wantUIDs(t, "UNCHANGEDSINCE failed", failed, []uint32{2})
	if len(changed) != 2 || changed[0].UID != 1 || changed[1].UID != 3 {
		t.Fatalf("UNCHANGEDSINCE changed %+v", changed)
	}
	if changed[0].ModSeq <= since || changed[1].ModSeq <= since {
		t.Fatalf("changed messages got modseqs %d, %d, not above %d", changed[0].ModSeq, changed[1].ModSeq, since)
	}
	if m := metas(t, s, inbox.Ref(), []uint32{2})[0]; m.HasFlag(store.FlagSeen) {
		t.Fatal("message failing UNCHANGEDSINCE was changed")
	}
}

func testChanges(t *testing.T, s store.Store) {
	a := mustAccount(t, s, "alice@example.org")
	inbox := mustMailbox(t, s, a.ID, "INBOX")
	mustAppend(t, s, inbox.Ref(), testMessage("1"), testMessage("2"), testMessage("3"), testMessage("4"))

	changed, vanished, highest, err := s.Changes(ctx(t), inbox.Ref(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(changed) != 4 || len(vanished) != 0 || highest != changed[3].ModSeq {
		t.Fatalf("Changes since 0: %d changed, vanished %v, highest %d", len(changed), vanished, highest)
	}
	for i := 1; i < len(changed); i++ {
		if changed[i].UID <= changed[i-1].UID || changed[i].ModSeq < changed[i-1].ModSeq {
			t.Fatalf("Changes not in UID order or modseqs decreasing: %+v", changed)
		}
	}
	mark := highest

	if _, _, err := s.UpdateFlags(ctx(t), inbox.Ref(), []uint32{2}, store.FlagsAdd, []string{store.FlagDeleted}, 0); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.UpdateFlags(ctx(t), inbox.Ref(), []uint32{4}, store.FlagsAdd, []string{"$Important"}, 0); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Expunge(ctx(t), inbox.Ref(), nil, true); err != nil {
		t.Fatal(err)
	}
	changed, vanished, highest, err = s.Changes(ctx(t), inbox.Ref(), mark)
	if err != nil {
		t.Fatal(err)
	}
	if len(changed) != 1 || changed[0].UID != 4 || changed[0].ModSeq <= mark {
		t.Fatalf("Changes after flag change: %+v", changed)
	}
	wantFlags(t, "changed", changed[0].Flags, "$Important")
	wantUIDs(t, "vanished", vanished, []uint32{2})
	if highest <= changed[0].ModSeq || highest != status(t, s, inbox.Ref()).HighestModSeq {
		t.Fatalf("highest %d (changed modseq %d, status %d)", highest, changed[0].ModSeq, status(t, s, inbox.Ref()).HighestModSeq)
	}
	changed, vanished, h2, err := s.Changes(ctx(t), inbox.Ref(), highest)
	if err != nil || len(changed) != 0 || len(vanished) != 0 || h2 != highest {
		t.Fatalf("Changes since HIGHESTMODSEQ: %+v %v %d %v", changed, vanished, h2, err)
	}
	_, _, _, err = s.Changes(ctx(t), store.MailboxRef{MailboxID: 987654}, 0)
	wantErr(t, "Changes of missing mailbox", err, store.ErrNotFound)
}
