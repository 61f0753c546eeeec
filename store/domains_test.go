package store

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzCheckAlias: whatever the input, CheckAlias either refuses it with
// ErrInvalid or returns a lower-case key and 1..MaxAliasTargets distinct
// lower-case targets that pass the checks again unchanged (idempotent)
// and survive JoinTargets/SplitTargets.
func FuzzCheckAlias(f *testing.F) {
	f.Add("sales@example.org", "alice@example.org bob@example.net")
	f.Add("@example.org", "alice@example.org")
	f.Add("A@B.C", "a@b.c")
	f.Add("x@y", "x@y")
	f.Add("a b@example.org", "c@d")
	f.Add("a@example.org", "b@example.org\nc@example.org")
	f.Add("%@x", "")
	f.Fuzz(func(t *testing.T, key, targets string) {
		list := strings.Fields(targets)
		k, out, err := CheckAlias(key, list)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v is not ErrInvalid", err)
			}
			return
		}
		if k != strings.ToLower(k) || len(k) > MaxAddressLen || !utf8.ValidString(k) {
			t.Fatalf("key %q", k)
		}
		if len(out) == 0 || len(out) > MaxAliasTargets {
			t.Fatalf("%d targets", len(out))
		}
		seen := map[string]bool{}
		for _, x := range out {
			if seen[x] || x != strings.ToLower(x) || strings.ContainsAny(x, "\r\n \t") || x == k {
				t.Fatalf("target %q of %q", x, out)
			}
			seen[x] = true
		}
		k2, out2, err := CheckAlias(k, out)
		if err != nil || k2 != k || strings.Join(out2, ",") != strings.Join(out, ",") {
			t.Fatalf("not idempotent: %q %q -> %q %q %v", k, out, k2, out2, err)
		}
		if back := SplitTargets(JoinTargets(out)); strings.Join(back, ",") != strings.Join(out, ",") {
			t.Fatalf("join/split %q -> %q", out, back)
		}
		if d := AliasDomain(k); d == "" || strings.Contains(d, "@") {
			t.Fatalf("AliasDomain(%q) = %q", k, d)
		}
	})
}

// FuzzCheckDomain: a domain either fails with ErrInvalid or comes back
// lower-case, bounded and stable.
func FuzzCheckDomain(f *testing.F) {
	for _, s := range []string{"example.org", "EXAMPLE.org", "a..b", "../etc", "xn--bcher-kva.example", "bücher.example", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := CheckDomain(s)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v is not ErrInvalid", err)
			}
			return
		}
		if d == "" || len(d) > MaxDomainLen || d != strings.ToLower(d) || strings.ContainsAny(d, "/@ \\") {
			t.Fatalf("domain %q", d)
		}
		if d2, err := CheckDomain(d); err != nil || d2 != d {
			t.Fatalf("not stable: %q -> %q, %v", d, d2, err)
		}
	})
}
