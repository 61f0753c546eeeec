package storetest

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/mailroom/mailroom/store"
)

var domainTests = []test{
	{"Domains/AddListDelete", testDomains},
	{"Domains/Bounds", testDomainBounds},
	{"Aliases/AddListDelete", testAliases},
	{"Aliases/Bounds", testAliasBounds},
	{"Aliases/LocalDomain", testAliasLocalDomain},
}

// Add (normalized, ErrExists twice), list sorted, local at once, delete
// (ErrNotFound twice); accounts of a deleted domain keep it local.
func testDomains(t *testing.T, s store.Store) {
	if ok, err := s.IsLocalDomain(ctx(t), "example.net"); err != nil || ok {
		t.Fatalf("IsLocalDomain before AddDomain = %v, %v", ok, err)
	}
	d, err := s.AddDomain(ctx(t), " Example.NET ")
	if err != nil || d.Name != "example.net" || d.Created.IsZero() {
		t.Fatalf("AddDomain = %+v, %v", d, err)
	}
	_, err = s.AddDomain(ctx(t), "example.net")
	wantErr(t, "AddDomain twice", err, store.ErrExists)
	if _, err := s.AddDomain(ctx(t), "a.example"); err != nil {
		t.Fatal(err)
	}
	list, err := s.Domains(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range list {
		names = append(names, d.Name)
	}
	if !slices.Equal(names, []string{"a.example", "example.net"}) {
		t.Fatalf("Domains = %v", names)
	}
	if ok, err := s.IsLocalDomain(ctx(t), "EXAMPLE.net"); err != nil || !ok {
		t.Fatalf("IsLocalDomain after AddDomain = %v, %v", ok, err)
	}
	if err := s.DeleteDomain(ctx(t), "Example.net"); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "DeleteDomain twice", s.DeleteDomain(ctx(t), "example.net"), store.ErrNotFound)
	if ok, err := s.IsLocalDomain(ctx(t), "example.net"); err != nil || ok {
		t.Fatalf("IsLocalDomain after DeleteDomain = %v, %v", ok, err)
	}
	// A domain with an account stays local without its domains row.
	mustAccount(t, s, "bob@a.example")
	if err := s.DeleteDomain(ctx(t), "a.example"); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.IsLocalDomain(ctx(t), "a.example"); err != nil || !ok {
		t.Fatalf("IsLocalDomain of a domain with an account = %v, %v", ok, err)
	}
	if list, err := s.Domains(ctx(t)); err != nil || len(list) != 0 {
		t.Fatalf("Domains after deleting all = %+v, %v", list, err)
	}
}

func testDomainBounds(t *testing.T, s store.Store) {
	for _, bad := range []string{"", ".", "a..b", ".a.b", "a.b.", "a b", "a/b", "a@b", "../etc", strings.Repeat("a", 254), "<script>"} {
		_, err := s.AddDomain(ctx(t), bad)
		wantErr(t, "AddDomain("+bad+")", err, store.ErrInvalid)
	}
	if list, err := s.Domains(ctx(t)); err != nil || len(list) != 0 {
		t.Fatalf("Domains after refused adds = %+v, %v", list, err)
	}
	long := strings.Repeat("a", 63) + "." + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 61)
	if _, err := s.AddDomain(ctx(t), long); err != nil {
		t.Fatalf("AddDomain of a %d-byte name: %v", len(long), err)
	}
}

func testAliases(t *testing.T, s store.Store) {
	a, err := s.AddAlias(ctx(t), "Sales@Example.org", []string{"Alice@example.org", "bob@example.com", "alice@EXAMPLE.org"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"alice@example.org", "bob@example.com"}
	if a.Address != "sales@example.org" || !slices.Equal(a.Targets, want) || a.Created.IsZero() {
		t.Fatalf("AddAlias = %+v", a)
	}
	_, err = s.AddAlias(ctx(t), "sales@example.org", []string{"carol@example.org"})
	wantErr(t, "AddAlias twice", err, store.ErrExists)
	if _, err := s.AddAlias(ctx(t), "@example.org", []string{"alice@example.org"}); err != nil {
		t.Fatal(err)
	}
	got, err := s.AliasTargets(ctx(t), "sales@example.org")
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("AliasTargets = %v, %v", got, err)
	}
	_, err = s.AliasTargets(ctx(t), "nobody@example.org")
	wantErr(t, "AliasTargets of an unknown key", err, store.ErrNotFound)
	list, err := s.Aliases(ctx(t))
	if err != nil || len(list) != 2 || list[0].Address != "@example.org" || list[1].Address != "sales@example.org" ||
		!slices.Equal(list[1].Targets, want) || !slices.Equal(list[0].Targets, []string{"alice@example.org"}) {
		t.Fatalf("Aliases = %+v, %v", list, err)
	}
	if err := s.DeleteAlias(ctx(t), "SALES@example.org"); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "DeleteAlias twice", s.DeleteAlias(ctx(t), "sales@example.org"), store.ErrNotFound)
	_, err = s.AliasTargets(ctx(t), "sales@example.org")
	wantErr(t, "AliasTargets after DeleteAlias", err, store.ErrNotFound)
	if list, err := s.Aliases(ctx(t)); err != nil || len(list) != 1 {
		t.Fatalf("Aliases after delete = %+v, %v", list, err)
	}
}

func testAliasBounds(t *testing.T, s store.Store) {
	tooMany := make([]string, store.MaxAliasTargets+1)
	for i := range tooMany {
		tooMany[i] = fmt.Sprintf("u%d@example.com", i)
	}
	for _, c := range []struct {
		key     string
		targets []string
	}{
		{"", []string{"a@example.org"}},
		{"sales", []string{"a@example.org"}},
		{"sales@", []string{"a@example.org"}},
		{"a b@example.org", []string{"a@example.org"}},
		{"@", []string{"a@example.org"}},
		{"sales@example.org", nil},
		{"sales@example.org", []string{"not an address"}},
		{"sales@example.org", []string{"a@example.org\nb@example.org"}},
		{"sales@example.org", []string{"sales@example.org"}},
		{"sales@example.org", []string{"%hack@example.org"}},
		{strings.Repeat("a", 250) + "@example.org", []string{"a@example.org"}},
		{"sales@example.org", tooMany},
	} {
		_, err := s.AddAlias(ctx(t), c.key, c.targets)
		wantErr(t, "AddAlias("+c.key+")", err, store.ErrInvalid)
	}
	if list, err := s.Aliases(ctx(t)); err != nil || len(list) != 0 {
		t.Fatalf("Aliases after refused adds = %+v, %v", list, err)
	}
	if _, err := s.AddAlias(ctx(t), "many@example.org", tooMany[:store.MaxAliasTargets]); err != nil {
		t.Fatalf("AddAlias with %d targets: %v", store.MaxAliasTargets, err)
	}
	got, err := s.AliasTargets(ctx(t), "many@example.org")
	if err != nil || len(got) != store.MaxAliasTargets {
		t.Fatalf("AliasTargets = %d targets, %v", len(got), err)
	}
}

// An alias key makes its domain local, catch-all included, until it is
// deleted.
func testAliasLocalDomain(t *testing.T, s store.Store) {
	if _, err := s.AddAlias(ctx(t), "@catch.example", []string{"x@elsewhere.example"}); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.IsLocalDomain(ctx(t), "catch.example"); err != nil || !ok {
		t.Fatalf("IsLocalDomain of an alias domain = %v, %v", ok, err)
	}
	if ok, err := s.IsLocalDomain(ctx(t), "elsewhere.example"); err != nil || ok {
		t.Fatalf("IsLocalDomain of a target's domain = %v, %v", ok, err)
	}
	if err := s.DeleteAlias(ctx(t), "@catch.example"); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.IsLocalDomain(ctx(t), "catch.example"); err != nil || ok {
		t.Fatalf("IsLocalDomain after the alias went = %v, %v", ok, err)
	}
}
