package config

import (
	"slices"
	"strings"
	"testing"
)

func TestAliasesDefaultsAndTable(t *testing.T) {
	if d := Default().RecipientDelimiter; d != "+" {
		t.Fatalf("default recipient_delimiter %q, want +", d)
	}
	c, err := loadString(t, `
recipient_delimiter = "-"
[aliases]
"Sales@Example.org" = ["Alice@example.org", "bob@example.net", "alice@EXAMPLE.org"]
"@example.org" = ["alice@example.org"]
"info@aliasonly.test" = ["alice@example.org"]
`)
	if err != nil {
		t.Fatal(err)
	}
	if c.RecipientDelimiter != "-" {
		t.Fatalf("recipient_delimiter %q", c.RecipientDelimiter)
	}
	tab := c.Table()
	if got, ok := tab.AliasTargets("sales@example.org"); !ok || !slices.Equal(got, []string{"alice@example.org", "bob@example.net"}) {
		t.Fatalf("sales targets %q, %v", got, ok)
	}
	if got, ok := tab.AliasTargets("@example.org"); !ok || len(got) != 1 {
		t.Fatalf("catch-all targets %q, %v", got, ok)
	}
	if _, ok := tab.AliasTargets("nobody@example.org"); ok {
		t.Fatal("unknown key found")
	}
	for d, want := range map[string]bool{"example.org": true, "aliasonly.test": true, "example.net": false} {
		if tab.AliasDomain(d) != want {
			t.Errorf("AliasDomain(%q) = %v", d, !want)
		}
	}
	c, err = loadString(t, `recipient_delimiter = ""`)
	if err != nil || c.RecipientDelimiter != "" {
		t.Fatalf("empty delimiter: %q, %v", c.RecipientDelimiter, err)
	}
	var none *AliasTable
	if _, ok := none.AliasTargets("a@b"); ok || none.AliasDomain("b") {
		t.Fatal("nil table has entries")
	}
}

func TestAliasesValidation(t *testing.T) {
	many := `"big@example.org" = [` + strings.Repeat(`"a@example.org",`, MaxAliasTargets+1) + `]`
	for _, tc := range []struct{ text, want string }{
		{`recipient_delimiter = "++"`, "recipient_delimiter"},
		{`recipient_delimiter = "@"`, "recipient_delimiter"},
		{`recipient_delimiter = " "`, "recipient_delimiter"},
		{"[aliases]\n\"sales\" = [\"a@example.org\"]", `key "sales"`},
		{"[aliases]\n\"@\" = [\"a@example.org\"]", `key "@"`},
		{"[aliases]\n\"a@b@example.org\" = [\"a@example.org\"]", "key"},
		{"[aliases]\n\"x%y@example.org\" = [\"a@example.org\"]", "key"},
		{"[aliases]\n\"s@example.org\" = []", "no targets"},
		{"[aliases]\n\"s@example.org\" = [\"alice\"]", `target "alice"`},
		{"[aliases]\n\"s@example.org\" = [\"@example.org\"]", "target"},
		{"[aliases]\n\"s@example.org\" = [\"a b@example.org\"]", "target"},
		{"[aliases]\n\"s@example.org\" = [\"a@exa mple.org\"]", "target"},
		{"[aliases]\n\"S@example.org\" = [\"a@example.org\"]\n\"s@example.org\" = [\"a@example.org\"]", "differ only in case"},
		{"[aliases]\n" + many, "at most 100"},
		{"[aliases]\n\"s@example.org\" = \"a@example.org\"", "aliases"},
	} {
		_, err := loadString(t, tc.text)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want one containing %q", tc.text, err, tc.want)
		}
	}
}
