package delivery_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/mailroom/mailroom/delivery"
	"github.com/mailroom/mailroom/internal/pgtest"
	"github.com/mailroom/mailroom/store/postgres"
)

func accountEmails(rc delivery.Recipient) []string {
	var out []string
	for _, a := range rc.Accounts {
		out = append(out, a.Email)
	}
	return out
}

// Aliases added to the store resolve at once, catch-all included; the
// config file's [aliases] wins for a key both have; a deleted alias is
// gone at the next lookup.
func TestStoreAliases(t *testing.T) {
	t.Parallel()
	st := openStore(t, "alice@example.org", "bob@example.org", "carol@example.org")
	d := newDeliverer(t, delivery.Config{Store: st, Aliases: aliasMap{"team@example.org": {"carol@example.org"}}})
	ctx := t.Context()

	if _, err := d.Resolve(ctx, delivery.Request{Addr: "sales@example.org"}); !errors.Is(err, delivery.ErrNoSuchUser) {
		t.Fatalf("before the alias: %v, want ErrNoSuchUser", err)
	}
	if _, err := st.AddAlias(ctx, "sales@example.org", []string{"alice@example.org", "bob@example.org"}); err != nil {
		t.Fatal(err)
	}
	if got := accountEmails(resolve(t, d, "Sales@example.org", false)); !slices.Equal(got, []string{"alice@example.org", "bob@example.org"}) {
		t.Fatalf("store alias resolved to %v", got)
	}
	// [aliases] overrides the store's alias of the same key.
	if _, err := st.AddAlias(ctx, "team@example.org", []string{"alice@example.org"}); err != nil {
		t.Fatal(err)
	}
	if got := accountEmails(resolve(t, d, "team@example.org", false)); !slices.Equal(got, []string{"carol@example.org"}) {
		t.Fatalf("team@ resolved to %v, want [aliases]' carol", got)
	}
	// A catch-all in the store makes its domain local.
	if _, err := d.Resolve(ctx, delivery.Request{Addr: "x@catch.example"}); !errors.Is(err, delivery.ErrRelayDenied) {
		t.Fatalf("before the catch-all: %v, want ErrRelayDenied", err)
	}
	if _, err := st.AddAlias(ctx, "@catch.example", []string{"sales@example.org"}); err != nil {
		t.Fatal(err)
	}
	if got := accountEmails(resolve(t, d, "anyone@catch.example", false)); !slices.Equal(got, []string{"alice@example.org", "bob@example.org"}) {
		t.Fatalf("catch-all resolved to %v", got)
	}
	if err := st.DeleteAlias(ctx, "sales@example.org"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Resolve(ctx, delivery.Request{Addr: "sales@example.org"}); !errors.Is(err, delivery.ErrNoSuchUser) {
		t.Fatalf("after DeleteAlias: %v, want ErrNoSuchUser", err)
	}
	// A loop through the store is found like one in [aliases].
	if _, err := st.AddAlias(ctx, "a@loop.example", []string{"b@loop.example"}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.AddAlias(ctx, "b@loop.example", []string{"a@loop.example"}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Resolve(ctx, delivery.Request{Addr: "a@loop.example"}); !errors.Is(err, delivery.ErrLoop) {
		t.Fatalf("store alias loop: %v, want ErrLoop", err)
	}
}

// Two nodes on one PostgreSQL database: an alias and a domain added
// through one node's store are effective at once for the other's
// Deliverer (nothing is cached).
func TestStoreAliasesTwoNodes(t *testing.T) {
	t.Parallel()
	dsn := pgtest.DSN(t)
	open := func() *postgres.Store {
		st, err := postgres.Open(t.Context(), dsn, testLog)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	a, b := open(), open()
	ctx := t.Context()
	if _, err := a.CreateAccount(ctx, "alice@example.org", "x"); err != nil {
		t.Fatal(err)
	}
	d := newDeliverer(t, delivery.Config{Store: b})
	if _, err := a.AddAlias(ctx, "sales@example.org", []string{"alice@example.org"}); err != nil {
		t.Fatal(err)
	}
	if got := accountEmails(resolve(t, d, "sales@example.org", false)); !slices.Equal(got, []string{"alice@example.org"}) {
		t.Fatalf("node B resolved node A's alias to %v", got)
	}
	if ok, err := b.IsLocalDomain(ctx, "new.example"); err != nil || ok {
		t.Fatalf("IsLocalDomain before AddDomain = %v, %v", ok, err)
	}
	if _, err := a.AddDomain(ctx, "new.example"); err != nil {
		t.Fatal(err)
	}
	// A local domain without the mailbox: no such user, not relay denied.
	if _, err := d.Resolve(ctx, delivery.Request{Addr: "x@new.example"}); !errors.Is(err, delivery.ErrNoSuchUser) {
		t.Fatalf("node B after node A's AddDomain: %v, want ErrNoSuchUser", err)
	}
	if err := a.DeleteAlias(ctx, "sales@example.org"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Resolve(ctx, delivery.Request{Addr: "sales@example.org"}); !errors.Is(err, delivery.ErrNoSuchUser) {
		t.Fatalf("node B after node A's DeleteAlias: %v, want ErrNoSuchUser", err)
	}
}
