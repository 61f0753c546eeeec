package sqlcore

import (
	"strings"

	"github.com/mailroom/mailroom/store/internal/dircache"
)

// The directory cache's keys, normalized as the lookups normalize what
// they are asked (AccountByEmail, IsLocalDomain, AliasTargets): the
// writes that invalidate and a backend that caches build them here, so
// that a key dropped is the key kept.

// AccountKey is the key of AccountByEmail(email).
func AccountKey(email string) dircache.Key {
	return dircache.Key{Kind: dircache.Account, Name: normEmail(email)}
}

// DomainKey is the key of IsLocalDomain(domain).
func DomainKey(domain string) dircache.Key {
	return dircache.Key{Kind: dircache.Domain, Name: normDomain(domain)}
}

// AliasKey is the key of AliasTargets(address).
func AliasKey(address string) dircache.Key {
	return dircache.Key{Kind: dircache.Alias, Name: strings.ToLower(address)}
}

func normDomain(domain string) string { return strings.ToLower(strings.TrimSpace(domain)) }
