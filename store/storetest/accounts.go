package storetest

import (
	"slices"
	"testing"

	"github.com/mailroom/mailroom/store"
)

var accountTests = []test{
	{"Accounts/CreateAndLookup", testAccountCreateLookup},
	{"Accounts/Errors", testAccountErrors},
	{"Accounts/PasswordAndDelete", testAccountPasswordDelete},
	{"Accounts/IsLocalDomain", testIsLocalDomain},
	{"Accounts/DefaultMailboxes", testDefaultMailboxes},
}

func testAccountCreateLookup(t *testing.T, s store.Store) {
	a := mustAccount(t, s, "Alice@Example.ORG")
	if a.Email != "alice@example.org" || a.ID == 0 || a.PasswordHash != "hash-Alice@Example.ORG" || a.Created.IsZero() {
		t.Fatalf("created account = %+v", a)
	}
	got, err := s.AccountByEmail(ctx(t), "ALICE@example.org")
	if err != nil || got.ID != a.ID || got.Email != a.Email || got.PasswordHash != a.PasswordHash {
		t.Fatalf("AccountByEmail = %+v, %v; want %+v", got, err, a)
	}
	got, err = s.AccountByID(ctx(t), a.ID)
	if err != nil || got.Email != a.Email {
		t.Fatalf("AccountByID = %+v, %v", got, err)
	}
	mustAccount(t, s, "carol@example.org")
	mustAccount(t, s, "bob@example.net")
	all, err := s.Accounts(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	var emails []string
	for _, a := range all {
		emails = append(emails, a.Email)
	}
	if want := []string{"alice@example.org", "bob@example.net", "carol@example.org"}; !slices.Equal(emails, want) {
		t.Fatalf("Accounts = %q, want %q", emails, want)
	}
}

func testAccountErrors(t *testing.T, s store.Store) {
	mustAccount(t, s, "alice@example.org")
	_, err := s.CreateAccount(ctx(t), "ALICE@example.org", "x")
	wantErr(t, "duplicate CreateAccount", err, store.ErrExists)
	_, err = s.CreateAccount(ctx(t), "no-domain", "x")
	wantErr(t, "CreateAccount without @", err, store.ErrInvalid)
	_, err = s.AccountByEmail(ctx(t), "nobody@example.org")
	wantErr(t, "AccountByEmail missing", err, store.ErrNotFound)
	_, err = s.AccountByID(ctx(t), 987654)
	wantErr(t, "AccountByID missing", err, store.ErrNotFound)
	wantErr(t, "SetPassword missing", s.SetPassword(ctx(t), "nobody@example.org", "x"), store.ErrNotFound)
	wantErr(t, "DeleteAccount missing", s.DeleteAccount(ctx(t), "nobody@example.org"), store.ErrNotFound)
}

func testAccountPasswordDelete(t *testing.T, s store.Store) {
	a := mustAccount(t, s, "alice@example.org")
	b := mustAccount(t, s, "bob@example.org")
	if err := s.SetPassword(ctx(t), "Alice@example.org", "new-hash"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.AccountByID(ctx(t), a.ID); got.PasswordHash != "new-hash" {
		t.Fatalf("password hash = %q after SetPassword", got.PasswordHash)
	}
	// A delivery to both accounts shares its bytes in some backends; deleting
	// one account must leave the other's copy intact.
	d, err := s.Deliver(ctx(t), []store.Target{{AccountID: a.ID}, {AccountID: b.ID}}, testMessage("shared"))
	if err != nil {
		t.Fatal(err)
	}
	inboxA := mustMailbox(t, s, a.ID, "INBOX")
	ma := metas(t, s, inboxA.Ref(), nil)
	if err := s.DeleteAccount(ctx(t), "ALICE@example.org"); err != nil {
		t.Fatal(err)
	}
	_, err = s.AccountByEmail(ctx(t), "alice@example.org")
	wantErr(t, "AccountByEmail after delete", err, store.ErrNotFound)
	_, err = s.MailboxByID(ctx(t), inboxA.Ref())
	wantErr(t, "MailboxByID of deleted account", err, store.ErrNotFound)
	_, err = s.MessageBody(ctx(t), inboxA.Ref(), ma[0].ID)
	wantErr(t, "MessageBody of deleted account", err, store.ErrNotFound)
	mb := metas(t, s, d[1].Ref(), nil)
	if len(mb) != 1 {
		t.Fatalf("bob has %d messages, want 1", len(mb))
	}
	if raw, err := s.MessageBody(ctx(t), d[1].Ref(), mb[0].ID); err != nil || string(raw) != string(testMessage("shared").Raw) {
		t.Fatalf("bob's copy after deleting alice: %q, %v", raw, err)
	}
	// The address can be used again.
	mustAccount(t, s, "alice@example.org")
}

func testIsLocalDomain(t *testing.T, s store.Store) {
	check := func(domain string, want bool) {
		t.Helper()
		got, err := s.IsLocalDomain(ctx(t), domain)
		if err != nil || got != want {
			t.Fatalf("IsLocalDomain(%q) = %v, %v; want %v", domain, got, err, want)
		}
	}
	check("example.org", false)
	mustAccount(t, s, "alice@Example.org")
	check("example.org", true)
	check("EXAMPLE.ORG", true)
	check("example.com", false)
	check("org", false)
	if err := s.DeleteAccount(ctx(t), "alice@example.org"); err != nil {
		t.Fatal(err)
	}
	check("example.org", false)
}

func testDefaultMailboxes(t *testing.T, s store.Store) {
	a := mustAccount(t, s, "alice@example.org")
	ms, err := s.Mailboxes(ctx(t), a.ID)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	use := map[string]string{}
	for _, d := range store.DefaultMailboxes {
		want = append(want, d.Name)
		use[d.Name] = d.SpecialUse
	}
	slices.Sort(want)
	if !slices.Equal(names(ms), want) {
		t.Fatalf("Mailboxes = %q, want %q", names(ms), want)
	}
	seen := map[uint32]bool{}
	for _, m := range ms {
		if m.AccountID != a.ID || m.SpecialUse != use[m.Name] || m.UIDValidity == 0 || m.UIDNext != 1 {
			t.Errorf("mailbox %+v", m)
		}
		if seen[m.UIDValidity] {
			t.Errorf("UIDVALIDITY %d used twice", m.UIDValidity)
		}
		seen[m.UIDValidity] = true
	}
	subs, err := s.Subscriptions(ctx(t), a.ID)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(subs)
	if !slices.Equal(subs, want) {
		t.Fatalf("Subscriptions = %q, want %q", subs, want)
	}
	// Another account has its own, independent mailboxes.
	b := mustAccount(t, s, "bob@example.org")
	ib := mustMailbox(t, s, b.ID, "INBOX")
	ia := mustMailbox(t, s, a.ID, "INBOX")
	if ia.ID == ib.ID {
		t.Fatal("two accounts share an INBOX")
	}
}
