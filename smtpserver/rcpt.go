package smtpserver

import (
	"context"
	"errors"
	"strings"

	"github.com/emersion/go-smtp"

	"github.com/mailroom/mailroom/store"
)

// Rcpt adds a recipient (RCPT TO, RFC 5321 §4.1.1.3). go-smtp has checked
// the syntax and MaxRecipients (452 4.5.3).
//
// A domain is local once an account exists in it. An unknown user in a
// local domain gets 550 5.1.1. Another domain gets 554 5.7.1 (relay
// denied) from an unauthenticated client; from an authenticated one it is
// accepted for the outbound queue (Config.Queue), or refused with 550
// 5.7.1 when there is no queue. A local account at or over its quota gets
// 452 4.2.2 (quota.go).
func (ss *session) Rcpt(to string, opts *smtp.RcptOptions) error {
	acct, err := ss.recipientAccount(ss.ctx, to)
	if errors.Is(err, errRelayUnavailable) && ss.s.cfg.Queue != nil {
		ss.recipients = append(ss.recipients, recipient{addr: to, remote: true})
		return nil
	}
	if err != nil {
		ss.log.Info("smtp: recipient refused", "rcpt", to, "err", err)
		return ss.reply(err)
	}
	if err := ss.checkQuota(ss.ctx, acct); err != nil {
		ss.log.Info("smtp: recipient refused", "rcpt", to, "err", err)
		return ss.reply(err)
	}
	ss.recipients = append(ss.recipients, recipient{addr: to, account: acct})
	return nil
}

// splitAddress returns the lower-cased local part and domain of a
// forward-path mailbox. It refuses what could steer mail elsewhere: more
// than one '@' (also inside a quoted local part) and the '%' hack. go-smtp
// has already dropped any source route ("@a,@b:"), as RFC 5321 §C allows;
// the remaining mailbox is only ever delivered locally, never relayed.
func splitAddress(addr string) (local, domain string, ok bool) {
	local, domain, found := strings.Cut(addr, "@")
	if !found || local == "" || domain == "" || strings.ContainsAny(domain, "@%") || strings.Contains(local, "%") {
		return "", "", false
	}
	return strings.ToLower(local), strings.ToLower(domain), true
}

// postmasterLocal is the reserved mailbox name of RFC 5321 §4.5.1.
const postmasterLocal = "postmaster"

// recipientAccount finds the local account that receives mail for addr.
func (ss *session) recipientAccount(ctx context.Context, addr string) (store.Account, error) {
	local, domain, ok := splitAddress(addr)
	if !ok {
		return store.Account{}, errBadAddress
	}
	st := ss.s.cfg.Store
	isLocal, err := st.IsLocalDomain(ctx, domain)
	if err != nil {
		return store.Account{}, err
	}
	postmaster := local == postmasterLocal
	// "<postmaster>" arrives as postmaster@Hostname (rewrite.go), which
	// is ours even when no account lives in that domain.
	if !isLocal && !(postmaster && domain == strings.ToLower(ss.s.cfg.Hostname)) {
		if ss.account != nil {
			return store.Account{}, errRelayUnavailable
		}
		return store.Account{}, errRelayDenied
	}
	acct, err := st.AccountByEmail(ctx, local+"@"+domain)
	if errors.Is(err, store.ErrNotFound) {
		if postmaster {
			return ss.resolvePostmaster(ctx)
		}
		return store.Account{}, errUnknownUser
	}
	return acct, err
}

// resolvePostmaster picks the account that receives postmaster mail for a
// domain that has no postmaster account of its own (and for the bare
// "<postmaster>"): postmaster@Hostname, else postmaster@ the parent domain
// of Hostname (mx.example.com -> example.com), else the first account,
// in address order, whose local part is postmaster. With none, 550 5.1.1.
func (ss *session) resolvePostmaster(ctx context.Context) (store.Account, error) {
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
	for _, a := range accts {
		if l, _, _ := strings.Cut(a.Email, "@"); strings.EqualFold(l, postmasterLocal) {
			return a, nil
		}
	}
	return store.Account{}, errUnknownUser
}
