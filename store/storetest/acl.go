package storetest

import (
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/mailroom/mailroom/store"
)

var aclTests = []test{
	{"ACL/SetGetDelete", testACLSetGetDelete},
	{"ACL/Rights", testACLRights},
	{"ACL/NoGrantNoAccess", testACLNoGrantNoAccess},
	{"ACL/RevokeAtOnce", testACLRevokeAtOnce},
	{"ACL/SharedMailboxes", testACLSharedMailboxes},
	{"ACL/SharedMailboxesBound", testACLSharedMailboxesBound},
	{"ACL/DeleteMailboxDropsRows", testACLDeleteMailbox},
	{"ACL/DeleteAccountDropsRows", testACLDeleteAccount},
	{"ACL/Scoped", testACLScoped},
	{"ACL/Bounds", testACLBounds},
}

func mustSetACL(t *testing.T, s store.Store, ref store.MailboxRef, id, rights string) {
	t.Helper()
	if err := s.SetMailboxACL(ctx(t), ref, id, rights); err != nil {
		t.Fatalf("SetMailboxACL(%s, %q): %v", id, rights, err)
	}
}

func mustACL(t *testing.T, s store.Store, ref store.MailboxRef) []store.ACLEntry {
	t.Helper()
	acl, err := s.MailboxACL(ctx(t), ref)
	if err != nil {
		t.Fatalf("MailboxACL: %v", err)
	}
	return acl
}

func testACLSetGetDelete(t *testing.T, s store.Store) {
	a := mustAccount(t, s, "alice@example.org")
	mustAccount(t, s, "bob@example.org")
	inbox := mustMailbox(t, s, a.ID, store.Inbox)
	if acl := mustACL(t, s, inbox.Ref()); len(acl) != 0 {
		t.Fatalf("new mailbox ACL = %v, want none", acl)
	}
	mustSetACL(t, s, inbox.Ref(), "Bob@Example.org", "rlc")  // lower-cased; c = k x
	mustSetACL(t, s, inbox.Ref(), "anyone", "l")             // a keyword
	mustSetACL(t, s, inbox.Ref(), "carol@example.com", "rd") // no account (yet): kept, as Dovecot
	want := []store.ACLEntry{{Identifier: "anyone", Rights: "l"}, {Identifier: "bob@example.org", Rights: "lrkx"}, {Identifier: "carol@example.com", Rights: "rte"}}
	if acl := mustACL(t, s, inbox.Ref()); !reflect.DeepEqual(acl, want) {
		t.Fatalf("ACL = %v, want %v", acl, want)
	}
	mustSetACL(t, s, inbox.Ref(), "bob@example.org", "+wr") // adds
	mustSetACL(t, s, inbox.Ref(), "bob@example.org", "-lc") // takes away
	mustSetACL(t, s, inbox.Ref(), "dave@example.org", "+l") // a new entry
	mustSetACL(t, s, inbox.Ref(), "dave@example.org", "-l") // and none left: gone
	mustSetACL(t, s, inbox.Ref(), "erin@example.org", "-l") // nothing to take
	if acl := mustACL(t, s, inbox.Ref()); len(acl) != 3 || acl[1] != (store.ACLEntry{Identifier: "bob@example.org", Rights: "rw"}) {
		t.Fatalf("ACL after +/- = %v, want bob with rw", acl)
	}
	mustSetACL(t, s, inbox.Ref(), "bob@example.org", "w") // replaces
	mustSetACL(t, s, inbox.Ref(), "anyone", "")           // removes
	mustSetACL(t, s, inbox.Ref(), "nobody@example.org", "")
	want = []store.ACLEntry{{Identifier: "bob@example.org", Rights: "w"}, {Identifier: "carol@example.com", Rights: "rte"}}
	if acl := mustACL(t, s, inbox.Ref()); !reflect.DeepEqual(acl, want) {
		t.Fatalf("ACL = %v, want %v", acl, want)
	}
	// The owner's rights are implicit; they cannot be set.
	if err := s.SetMailboxACL(ctx(t), inbox.Ref(), "alice@example.org", "l"); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("SetMailboxACL(owner) = %v, want ErrInvalid", err)
	}
	for _, bad := range [][2]string{{"bob@example.org", "+-l"}, {"bob@example.org", "+z"}, {"bob@example.org", "lrz"}, {"-bob@example.org", "r"}, {"bob", "r"}, {"bo b@example.org", "r"}, {"", "r"}} {
		if err := s.SetMailboxACL(ctx(t), inbox.Ref(), bad[0], bad[1]); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("SetMailboxACL(%q, %q) = %v, want ErrInvalid", bad[0], bad[1], err)
		}
	}
}

func testACLRights(t *testing.T, s store.Store) {
	a := mustAccount(t, s, "alice@example.org")
	b := mustAccount(t, s, "bob@example.org")
	c := mustAccount(t, s, "carol@example.org")
	shared := mustCreate(t, s, a.ID, "Shared")
	if r, err := s.MailboxRights(ctx(t), a.ID, shared.Ref()); err != nil || r != store.AllRights {
		t.Fatalf("owner's rights = %q, %v; want %q", r, err, store.AllRights)
	}
	mustSetACL(t, s, shared.Ref(), "bob@example.org", "rs")
	mustSetACL(t, s, shared.Ref(), "authenticated", "l")
	if r, err := s.MailboxRights(ctx(t), b.ID, shared.Ref()); err != nil || r != "lrs" {
		t.Fatalf("bob's rights = %q, %v; want lrs (his and authenticated's)", r, err)
	}
	if r, err := s.MailboxRights(ctx(t), c.ID, shared.Ref()); err != nil || r != "l" {
		t.Fatalf("carol's rights = %q, %v; want l", r, err)
	}
	// A stale UIDVALIDITY names nothing.
	stale := shared.Ref()
	stale.UIDValidity++
	if _, err := s.MailboxRights(ctx(t), b.ID, stale); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("rights with stale UIDVALIDITY: %v, want ErrNotFound", err)
	}
	if _, err := s.MailboxRights(ctx(t), a.ID, stale); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("owner's rights with stale UIDVALIDITY: %v, want ErrNotFound", err)
	}
}

// testACLNoGrantNoAccess: without a grant, another account learns
// nothing: its rights lookup fails as for a mailbox that does not exist,
// and the owner-scoped calls refuse its account id.
func testACLNoGrantNoAccess(t *testing.T, s store.Store) {
	a := mustAccount(t, s, "alice@example.org")
	b := mustAccount(t, s, "bob@example.org")
	inbox := mustMailbox(t, s, a.ID, store.Inbox)
	private := mustCreate(t, s, a.ID, "Private")
	mustAppend(t, s, private.Ref(), testMessage("secret"))
	mustSetACL(t, s, inbox.Ref(), "bob@example.org", "lr") // a grant on another mailbox
	for _, m := range []store.Mailbox{private, {ID: 1 << 40, AccountID: a.ID}} {
		if r, err := s.MailboxRights(ctx(t), b.ID, m.Ref()); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("bob's rights on %d = %q, %v; want ErrNotFound", m.ID, r, err)
		}
	}
	// Bob naming alice's mailbox as his own: nothing, read or write.
	asBob := store.MailboxRef{AccountID: b.ID, MailboxID: private.ID}
	if _, err := s.MailboxACL(ctx(t), asBob); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("MailboxACL as bob: %v", err)
	}
	if err := s.SetMailboxACL(ctx(t), asBob, "bob@example.org", "lr"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("SetMailboxACL as bob: %v", err)
	}
	if _, err := s.MailboxRights(ctx(t), b.ID, asBob); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("MailboxRights on bob's ref to alice's mailbox: %v", err)
	}
	if err := s.ListMessages(ctx(t), asBob, nil, func(store.MessageMeta) error { return nil }); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ListMessages as bob: %v", err)
	}
	if _, _, err := s.Append(ctx(t), asBob, []store.NewMessage{testMessage("x")}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Append as bob: %v", err)
	}
	if acl := mustACL(t, s, private.Ref()); len(acl) != 0 {
		t.Errorf("private ACL = %v after bob's attempts", acl)
	}
}

func testACLRevokeAtOnce(t *testing.T, s store.Store) {
	a := mustAccount(t, s, "alice@example.org")
	b := mustAccount(t, s, "bob@example.org")
	m := mustCreate(t, s, a.ID, "Team")
	mustSetACL(t, s, m.Ref(), "bob@example.org", "lrw")
	if r, err := s.MailboxRights(ctx(t), b.ID, m.Ref()); err != nil || r != "lrw" {
		t.Fatalf("rights = %q, %v", r, err)
	}
	mustSetACL(t, s, m.Ref(), "bob@example.org", "l")
	if r, err := s.MailboxRights(ctx(t), b.ID, m.Ref()); err != nil || r != "l" {
		t.Fatalf("rights after lowering = %q, %v; want l", r, err)
	}
	mustSetACL(t, s, m.Ref(), "bob@example.org", "")
	if r, err := s.MailboxRights(ctx(t), b.ID, m.Ref()); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("rights after revoke = %q, %v; want ErrNotFound", r, err)
	}
}

func testACLDeleteMailbox(t *testing.T, s store.Store) {
	a := mustAccount(t, s, "alice@example.org")
	b := mustAccount(t, s, "bob@example.org")
	m := mustCreate(t, s, a.ID, "Team")
	mustSetACL(t, s, m.Ref(), "bob@example.org", "lr")
	if err := s.DeleteMailbox(ctx(t), a.ID, "Team"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.MailboxRights(ctx(t), b.ID, m.Ref()); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("rights on deleted mailbox: %v", err)
	}
	// A mailbox created again under the name starts without an ACL.
	again := mustCreate(t, s, a.ID, "Team")
	if acl := mustACL(t, s, again.Ref()); len(acl) != 0 {
		t.Fatalf("re-created mailbox ACL = %v", acl)
	}
	if _, err := s.MailboxRights(ctx(t), b.ID, again.Ref()); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("rights on re-created mailbox: %v", err)
	}
	// Rename keeps the ACL with the mailbox.
	mustSetACL(t, s, again.Ref(), "bob@example.org", "l")
	if err := s.RenameMailbox(ctx(t), a.ID, "Team", "Team2"); err != nil {
		t.Fatal(err)
	}
	if r, err := s.MailboxRights(ctx(t), b.ID, store.MailboxRef{AccountID: a.ID, MailboxID: again.ID}); err != nil || r != "l" {
		t.Fatalf("rights after rename = %q, %v", r, err)
	}
}

func testACLDeleteAccount(t *testing.T, s store.Store) {
	a := mustAccount(t, s, "alice@example.org")
	b := mustAccount(t, s, "bob@example.org")
	m := mustCreate(t, s, a.ID, "Team")
	mustSetACL(t, s, m.Ref(), "bob@example.org", "lr")
	mustSetACL(t, s, m.Ref(), "anyone", "l")
	bm := mustMailbox(t, s, b.ID, store.Inbox)
	mustSetACL(t, s, bm.Ref(), "alice@example.org", "lr")
	// The grantee goes: a new account under the address inherits nothing.
	if err := s.DeleteAccount(ctx(t), b.Email); err != nil {
		t.Fatal(err)
	}
	if acl, want := mustACL(t, s, m.Ref()), []store.ACLEntry{{Identifier: "anyone", Rights: "l"}}; !reflect.DeepEqual(acl, want) {
		t.Fatalf("ACL after grantee deleted = %v, want %v", acl, want)
	}
	b2 := mustAccount(t, s, "bob@example.org")
	if r, err := s.MailboxRights(ctx(t), b2.ID, m.Ref()); err != nil || r != "l" {
		t.Fatalf("new bob's rights = %q, %v; want only anyone's l", r, err)
	}
	// The owner goes: its mailboxes' rows with it (the dump sees none).
	if err := s.DeleteAccount(ctx(t), a.Email); err != nil {
		t.Fatal(err)
	}
	if _, err := s.MailboxRights(ctx(t), b2.ID, m.Ref()); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("rights on deleted owner's mailbox: %v", err)
	}
	rows, _, _ := dumpOf(t, s)
	for _, r := range rows {
		if store.DumpTables[r.Table].Name == "mailbox_acl" {
			t.Errorf("ACL row left after both accounts went: %v", r.Values)
		}
	}
}

// testACLScoped: the ACL methods take the owner's ref like every other
// call: another account's id, a stale UIDVALIDITY, an unknown mailbox.
func testACLScoped(t *testing.T, s store.Store) {
	a := mustAccount(t, s, "alice@example.org")
	b := mustAccount(t, s, "bob@example.org")
	m := mustCreate(t, s, a.ID, "Team")
	stale := m.Ref()
	stale.UIDValidity++
	refs := []store.MailboxRef{
		{AccountID: b.ID, MailboxID: m.ID},
		stale,
		{AccountID: a.ID, MailboxID: m.ID + 1000},
	}
	for _, ref := range refs {
		name := fmt.Sprintf("%+v", ref)
		if _, err := s.MailboxACL(ctx(t), ref); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s: MailboxACL: %v", name, err)
		}
		if err := s.SetMailboxACL(ctx(t), ref, "carol@example.org", "lr"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s: SetMailboxACL: %v", name, err)
		}
	}
	if acl := mustACL(t, s, m.Ref()); len(acl) != 0 {
		t.Fatalf("ACL = %v", acl)
	}
}

func testACLBounds(t *testing.T, s store.Store) {
	a := mustAccount(t, s, "alice@example.org")
	m := mustCreate(t, s, a.ID, "Team")
	for i := range store.MaxACLEntries {
		mustSetACL(t, s, m.Ref(), fmt.Sprintf("u%d@example.org", i), "l")
	}
	if err := s.SetMailboxACL(ctx(t), m.Ref(), "one-more@example.org", "l"); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("entry %d: %v, want ErrInvalid", store.MaxACLEntries+1, err)
	}
	mustSetACL(t, s, m.Ref(), "u0@example.org", "lr") // changing one is fine
	long := make([]byte, 250)
	for i := range long {
		long[i] = 'x'
	}
	if err := s.SetMailboxACL(ctx(t), m.Ref(), string(long)+"@example.org", ""); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("long identifier: %v", err)
	}
}

// testACLSharedMailboxes: the viewer sees exactly the other accounts'
// mailboxes it has "l" on, with merged rights, never its own, and a
// revoked grant is gone at once.
func testACLSharedMailboxes(t *testing.T, s store.Store) {
	a := mustAccount(t, s, "alice@example.org")
	b := mustAccount(t, s, "bob@example.org")
	c := mustAccount(t, s, "carol@example.org")
	team := mustCreate(t, s, a.ID, "Team")
	mustCreate(t, s, a.ID, "Private")
	readOnly := mustCreate(t, s, c.ID, "NoLookup")
	bobsOwn := mustMailbox(t, s, b.ID, store.Inbox)
	mustSetACL(t, s, team.Ref(), "bob@example.org", "rs")
	mustSetACL(t, s, team.Ref(), "anyone", "l")
	mustSetACL(t, s, readOnly.Ref(), "bob@example.org", "r") // no "l": not listed
	mustSetACL(t, s, bobsOwn.Ref(), "anyone", "lr")          // his own: never listed as shared
	got, err := s.SharedMailboxes(ctx(t), b.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Owner != "alice@example.org" || got[0].Rights != "lrs" ||
		got[0].Mailbox.ID != team.ID || got[0].Mailbox.AccountID != a.ID || got[0].Mailbox.Name != "Team" {
		t.Fatalf("SharedMailboxes(bob) = %+v", got)
	}
	if got, err := s.SharedMailboxes(ctx(t), c.ID); err != nil || len(got) != 2 || got[0].Mailbox.ID != team.ID || got[0].Rights != "l" || got[1].Owner != "bob@example.org" {
		t.Fatalf("SharedMailboxes(carol) = %+v, %v", got, err)
	}
	mustSetACL(t, s, team.Ref(), "anyone", "")
	mustSetACL(t, s, team.Ref(), "bob@example.org", "")
	if got, err := s.SharedMailboxes(ctx(t), b.ID); err != nil || len(got) != 0 {
		t.Fatalf("SharedMailboxes(bob) after revoke = %+v, %v", got, err)
	}
}

// testACLSharedMailboxesBound: an account that grants "anyone" lookup
// (or only read) on more than MaxSharedMailboxes mailboxes fills the
// bound for every viewer, but hides neither a mailbox granted to the
// viewer by address nor, as owners take turns, another owner's "anyone"
// or "authenticated" grant, whatever the owners' names; the result
// stays sorted by owner and name.
func testACLSharedMailboxesBound(t *testing.T, s store.Store) {
	spam := mustAccount(t, s, "aaa@example.org")
	b := mustAccount(t, s, "bob@example.org")
	z := mustAccount(t, s, "zed@example.org")
	for i := range store.MaxSharedMailboxes + 1 {
		m := mustCreate(t, s, spam.ID, fmt.Sprintf("s%04d", i))
		mustSetACL(t, s, m.Ref(), "anyone", "l")
	}
	for i := range 5 {
		m := mustCreate(t, s, spam.ID, fmt.Sprintf("r%d", i))
		mustSetACL(t, s, m.Ref(), "anyone", "r") // no "l": never listed
	}
	team := mustCreate(t, s, z.ID, "Team")
	mustSetACL(t, s, team.Ref(), "bob@example.org", "lr")
	mustSetACL(t, s, team.Ref(), "authenticated", "s")
	all := mustCreate(t, s, z.ID, "All")
	mustSetACL(t, s, all.Ref(), "authenticated", "l")
	// bob: zed's Team (by address) first, zed's All by turns.
	checkFlooded(t, s, b.ID, []string{"All", "Team"}, []string{"l", "lrs"})
	// carol, granted nothing by address: zed's All by turns.
	carol := mustAccount(t, s, "carol@example.org")
	checkFlooded(t, s, carol.ID, []string{"All"}, []string{"l"})
}

// checkFlooded checks what SharedMailboxes gives viewer when aaa's
// mailboxes s0000... flood it: exactly MaxSharedMailboxes, sorted, zed's
// mailboxes names with rights and the rest aaa's first ones.
func checkFlooded(t *testing.T, s store.Store, viewer int64, names, rights []string) {
	t.Helper()
	got, err := s.SharedMailboxes(ctx(t), viewer)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != store.MaxSharedMailboxes {
		t.Fatalf("SharedMailboxes: %d mailboxes, want %d", len(got), store.MaxSharedMailboxes)
	}
	spam, zed := got[:len(got)-len(names)], got[len(got)-len(names):]
	for i, m := range zed {
		if m.Owner != "zed@example.org" || m.Mailbox.Name != names[i] || m.Rights != rights[i] {
			t.Fatalf("SharedMailboxes ends with %+v, want zed's %v %v", zed, names, rights)
		}
	}
	for i, m := range spam {
		if want := fmt.Sprintf("s%04d", i); m.Owner != "aaa@example.org" || m.Mailbox.Name != want || m.Rights != "l" {
			t.Fatalf("SharedMailboxes[%d] = %+v, want aaa's %s", i, m, want)
		}
	}
}
