package smtpserver

import (
	"context"
	"errors"
	"strings"

	"github.com/emersion/go-smtp"
)

// Rcpt adds a recipient (RCPT TO, RFC 5321 §4.1.1.3). go-smtp has checked
// the syntax and MaxRecipients (452 4.5.3).
//
// A domain is local once an account exists in it or an [aliases] key
// names it. A local address resolves to accounts and, through aliases
// only, to remote addresses (alias.go: resolveLocal); one that resolves
// to nothing gets 550 5.1.1, an alias loop 550 5.4.6. Another domain
// gets 554 5.7.1 (relay denied) from an unauthenticated client; from an
// authenticated one it is accepted for the outbound queue (Config.Queue),
// or refused with 550 5.7.1 when there is no queue. A local account at or
// over its quota gets 452 4.2.2 (quota.go); behind an alias with several
// targets, a full account is skipped instead, and 452 only if none is
// left.
//
// A control character anywhere in the address (go-smtp lets them through
// in a quoted local part and the domain) gets 501 5.1.3 (RFC 3463 X.1.3
// bad destination mailbox address syntax).
func (ss *session) Rcpt(to string, opts *smtp.RcptOptions) error {
	if hasControl(to) {
		ss.log.Info("smtp: recipient refused", "rcpt", stripControls(to), "err", errBadRcptAddress)
		return ss.reply(errBadRcptAddress)
	}
	x, err := ss.resolveRecipient(ss.ctx, to)
	if errors.Is(err, errRelayUnavailable) && ss.s.cfg.Queue != nil {
		ss.recipients = append(ss.recipients, recipient{addr: to, remote: true})
		return nil
	}
	if err == nil && len(x.remote) > 0 && ss.s.cfg.Queue == nil {
		// Forwarding needs the outbound queue.
		ss.log.Warn("smtp: alias with remote targets but no outbound queue", "rcpt", to)
		err = errRelayUnavailable
	}
	if err != nil {
		ss.log.Info("smtp: recipient refused", "rcpt", to, "err", err)
		return ss.reply(err)
	}
	var accepted []recipient
	var quotaErr error
	for _, acct := range x.accounts {
		if err := ss.checkQuota(ss.ctx, acct); err != nil {
			if !x.viaAlias || len(x.accounts)+len(x.remote) == 1 {
				ss.log.Info("smtp: recipient refused", "rcpt", to, "err", err)
				return ss.reply(err)
			}
			ss.log.Info("smtp: alias target skipped", "rcpt", to, "target", acct.Email, "err", err)
			quotaErr = err
			continue
		}
		accepted = append(accepted, recipient{addr: to, account: acct})
	}
	for _, r := range x.remote {
		accepted = append(accepted, recipient{addr: r, remote: true})
	}
	if len(accepted) == 0 {
		if quotaErr == nil {
			quotaErr = errUnknownUser
		}
		ss.log.Info("smtp: recipient refused", "rcpt", to, "err", quotaErr)
		return ss.reply(quotaErr)
	}
	if x.viaAlias {
		ss.log.Info("smtp: alias expanded", "rcpt", to, "accounts", len(x.accounts), "remote", len(x.remote))
	}
	ss.recipients = append(ss.recipients, accepted...)
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

// resolveRecipient finds the final recipients of addr: local accounts
// and, only through the alias table, remote addresses.
func (ss *session) resolveRecipient(ctx context.Context, addr string) (*expansion, error) {
	local, domain, ok := splitAddress(addr)
	if !ok {
		return nil, errBadAddress
	}
	isLocal, err := ss.isLocalDomain(ctx, domain)
	if err != nil {
		return nil, err
	}
	postmaster := local == postmasterLocal
	// "<postmaster>" arrives as postmaster@Hostname (rewrite.go), which
	// is ours even when no account lives in that domain.
	if !isLocal && !(postmaster && domain == strings.ToLower(ss.s.cfg.Hostname)) {
		if ss.account != nil {
			return nil, errRelayUnavailable
		}
		return nil, errRelayDenied
	}
	x := &expansion{path: map[string]bool{}, done: map[string]bool{}, seen: map[string]bool{}}
	if err := ss.resolveLocal(ctx, local, domain, 0, x); err != nil {
		return nil, err
	}
	return x, nil
}
