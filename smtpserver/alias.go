package smtpserver

import (
	"context"
	"errors"
	"sort"
	"strings"

	"github.com/mailroom/mailroom/store"
)

// Aliases is the admin's alias table (config.AliasTable implements it).
// Keys are lower-cased: an address, or "@domain" for a domain's
// catch-all; targets are lower-cased addresses, local or remote.
type Aliases interface {
	AliasTargets(key string) ([]string, bool)
	// AliasDomain reports whether a key lives in domain: such a domain
	// is local even with no account in it.
	AliasDomain(domain string) bool
}

// maxAliasDepth bounds alias-of-alias expansion; deeper counts as a loop.
const maxAliasDepth = 8

// errAliasLoop: expanding a recipient reached an alias that is already
// being expanded, or went deeper than maxAliasDepth. It is a permanent
// 550 5.4.6 (RFC 3463 §3.5 X.4.6 routing loop detected): the loop is in
// the configuration, retrying does not help the sender, and the admin
// finds it in the log.
var errAliasLoop = errors.New("smtpserver: alias loop")

// expansion collects the final recipients of one RCPT: local accounts and
// remote addresses, each once.
type expansion struct {
	accounts []store.Account
	remote   []string
	viaAlias bool            // some step went through the alias table
	path     map[string]bool // alias keys being expanded (loop detection)
	done     map[string]bool // alias keys fully expanded (diamonds)
	seen     map[string]bool // "id:N" and remote addresses already added
}

func (x *expansion) addAccount(a store.Account) {
	k := "acct:" + a.Email
	if !x.seen[k] {
		x.seen[k] = true
		x.accounts = append(x.accounts, a)
	}
}

func (x *expansion) addRemote(addr string) {
	k := "remote:" + addr
	if !x.seen[k] {
		x.seen[k] = true
		x.remote = append(x.remote, addr)
	}
}

// isLocalDomain: the store knows an account in domain, or an alias key
// names it.
func (ss *session) isLocalDomain(ctx context.Context, domain string) (bool, error) {
	if a := ss.s.cfg.Aliases; a != nil && a.AliasDomain(domain) {
		return true, nil
	}
	return ss.s.cfg.Store.IsLocalDomain(ctx, domain)
}

// resolveLocal finds the final recipients of local@domain, a mailbox in
// a local domain, in this order:
//  1. the account local@domain;
//  2. the alias local@domain, its targets resolved in turn;
//  3. with a RecipientDelimiter in local, the base address before it
//     (alice+news -> alice): its account, else its alias;
//  4. the catch-all alias "@domain";
//  5. for postmaster (RFC 5321 §4.5.1), resolvePostmaster;
//  6. else 550 5.1.1.
func (ss *session) resolveLocal(ctx context.Context, local, domain string, depth int, x *expansion) error {
	st := ss.s.cfg.Store
	addr := local + "@" + domain
	acct, err := st.AccountByEmail(ctx, addr)
	if err == nil {
		x.addAccount(acct)
		return nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if ok, err := ss.expandAlias(ctx, addr, depth, x); ok || err != nil {
		return err
	}
	if d := ss.s.cfg.RecipientDelimiter; d != "" {
		if base, _, found := strings.Cut(local, d); found && base != "" {
			baseAddr := base + "@" + domain
			acct, err := st.AccountByEmail(ctx, baseAddr)
			if err == nil {
				x.addAccount(acct)
				return nil
			}
			if !errors.Is(err, store.ErrNotFound) {
				return err
			}
			if ok, err := ss.expandAlias(ctx, baseAddr, depth, x); ok || err != nil {
				return err
			}
		}
	}
	if ok, err := ss.expandAlias(ctx, "@"+domain, depth, x); ok || err != nil {
		return err
	}
	if local == postmasterLocal {
		acct, err := ss.resolvePostmaster(ctx, domain)
		if err != nil {
			return err
		}
		x.addAccount(acct)
		return nil
	}
	return errUnknownUser
}

// expandAlias resolves the targets of the alias key, if there is one:
// a target in a local domain recursively (resolveLocal), any other to the
// outbound queue. A target that resolves to no one is skipped with a log
// line; if none of the targets resolves, the recipient is unknown.
func (ss *session) expandAlias(ctx context.Context, key string, depth int, x *expansion) (bool, error) {
	a := ss.s.cfg.Aliases
	if a == nil {
		return false, nil
	}
	targets, ok := a.AliasTargets(key)
	if !ok {
		return false, nil
	}
	x.viaAlias = true
	if x.done[key] {
		return true, nil
	}
	if x.path[key] || depth >= maxAliasDepth {
		ss.log.Warn("smtp: alias loop", "alias", key, "depth", depth)
		return true, errAliasLoop
	}
	x.path[key] = true
	defer delete(x.path, key)
	resolved := 0
	for _, t := range targets {
		local, domain, ok := splitAddress(t)
		if !ok {
			ss.log.Warn("smtp: bad alias target skipped", "alias", key, "target", t)
			continue
		}
		isLocal, err := ss.isLocalDomain(ctx, domain)
		if err != nil {
			return true, err
		}
		if !isLocal {
			x.addRemote(local + "@" + domain)
			resolved++
			continue
		}
		err = ss.resolveLocal(ctx, local, domain, depth+1, x)
		if errors.Is(err, errUnknownUser) {
			ss.log.Warn("smtp: alias target has no mailbox, skipped", "alias", key, "target", t)
			continue
		}
		if err != nil {
			return true, err
		}
		resolved++
	}
	x.done[key] = true
	if resolved == 0 {
		return true, errUnknownUser
	}
	return true, nil
}

// resolvePostmaster picks the account that receives postmaster mail for
// domain when it has no postmaster account, alias or catch-all of its own
// (and for the bare "<postmaster>", whose domain is Hostname):
// postmaster@Hostname, else postmaster@ the parent domain of Hostname
// (mx.example.com -> example.com), else the first account, in address
// order, whose local part is postmaster (mailroom creates
// postmaster@localhost on first start), else the first account of domain
// in address order; for Hostname itself (the bare "<postmaster>"), else
// the first account of all. With none, 550 5.1.1.
func (ss *session) resolvePostmaster(ctx context.Context, domain string) (store.Account, error) {
	st := ss.s.cfg.Store
	host := strings.ToLower(ss.s.cfg.Hostname)
	candidates := []string{host}
	if _, parent, ok := strings.Cut(host, "."); ok && strings.Contains(parent, ".") {
		candidates = append(candidates, parent)
	}
	for _, d := range candidates {
		acct, err := st.AccountByEmail(ctx, postmasterLocal+"@"+d)
		if err == nil {
			return acct, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return store.Account{}, err
		}
	}
	accts, err := st.Accounts(ctx)
	if err != nil {
		return store.Account{}, err
	}
	sort.Slice(accts, func(i, j int) bool { return strings.ToLower(accts[i].Email) < strings.ToLower(accts[j].Email) })
	for _, a := range accts {
		if l, _, _ := strings.Cut(a.Email, "@"); strings.EqualFold(l, postmasterLocal) {
			return a, nil
		}
	}
	for _, a := range accts {
		if _, d, _ := strings.Cut(a.Email, "@"); strings.EqualFold(d, domain) {
			return a, nil
		}
	}
	if domain == host && len(accts) > 0 {
		return accts[0], nil
	}
	return store.Account{}, errUnknownUser
}
