package store

import (
	"fmt"
	"strings"
	"time"
)

// Domain is a domain the server receives mail for even when no account
// lives in it yet (AddDomain). A domain with an account or an alias key
// in it is local too (IsLocalDomain).
type Domain struct {
	Name    string // lower case, no trailing dot
	Created time.Time
}

// Alias maps an address, or "@domain" (the domain's catch-all), to
// target addresses, local or remote. Keys and targets are lower case.
type Alias struct {
	Address string
	Targets []string
	Created time.Time
}

// Bounds of the domain and alias tables, checked before anything is
// written.
const (
	MaxAliasTargets = 100 // targets of one alias (as config.MaxAliasTargets)
	MaxAddressLen   = 254 // bytes of an address (RFC 5321 §4.5.3.1.3 path minus the brackets)
	MaxDomainLen    = 253 // bytes of a domain name
)

// CheckDomain returns name lower-cased and trimmed, or ErrInvalid unless
// it is a plain domain name: letters, digits, '-', '.', or non-ASCII
// (U-labels), no empty labels, at most MaxDomainLen bytes.
func CheckDomain(name string) (string, error) {
	d := strings.ToLower(strings.TrimSpace(name))
	if !validDomain(d) {
		return "", fmt.Errorf("%w: %q is not a domain name", ErrInvalid, name)
	}
	return d, nil
}

// CheckAlias returns the alias key and targets lower-cased, targets
// without duplicates (first position kept), or ErrInvalid: the key must
// be local@domain or "@domain", every target local@domain, 1 to
// MaxAliasTargets targets, none of them the key itself.
func CheckAlias(address string, targets []string) (string, []string, error) {
	key := strings.ToLower(strings.TrimSpace(address))
	if !validAliasKey(key) {
		return "", nil, fmt.Errorf("%w: alias %q: want local@domain or @domain", ErrInvalid, address)
	}
	if len(targets) == 0 || len(targets) > MaxAliasTargets {
		return "", nil, fmt.Errorf("%w: alias %s: want 1 to %d targets, got %d", ErrInvalid, key, MaxAliasTargets, len(targets))
	}
	out := make([]string, 0, len(targets))
	for _, t := range targets {
		lt := strings.ToLower(strings.TrimSpace(t))
		if !validAddress(lt) {
			return "", nil, fmt.Errorf("%w: alias %s: target %q is not an address (local@domain)", ErrInvalid, key, t)
		}
		if lt == key {
			return "", nil, fmt.Errorf("%w: alias %s names itself", ErrInvalid, key)
		}
		if !containsString(out, lt) {
			out = append(out, lt)
		}
	}
	return key, out, nil
}

// CheckAddress returns addr lower-cased and trimmed, or ErrInvalid
// unless it is a plain local@domain of at most MaxAddressLen bytes.
func CheckAddress(addr string) (string, error) {
	a := strings.ToLower(strings.TrimSpace(addr))
	if !validAddress(a) {
		return "", fmt.Errorf("%w: %q is not an address (local@domain)", ErrInvalid, addr)
	}
	return a, nil
}

// AliasDomain is the domain of an alias key ("a@example.org" and
// "@example.org" are both in example.org).
func AliasDomain(key string) string {
	return key[strings.LastIndexByte(key, '@')+1:]
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func validAliasKey(k string) bool {
	if rest, ok := strings.CutPrefix(k, "@"); ok {
		return validDomain(rest)
	}
	return validAddress(k)
}

// validAddress is a plain local@domain: no spaces, quotes, routes or
// percent hacks, at most MaxAddressLen bytes.
func validAddress(s string) bool {
	local, domain, ok := strings.Cut(s, "@")
	if !ok || local == "" || len(s) > MaxAddressLen {
		return false
	}
	for _, r := range local {
		if r <= ' ' || r == 0x7f || strings.ContainsRune("\"\\<>()[],;:%@", r) {
			return false
		}
	}
	return validDomain(domain)
}

func validDomain(d string) bool {
	if d == "" || len(d) > MaxDomainLen || strings.HasPrefix(d, ".") || strings.HasSuffix(d, ".") || strings.Contains(d, "..") {
		return false
	}
	for _, r := range d {
		if !(r == '-' || r == '.' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r >= 0x80 && r != 0xfffd) {
			return false
		}
	}
	return true
}

// JoinTargets and SplitTargets are how backends keep an alias's targets
// in one column: newline-separated (a valid target has no newline).
func JoinTargets(targets []string) string { return strings.Join(targets, "\n") }

// SplitTargets is the inverse of JoinTargets.
func SplitTargets(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}
