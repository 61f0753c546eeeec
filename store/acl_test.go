package store

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCanonicalRights(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"": "", "rl": "lr", "lrswipkxtea": AllRights, "aetxkpiwsrl": AllRights,
		"c": "kx", "d": "te", "cd": "kxte", "llll": "l", "lrswipcda": "lrswipkxtea",
	} {
		if got, err := CanonicalRights(in); err != nil || got != want {
			t.Errorf("CanonicalRights(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"z", "L", "+l", "-l", "l r", "0", "\xff", strings.Repeat("l", 65)} {
		if got, err := CanonicalRights(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("CanonicalRights(%q) = %q, %v; want ErrInvalid", bad, got, err)
		}
	}
}

func TestCheckACLIdentifier(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"anyone": "anyone", "Authenticated": "authenticated", "Bob@Example.ORG": "bob@example.org",
	} {
		if got, err := CheckACLIdentifier(in); err != nil || got != want {
			t.Errorf("CheckACLIdentifier(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "bob", "@example.org", "bob@", "-bob@example.org", "b b@example.org", "b\"@x", "b\\@x", "b\x00@x", "b\xff@x", strings.Repeat("x", 250) + "@x.org"} {
		if got, err := CheckACLIdentifier(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("CheckACLIdentifier(%q) = %q, %v; want ErrInvalid", bad, got, err)
		}
	}
}

// FuzzACLInput: the parsers of SETACL's arguments accept only what they
// promise and return canonical values (parsing the result again gives it
// back).
func FuzzACLInput(f *testing.F) {
	for _, s := range []string{"lrswipkxtea", "cd", "anyone", "bob@example.org", "-bob@x", "lrz", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if r, err := CanonicalRights(s); err == nil {
			if again, err := CanonicalRights(r); err != nil || again != r || !HasRights(AllRights, r) {
				t.Fatalf("CanonicalRights(%q) = %q, not canonical (%q, %v)", s, r, again, err)
			}
		}
		if id, err := CheckACLIdentifier(s); err == nil {
			if again, err := CheckACLIdentifier(id); err != nil || again != id || len(id) > 254 || strings.ContainsAny(id, " \"\\\r\n\x00") || !utf8.ValidString(id) {
				t.Fatalf("CheckACLIdentifier(%q) = %q, not canonical (%q, %v)", s, id, again, err)
			}
		}
	})
}
