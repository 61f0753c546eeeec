package config

import (
	"fmt"
	"sort"
	"strings"
)

// MaxAliasTargets bounds the target list of one [aliases] entry.
const MaxAliasTargets = 100

// DefaultRecipientDelimiter separates a subaddress from the local part
// (alice+news@example.org is delivered as alice@example.org).
const DefaultRecipientDelimiter = "+"

// Aliasing is what Postfix's virtual_alias_maps and recipient_delimiter
// give an admin: the top-level recipient_delimiter key and the [aliases]
// table. The SMTP server resolves inbound recipients through it
// (smtpserver.Aliases; the order is in README.md).
type Aliasing struct {
	// RecipientDelimiter is one character that starts the subaddress
	// (RFC 5233) of a local part; "" disables subaddressing.
	RecipientDelimiter string `toml:"recipient_delimiter"`
	// Aliases maps an address ("sales@example.org") or a whole domain
	// ("@example.org", the catch-all) to target addresses, local or
	// remote. Keys and targets match case-insensitively.
	Aliases map[string][]string `toml:"aliases"`
}

// DefaultAliasing is subaddressing with "+" and no aliases.
func DefaultAliasing() Aliasing {
	return Aliasing{RecipientDelimiter: DefaultRecipientDelimiter}
}

func (a *Aliasing) validate() []error {
	var errs []error
	if d := a.RecipientDelimiter; d != "" && (len(d) != 1 || d[0] <= ' ' || d[0] >= 0x7f || strings.ContainsAny(d, `@"\<>()[],;:`)) {
		errs = append(errs, fmt.Errorf("recipient_delimiter %q: want \"\" or one printable ASCII character that is not a special in addresses", d))
	}
	keys := make([]string, 0, len(a.Aliases))
	for k := range a.Aliases {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	seen := make(map[string]string, len(keys))
	for _, k := range keys {
		targets := a.Aliases[k]
		lk := strings.ToLower(k)
		if !validAliasKey(lk) {
			errs = append(errs, fmt.Errorf("aliases: key %q: want an address (local@domain) or \"@domain\"", k))
		}
		if prev, dup := seen[lk]; dup {
			errs = append(errs, fmt.Errorf("aliases: keys %q and %q differ only in case", prev, k))
		}
		seen[lk] = k
		if len(targets) == 0 {
			errs = append(errs, fmt.Errorf("aliases: %q has no targets", k))
		}
		if len(targets) > MaxAliasTargets {
			errs = append(errs, fmt.Errorf("aliases: %q has %d targets, at most %d allowed", k, len(targets), MaxAliasTargets))
		}
		for _, t := range targets {
			if !validAddress(strings.ToLower(t)) {
				errs = append(errs, fmt.Errorf("aliases: %q: target %q is not an address (local@domain)", k, t))
			}
		}
	}
	return errs
}

// validAliasKey accepts "local@domain" and "@domain".
func validAliasKey(k string) bool {
	if rest, ok := strings.CutPrefix(k, "@"); ok {
		return validDomain(rest)
	}
	return validAddress(k)
}

// validAddress is a plain local@domain: no spaces, quotes, routes or
// percent hacks; the server only ever compares these strings.
func validAddress(s string) bool {
	local, domain, ok := strings.Cut(s, "@")
	if !ok || local == "" || len(s) > 254 || strings.ContainsAny(local, " \t\"\\<>()[],;:%@") {
		return false
	}
	return validDomain(domain)
}

func validDomain(d string) bool {
	if d == "" || len(d) > 253 || strings.HasPrefix(d, ".") || strings.HasSuffix(d, ".") || strings.Contains(d, "..") {
		return false
	}
	for _, r := range d {
		if !(r == '-' || r == '.' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r >= 0x80) {
			return false
		}
	}
	return true
}

// AliasTable is the validated [aliases] table with keys and targets
// lower-cased, as the SMTP server asks it (smtpserver.Aliases). Build it
// with Table after Validate; it is read-only.
type AliasTable struct {
	targets map[string][]string
	domains map[string]bool
}

// Table returns the lower-cased alias table. Duplicate targets of one key
// are kept once, in their first position.
func (a *Aliasing) Table() *AliasTable {
	t := &AliasTable{targets: make(map[string][]string, len(a.Aliases)), domains: make(map[string]bool)}
	for k, targets := range a.Aliases {
		lk := strings.ToLower(k)
		var out []string
		for _, x := range targets {
			lx := strings.ToLower(x)
			if !contains(out, lx) {
				out = append(out, lx)
			}
		}
		t.targets[lk] = out
		if i := strings.LastIndexByte(lk, '@'); i >= 0 {
			t.domains[lk[i+1:]] = true
		}
	}
	return t
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Entries returns a copy of the table: lower-cased key -> targets.
func (t *AliasTable) Entries() map[string][]string {
	out := map[string][]string{}
	if t == nil {
		return out
	}
	for k, v := range t.targets {
		out[k] = append([]string(nil), v...)
	}
	return out
}

// AliasTargets returns the targets of key, a lower-cased address or
// "@domain".
func (t *AliasTable) AliasTargets(key string) ([]string, bool) {
	if t == nil {
		return nil, false
	}
	v, ok := t.targets[key]
	return v, ok
}

// AliasDomain reports whether a key of the table is in domain
// (lower-cased), which makes the domain local.
func (t *AliasTable) AliasDomain(domain string) bool {
	return t != nil && t.domains[domain]
}
