package storetest

import (
	"slices"
	"testing"

	"github.com/mailroom/mailroom/store"
)

var mailboxTests = []test{
	{"Mailboxes/Names", testMailboxNames},
	{"Mailboxes/CreateParents", testCreateParents},
	{"Mailboxes/Delete", testDeleteMailbox},
	{"Mailboxes/Rename", testRenameMailbox},
	{"Mailboxes/RenameInbox", testRenameInbox},
	{"Mailboxes/Subscriptions", testSubscriptions},
	{"Mailboxes/Status", testMailboxStatus},
}

func testMailboxNames(t *testing.T, s store.Store) {
	a := mustAccount(t, s, "alice@example.org")
	inbox := mustMailbox(t, s, a.ID, "InBoX")
	if inbox.Name != "INBOX" {
		t.Fatalf("INBOX name = %q", inbox.Name)
	}
	byID, err := s.MailboxByID(ctx(t), inbox.Ref())
	if err != nil || byID != inbox {
		t.Fatalf("MailboxByID = %+v, %v; want %+v", byID, err, inbox)
	}
	_, err = s.MailboxByName(ctx(t), a.ID, "drafts")
	wantErr(t, "MailboxByName is case-sensitive except INBOX", err, store.ErrNotFound)
	_, err = s.MailboxByID(ctx(t), store.MailboxRef{MailboxID: 987654})
	wantErr(t, "MailboxByID missing", err, store.ErrNotFound)

	_, err = s.CreateMailbox(ctx(t), a.ID, "inbox", "")
	wantErr(t, "create inbox", err, store.ErrExists)
	_, err = s.CreateMailbox(ctx(t), a.ID, "Drafts", "")
	wantErr(t, "create Drafts", err, store.ErrExists)
	_, err = s.CreateMailbox(ctx(t), a.ID, "", "")
	wantErr(t, "create empty name", err, store.ErrInvalid)

	m, err := s.CreateMailbox(ctx(t), a.ID, "drafts", store.UseFlagged)
	if err != nil {
		t.Fatalf("create drafts (differs in case from Drafts): %v", err)
	}
	if m.Name != "drafts" || m.SpecialUse != store.UseFlagged || m.UIDNext != 1 || m.UIDValidity == 0 || m.AccountID != a.ID {
		t.Fatalf("created %+v", m)
	}
	// RFC 7162 §7: the HIGHESTMODSEQ of SELECT is a mod-sequence-value,
	// at least 1, even for a new empty mailbox; the first change must then
	// get a larger modseq so CHANGEDSINCE <that value> finds it.
	if m.HighestModSeq < 1 {
		t.Fatalf("new mailbox HighestModSeq = %d, want >= 1", m.HighestModSeq)
	}
	if got := mustMailbox(t, s, a.ID, "drafts"); got != m {
		t.Fatalf("MailboxByName = %+v, want %+v", got, m)
	}
	// INBOX's inferiors: the first level is canonicalized.
	sub := mustCreate(t, s, a.ID, "inbox/Sub")
	if sub.Name != "INBOX/Sub" {
		t.Fatalf("inbox/Sub created as %q", sub.Name)
	}
	mustMailbox(t, s, a.ID, "Inbox/Sub")
}

func testCreateParents(t *testing.T, s store.Store) {
	a := mustAccount(t, s, "alice@example.org")
	c := mustCreate(t, s, a.ID, "a/b/c")
	if c.Name != "a/b/c" {
		t.Fatalf("created %q", c.Name)
	}
	mustMailbox(t, s, a.ID, "a")
	mustMailbox(t, s, a.ID, "a/b")
	_, err := s.CreateMailbox(ctx(t), a.ID, "a/b", "")
	wantErr(t, "create existing parent", err, store.ErrExists)
	// A trailing delimiter is dropped.
	d := mustCreate(t, s, a.ID, "a/d/")
	if d.Name != "a/d" {
		t.Fatalf("created %q for a/d/", d.Name)
	}
	ms, err := s.Mailboxes(ctx(t), a.ID)
	if err != nil {
		t.Fatal(err)
	}
	got := names(ms)
	if !slices.IsSorted(got) {
		t.Fatalf("Mailboxes not sorted by name: %q", got)
	}
	for _, n := range []string{"a", "a/b", "a/b/c", "a/d"} {
		if !slices.Contains(got, n) {
			t.Fatalf("Mailboxes %q lacks %q", got, n)
		}
	}
}

func testDeleteMailbox(t *testing.T, s store.Store) {
	a := mustAccount(t, s, "alice@example.org")
	wantErr(t, "delete INBOX", s.DeleteMailbox(ctx(t), a.ID, "inbox"), store.ErrInvalid)
	wantErr(t, "delete missing", s.DeleteMailbox(ctx(t), a.ID, "nope"), store.ErrNotFound)
	mustCreate(t, s, a.ID, "p/q")
	wantErr(t, "delete with children", s.DeleteMailbox(ctx(t), a.ID, "p"), store.ErrHasChildren)

	q := mustMailbox(t, s, a.ID, "p/q")
	mustAppend(t, s, q.Ref(), testMessage("one"), testMessage("two"))
	ms := metas(t, s, q.Ref(), nil)
	if err := s.DeleteMailbox(ctx(t), a.ID, "p/q"); err != nil {
		t.Fatal(err)
	}
	_, err := s.MailboxByID(ctx(t), q.Ref())
	wantErr(t, "deleted mailbox", err, store.ErrNotFound)
	_, err = s.MessageBody(ctx(t), q.Ref(), ms[0].ID)
	wantErr(t, "message of deleted mailbox", err, store.ErrNotFound)
	if err := s.DeleteMailbox(ctx(t), a.ID, "p"); err != nil {
		t.Fatalf("delete p after its child: %v", err)
	}
	// Re-created with the same name: a new, larger UIDVALIDITY.
	q2 := mustCreate(t, s, a.ID, "p/q")
	if q2.UIDValidity <= q.UIDValidity {
		t.Fatalf("re-created mailbox UIDVALIDITY %d, was %d: must grow", q2.UIDValidity, q.UIDValidity)
	}
	if q2.UIDNext != 1 || len(uidsOf(t, s, q2.Ref())) != 0 {
		t.Fatalf("re-created mailbox is not empty: %+v", q2)
	}
}

func testRenameMailbox(t *testing.T, s store.Store) {
	a := mustAccount(t, s, "alice@example.org")
	src := mustCreate(t, s, a.ID, "a")
	child := mustCreate(t, s, a.ID, "a/b")
	other := mustCreate(t, s, a.ID, "ab") // shares a prefix, not an inferior
	uids := mustAppend(t, s, src.Ref(), testMessage("one"))
	if err := s.SetSubscribed(ctx(t), a.ID, "a", true); err != nil {
		t.Fatal(err)
	}

	wantErr(t, "rename missing", s.RenameMailbox(ctx(t), a.ID, "nope", "x"), store.ErrNotFound)
	wantErr(t, "rename onto existing", s.RenameMailbox(ctx(t), a.ID, "a", "Sent"), store.ErrExists)
	wantErr(t, "rename onto INBOX", s.RenameMailbox(ctx(t), a.ID, "a", "inbox"), store.ErrInvalid)

	if err := s.RenameMailbox(ctx(t), a.ID, "a", "x/y"); err != nil {
		t.Fatal(err)
	}
	_, err := s.MailboxByName(ctx(t), a.ID, "a")
	wantErr(t, "old name", err, store.ErrNotFound)
	_, err = s.MailboxByName(ctx(t), a.ID, "a/b")
	wantErr(t, "old inferior name", err, store.ErrNotFound)
	got := mustMailbox(t, s, a.ID, "x/y")
	if got.ID != src.ID || got.UIDValidity != src.UIDValidity || got.UIDNext != src.UIDNext+1 {
		t.Fatalf("renamed mailbox %+v, was %+v", got, src)
	}
	gotChild := mustMailbox(t, s, a.ID, "x/y/b")
	if gotChild.ID != child.ID || gotChild.UIDValidity != child.UIDValidity {
		t.Fatalf("renamed inferior %+v, was %+v", gotChild, child)
	}
	mustMailbox(t, s, a.ID, "x") // superior created
	if o := mustMailbox(t, s, a.ID, "ab"); o != other {
		t.Fatalf("mailbox ab changed by renaming a: %+v", o)
	}
	wantUIDs(t, "messages follow the rename", uidsOf(t, s, got.Ref()), uids)
}

func testRenameInbox(t *testing.T, s store.Store) {
	a := mustAccount(t, s, "alice@example.org")
	inbox := mustMailbox(t, s, a.ID, "INBOX")
	mustAppend(t, s, inbox.Ref(), testMessage("one", store.FlagSeen), testMessage("two"))
	before := metas(t, s, inbox.Ref(), nil)
	inbox = mustMailbox(t, s, a.ID, "INBOX")

	if err := s.RenameMailbox(ctx(t), a.ID, "inbox", "Old/Inbox"); err != nil {
		t.Fatal(err)
	}
	after := mustMailbox(t, s, a.ID, "INBOX")
	if after.ID != inbox.ID || after.UIDValidity != inbox.UIDValidity {
		t.Fatalf("INBOX after rename %+v, was %+v", after, inbox)
	}
	if u := uidsOf(t, s, inbox.Ref()); len(u) != 0 {
		t.Fatalf("INBOX still has %v after rename", u)
	}
	_, vanished, highest, err := s.Changes(ctx(t), inbox.Ref(), inbox.HighestModSeq)
	if err != nil {
		t.Fatal(err)
	}
	wantUIDs(t, "INBOX vanished after rename", vanished, []uint32{1, 2})
	if highest <= inbox.HighestModSeq {
		t.Fatalf("INBOX HIGHESTMODSEQ %d did not grow from %d", highest, inbox.HighestModSeq)
	}
	old := mustMailbox(t, s, a.ID, "Old/Inbox")
	mustMailbox(t, s, a.ID, "Old")
	moved := metas(t, s, old.Ref(), nil)
	if len(moved) != 2 {
		t.Fatalf("renamed INBOX has %d messages, want 2", len(moved))
	}
	wantFlags(t, "moved message", moved[0].Flags, store.FlagSeen)
	for i := range moved {
		raw, err := s.MessageBody(ctx(t), old.Ref(), moved[i].ID)
		if err != nil || len(raw) != int(before[i].Size) {
			t.Fatalf("moved message %d body: %d bytes, %v", i, len(raw), err)
		}
	}
	if old.UIDNext <= moved[1].UID {
		t.Fatalf("UIDNEXT %d not above moved UIDs", old.UIDNext)
	}
	// New deliveries go to the (empty) INBOX and get fresh UIDs.
	d, err := s.Deliver(ctx(t), []store.Target{{AccountID: a.ID}}, testMessage("three"))
	if err != nil {
		t.Fatal(err)
	}
	if d[0].MailboxID != inbox.ID || d[0].UID <= 2 {
		t.Fatalf("delivery after INBOX rename: %+v", d[0])
	}
}

func testSubscriptions(t *testing.T, s store.Store) {
	a := mustAccount(t, s, "alice@example.org")
	if err := s.SetSubscribed(ctx(t), a.ID, "Not/There", true); err != nil {
		t.Fatal(err)
	}
	if err := s.SetSubscribed(ctx(t), a.ID, "Not/There", true); err != nil {
		t.Fatalf("subscribing twice: %v", err)
	}
	if err := s.SetSubscribed(ctx(t), a.ID, "Junk", false); err != nil {
		t.Fatal(err)
	}
	subs, err := s.Subscriptions(ctx(t), a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(subs, "Not/There") || slices.Contains(subs, "Junk") || !slices.Contains(subs, "INBOX") {
		t.Fatalf("Subscriptions = %q", subs)
	}
	if err := s.SetSubscribed(ctx(t), a.ID, "Junk", false); err != nil {
		t.Fatalf("unsubscribing twice: %v", err)
	}
	if err := s.SetSubscribed(ctx(t), a.ID, "inbox", false); err != nil {
		t.Fatal(err)
	}
	subs, _ = s.Subscriptions(ctx(t), a.ID)
	if slices.Contains(subs, "INBOX") {
		t.Fatalf("INBOX still subscribed after unsubscribing \"inbox\": %q", subs)
	}
	// Subscriptions are per account.
	b := mustAccount(t, s, "bob@example.org")
	subs, _ = s.Subscriptions(ctx(t), b.ID)
	if slices.Contains(subs, "Not/There") {
		t.Fatal("subscription leaked to another account")
	}
}

func testMailboxStatus(t *testing.T, s store.Store) {
	a := mustAccount(t, s, "alice@example.org")
	inbox := mustMailbox(t, s, a.ID, "INBOX")
	st := status(t, s, inbox.Ref())
	if st.Messages != 0 || st.UIDNext != 1 || st.UIDValidity != inbox.UIDValidity {
		t.Fatalf("empty status %+v", st)
	}
	m1, m2, m3 := testMessage("one", store.FlagSeen), testMessage("two", store.FlagDeleted), testMessage("three")
	mustAppend(t, s, inbox.Ref(), m1, m2, m3)
	st = status(t, s, inbox.Ref())
	want := store.MailboxStatus{
		Messages: 3, Unseen: 2, Deleted: 1,
		Size:    int64(len(m1.Raw) + len(m2.Raw) + len(m3.Raw)),
		UIDNext: 4, UIDValidity: inbox.UIDValidity,
		HighestModSeq: mustMailbox(t, s, a.ID, "INBOX").HighestModSeq,
	}
	if st != want {
		t.Fatalf("status %+v, want %+v", st, want)
	}
	if st.HighestModSeq <= inbox.HighestModSeq {
		t.Fatalf("HIGHESTMODSEQ did not grow on append: %d", st.HighestModSeq)
	}
	_, err := s.MailboxStatus(ctx(t), store.MailboxRef{MailboxID: 987654})
	wantErr(t, "status of missing mailbox", err, store.ErrNotFound)

	mb, byName, err := s.MailboxStatusByName(ctx(t), a.ID, "inbox")
	if err != nil || byName != want || mb != mustMailbox(t, s, a.ID, "INBOX") {
		t.Fatalf("MailboxStatusByName(inbox) = %+v, %+v, %v; want %+v and the INBOX", mb, byName, err, want)
	}
	_, err = s.CreateMailbox(ctx(t), a.ID, "Work", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, st, err := s.MailboxStatusByName(ctx(t), a.ID, "Work"); err != nil || st.Messages != 0 || st.UIDNext != 1 {
		t.Fatalf("MailboxStatusByName(Work) = %+v, %v", st, err)
	}
	_, _, err = s.MailboxStatusByName(ctx(t), a.ID, "work")
	wantErr(t, "MailboxStatusByName is case-sensitive except INBOX", err, store.ErrNotFound)
	b := mustAccount(t, s, "bob@example.org")
	_, _, err = s.MailboxStatusByName(ctx(t), b.ID, "Work")
	wantErr(t, "MailboxStatusByName of another account's mailbox", err, store.ErrNotFound)
}
