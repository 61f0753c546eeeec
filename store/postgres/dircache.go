package postgres

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/mailroom/mailroom/store"
	"github.com/mailroom/mailroom/store/internal/dircache"
	"github.com/mailroom/mailroom/store/internal/sqlcore"
)

// The recipient lookups of every delivery (is the domain local, the
// account of the address, the alias's targets, the active Sieve script)
// are answered from a per-node cache (s.dir, store/internal/dircache)
// through Recipients: on PostgreSQL each is a round trip, and they
// change only when an admin or the user edits them. Every write that
// changes one names its keys (sqlcore.Tx.Invalidate); the node drops
// them after its commit and sends them to the other nodes with the
// commit's notifications (dirPayload), which drop them when the
// notification arrives. While the LISTEN connection is down the cache is
// empty and keeps nothing (listen.go): the node would not hear of other
// nodes' changes.

// Recipients returns the store with the lookups of a delivery
// (IsLocalDomain, AccountByEmail, AliasTargets, ActiveSieveScript)
// answered from the node's cache: a change made on another node reaches
// them when its notification arrives, not at once. What is not delivery
// reads the database, logins (AccountByEmail) included: a new password
// or a deleted account is effective at once on every node, even one
// whose LISTEN connection hangs without failing.
func (s *Store) Recipients() store.Store { return recipients{s} }

// recipients is Store with the cached lookups (every other method, the
// optional ones too, is Store's).
type recipients struct{ *Store }

// keepNotFound: "not found" is an answer to keep (an unknown recipient
// is looked up again by the next attempt), other errors are not.
func keepNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }

func noSize[T any](T) int { return 0 }

// IsLocalDomain implements store.Store, from the node's cache.
func (r recipients) IsLocalDomain(ctx context.Context, domain string) (bool, error) {
	k := sqlcore.DomainKey(domain)
	return dircache.Load(r.dir, k, func() (bool, error) { return r.Core.IsLocalDomain(ctx, domain) }, keepNotFound, noSize)
}

// AccountByEmail implements store.Store, from the node's cache.
func (r recipients) AccountByEmail(ctx context.Context, email string) (store.Account, error) {
	k := sqlcore.AccountKey(email)
	return dircache.Load(r.dir, k, func() (store.Account, error) { return r.Core.AccountByEmail(ctx, email) }, keepNotFound,
		func(a store.Account) int { return len(a.Email) + len(a.PasswordHash) })
}

// AliasTargets implements store.Store, from the node's cache.
func (r recipients) AliasTargets(ctx context.Context, address string) ([]string, error) {
	k := sqlcore.AliasKey(address)
	t, err := dircache.Load(r.dir, k, func() ([]string, error) { return r.Core.AliasTargets(ctx, address) }, keepNotFound,
		func(t []string) int {
			n := 0
			for _, x := range t {
				n += len(x) + 16
			}
			return n
		})
	return slices.Clone(t), err
}

// ActiveSieveScript implements store.Store, from the node's cache.
func (r recipients) ActiveSieveScript(ctx context.Context, accountID int64) (store.SieveScript, error) {
	sc, err := dircache.Load(r.dir, dircache.SieveKey(accountID), func() (store.SieveScript, error) { return r.Core.ActiveSieveScript(ctx, accountID) },
		keepNotFound, func(sc store.SieveScript) int { return len(sc.Name) + len(sc.Source) })
	if sc.Source != nil {
		sc.Source = bytes.Clone(sc.Source)
	}
	return sc, err
}

// dirPrefix starts the payload of a directory change: "d:<kind>:<name>",
// "d:*" for every entry.
const dirPrefix = "d:"

// dirPayload encodes k; a name too long for a payload invalidates every
// entry instead.
func dirPayload(k dircache.Key) string {
	if k == dircache.All || len(dirPrefix)+2+len(k.Name) > maxPayload {
		return dirPrefix + "*"
	}
	return dirPrefix + string(k.Kind) + ":" + k.Name
}

// parseDirPayload decodes what dirPayload encodes (isDir: p is a
// directory change).
func parseDirPayload(p string) (k dircache.Key, isDir, ok bool) {
	rest, isDir := strings.CutPrefix(p, dirPrefix)
	if !isDir {
		return k, false, false
	}
	if rest == "*" {
		return dircache.All, true, true
	}
	kind, name, found := strings.Cut(rest, ":")
	if !found || len(kind) != 1 {
		return k, true, false
	}
	switch dircache.Kind(kind[0]) {
	case dircache.Domain, dircache.Account, dircache.Alias, dircache.Sieve:
		return dircache.Key{Kind: dircache.Kind(kind[0]), Name: name}, true, true
	}
	return k, true, false
}
