package delivery

import (
	"context"
	"errors"
	"sort"
	"strings"

	"github.com/mailroom/mailroom/store"
)

// Request is one recipient to resolve (an SMTP RCPT, the sender a DSN
// goes back to).
type Request struct {
	Addr string // the forward-path mailbox, as given
	// Relay: the sender may send to other domains (an authenticated
	// client). Without it another domain is ErrRelayDenied; aliases may
	// still forward to remote targets.
	Relay bool
	// IgnoreQuota skips the soft quota check (bounces are delivered
	// over quota, as they always were).
	IgnoreQuota bool
}

// Recipient is what one address resolved to: local accounts and remote
// addresses, each once.
type Recipient struct {
	Addr     string          // as requested
	Accounts []store.Account // local copies
	Remote   []string        // outbound queue
	ViaAlias bool            // some step went through the alias table
}

// Resolve finds the final recipients of req.Addr. A domain is local
// once an account exists in it or an alias key names it (and
// postmaster@Hostname always is). A local address resolves to accounts
// and, through aliases only, to remote addresses (resolveLocal); one
// that resolves to nothing is ErrNoSuchUser, an alias loop ErrLoop.
// Another domain is ErrRelayDenied without req.Relay, else a remote
// recipient, or ErrRelayUnavailable without an outbound queue. A local
// account at or over its quota is ErrMailboxFull; behind an alias with
// several targets a full account is skipped instead, and ErrMailboxFull
// only if none is left.
func (d *Deliverer) Resolve(ctx context.Context, req Request) (Recipient, error) {
	rc := Recipient{Addr: req.Addr}
	local, domain, ok := splitAddress(req.Addr)
	if !ok {
		return rc, ErrBadAddress
	}
	if d.isSRSAddress(local, domain) {
		return d.resolveSRS(ctx, req)
	}
	isLocal, err := d.isLocalDomain(ctx, domain)
	if err != nil {
		return rc, err
	}
	// "<postmaster>" arrives as postmaster@Hostname, which is ours even
	// when no account lives in that domain.
	if !isLocal && !(local == postmasterLocal && domain == strings.ToLower(d.cfg.Hostname)) {
		switch {
		case !req.Relay:
			return rc, ErrRelayDenied
		case !d.Outbound():
			return rc, ErrRelayUnavailable
		}
		rc.Remote = []string{req.Addr}
		return rc, nil
	}
	x := &expansion{path: map[string]bool{}, done: map[string]bool{}, seen: map[string]bool{}}
	if err := d.resolveLocal(ctx, local, domain, 0, x); err != nil {
		return rc, err
	}
	rc.ViaAlias = x.viaAlias
	if len(x.remote) > 0 && !d.Outbound() {
		// Forwarding needs the outbound queue.
		d.log.Warn("delivery: alias with remote targets but no outbound queue", "rcpt", req.Addr)
		return rc, ErrRelayUnavailable
	}
	var quotaErr error
	for _, acct := range x.accounts {
		if !req.IgnoreQuota {
			if err := d.checkQuota(ctx, acct); err != nil {
				if !x.viaAlias || len(x.accounts)+len(x.remote) == 1 {
					return Recipient{Addr: req.Addr}, err
				}
				d.log.Info("delivery: alias target skipped", "rcpt", req.Addr, "target", acct.Email, "err", err)
				quotaErr = err
				continue
			}
		}
		rc.Accounts = append(rc.Accounts, acct)
	}
	rc.Remote = x.remote
	if len(rc.Accounts)+len(rc.Remote) == 0 {
		if quotaErr == nil {
			quotaErr = ErrNoSuchUser
		}
		return Recipient{Addr: req.Addr}, quotaErr
	}
	if x.viaAlias {
		d.log.Info("delivery: alias expanded", "rcpt", req.Addr, "accounts", len(rc.Accounts), "remote", len(rc.Remote))
	}
	return rc, nil
}

// expansion collects the final recipients of one address: local
// accounts and remote addresses, each once.
type expansion struct {
	accounts []store.Account
	remote   []string
	viaAlias bool            // some step went through the alias table
	path     map[string]bool // alias keys being expanded (loop detection)
	done     map[string]bool // alias keys fully expanded (diamonds)
	seen     map[string]bool // accounts and remote addresses already added
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
func (d *Deliverer) isLocalDomain(ctx context.Context, domain string) (bool, error) {
	if a := d.cfg.Aliases; a != nil && a.AliasDomain(domain) {
		return true, nil
	}
	return d.dir.IsLocalDomain(ctx, domain)
}

// resolveLocal finds the final recipients of local@domain, a mailbox in
// a local domain, in this order:
//  1. the account local@domain;
//  2. the alias local@domain, its targets resolved in turn;
//  3. with a RecipientDelimiter in local, the base address before it
//     (alice+news -> alice): its account, else its alias;
//  4. the catch-all alias "@domain";
//  5. for postmaster (RFC 5321 §4.5.1), resolvePostmaster;
//  6. else ErrNoSuchUser.
func (d *Deliverer) resolveLocal(ctx context.Context, local, domain string, depth int, x *expansion) error {
	addr := local + "@" + domain
	acct, err := d.dir.AccountByEmail(ctx, addr)
	if err == nil {
		x.addAccount(acct)
		return nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if ok, err := d.expandAlias(ctx, addr, depth, x); ok || err != nil {
		return err
	}
	if delim := d.cfg.RecipientDelimiter; delim != "" {
		if base, _, found := strings.Cut(local, delim); found && base != "" {
			baseAddr := base + "@" + domain
			acct, err := d.dir.AccountByEmail(ctx, baseAddr)
			if err == nil {
				x.addAccount(acct)
				return nil
			}
			if !errors.Is(err, store.ErrNotFound) {
				return err
			}
			if ok, err := d.expandAlias(ctx, baseAddr, depth, x); ok || err != nil {
				return err
			}
		}
	}
	if ok, err := d.expandAlias(ctx, "@"+domain, depth, x); ok || err != nil {
		return err
	}
	if local == postmasterLocal {
		acct, err := d.resolvePostmaster(ctx, domain)
		if err != nil {
			return err
		}
		x.addAccount(acct)
		return nil
	}
	return ErrNoSuchUser
}

// expandAlias resolves the targets of the alias key, if there is one:
// a target in a local domain recursively (resolveLocal), any other to the
// outbound queue. A target that resolves to no one is skipped with a log
// line; if none of the targets resolves, the recipient is unknown.
func (d *Deliverer) expandAlias(ctx context.Context, key string, depth int, x *expansion) (bool, error) {
	targets, ok, err := d.aliasTargets(ctx, key)
	if err != nil || !ok {
		return ok, err
	}
	x.viaAlias = true
	if x.done[key] {
		return true, nil
	}
	if x.path[key] || depth >= MaxAliasDepth {
		d.log.Warn("delivery: alias loop", "alias", key, "depth", depth)
		return true, ErrLoop
	}
	x.path[key] = true
	defer delete(x.path, key)
	resolved := 0
	for _, t := range targets {
		local, domain, ok := splitAddress(t)
		if !ok {
			d.log.Warn("delivery: bad alias target skipped", "alias", key, "target", t)
			continue
		}
		isLocal, err := d.isLocalDomain(ctx, domain)
		if err != nil {
			return true, err
		}
		if !isLocal {
			x.addRemote(local + "@" + domain)
			resolved++
			continue
		}
		err = d.resolveLocal(ctx, local, domain, depth+1, x)
		if errors.Is(err, ErrNoSuchUser) {
			d.log.Warn("delivery: alias target has no mailbox, skipped", "alias", key, "target", t)
			continue
		}
		if err != nil {
			return true, err
		}
		resolved++
	}
	x.done[key] = true
	if resolved == 0 {
		return true, ErrNoSuchUser
	}
	return true, nil
}

// aliasTargets looks key up in the config file's [aliases] first, which
// overrides the store's alias of the same key, then in the store.
func (d *Deliverer) aliasTargets(ctx context.Context, key string) ([]string, bool, error) {
	if a := d.cfg.Aliases; a != nil {
		if targets, ok := a.AliasTargets(key); ok {
			return targets, true, nil
		}
	}
	if d.aliases == nil {
		return nil, false, nil
	}
	targets, err := d.aliases.AliasTargets(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return targets, true, nil
}

// AliasTargets returns the targets of an alias key (lower-cased address
// or "@domain"), from the config file's [aliases] or the store: what the
// SMTP server checks a sender against.
func (d *Deliverer) AliasTargets(ctx context.Context, key string) ([]string, bool, error) {
	return d.aliasTargets(ctx, key)
}

// resolvePostmaster picks the account that receives postmaster mail for
// domain when it has no postmaster account, alias or catch-all of its own
// (and for the bare "<postmaster>", whose domain is Hostname):
// postmaster@Hostname, else postmaster@ the parent domain of Hostname
// (mx.example.com -> example.com), else the first account, in address
// order, whose local part is postmaster (mailroom creates
// postmaster@localhost on first start), else the first account of domain
// in address order; for Hostname itself (the bare "<postmaster>"), else
// the first account of all. With none, ErrNoSuchUser.
func (d *Deliverer) resolvePostmaster(ctx context.Context, domain string) (store.Account, error) {
	host := strings.ToLower(d.cfg.Hostname)
	candidates := []string{host}
	if _, parent, ok := strings.Cut(host, "."); ok && strings.Contains(parent, ".") {
		candidates = append(candidates, parent)
	}
	for _, dom := range candidates {
		acct, err := d.dir.AccountByEmail(ctx, postmasterLocal+"@"+dom)
		if err == nil {
			return acct, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return store.Account{}, err
		}
	}
	accts, err := d.dir.Accounts(ctx)
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
		if _, dom, _ := strings.Cut(a.Email, "@"); strings.EqualFold(dom, domain) {
			return a, nil
		}
	}
	if domain == host && len(accts) > 0 {
		return accts[0], nil
	}
	return store.Account{}, ErrNoSuchUser
}

// checkQuota refuses a local recipient whose account already uses at
// least its limit of bytes or messages (Config.Quota). The limit is soft,
// as with Dovecot's grace: a message that crosses it is accepted, the
// next one is refused (temporarily: SMTP 452 4.2.2), so the sender
// retries and the mail arrives once the owner makes room.
func (d *Deliverer) checkQuota(ctx context.Context, acct store.Account) error {
	q := d.cfg.Quota
	if q == nil {
		return nil
	}
	maxBytes, maxMessages := q.Limits(acct.Email)
	if maxBytes <= 0 && maxMessages <= 0 {
		return nil
	}
	u, err := d.dir.AccountUsage(ctx, acct.ID)
	if err != nil {
		return err
	}
	if (maxBytes > 0 && u.Bytes >= maxBytes) || (maxMessages > 0 && u.Messages >= maxMessages) {
		return ErrMailboxFull
	}
	return nil
}
