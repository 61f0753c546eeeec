package smtpserver

import (
	"context"
	"slices"
	"strings"

	"github.com/mailroom/mailroom/delivery"
	"github.com/mailroom/mailroom/message"
)

// runtimeAliases is the optional Deliverer method that gives the config
// file's [aliases] together with the aliases kept in the store
// (*delivery.Deliverer implements it).
type runtimeAliases interface {
	AliasTargets(ctx context.Context, key string) (targets []string, found bool, err error)
}

var _ runtimeAliases = (*delivery.Deliverer)(nil)

// maySendAs reports whether the authenticated account may use addr as
// its MAIL FROM or in the From and Sender header fields. The rule follows
// Postfix's reject_sender_login_mismatch with smtpd_sender_login_maps set
// to the alias table; an address belongs to the account when it is
//  1. the account's own address;
//  2. with a RecipientDelimiter, a subaddress of it (alice+news@ for
//     alice@, RFC 5233);
//  3. an alias ([aliases] or the store's) key for exactly that address (or its base address
//     before the delimiter) that lists the account's address among its
//     direct targets: an alias "team@" -> alice@, bob@ may be used by
//     alice and bob. A domain catch-all ("@domain") grants nothing: it
//     would let its target send as every address of the domain.
//
// Comparison is case-insensitive, as local parts are stored lower-cased.
func (ss *session) maySendAs(addr string) bool {
	if ss.account == nil {
		return false
	}
	own := strings.ToLower(ss.account.Email)
	local, domain, ok := splitAddress(addr)
	if !ok {
		return false
	}
	cands := []string{local + "@" + domain}
	if d := ss.s.cfg.RecipientDelimiter; d != "" {
		if base, _, found := strings.Cut(local, d); found && base != "" {
			cands = append(cands, base+"@"+domain)
		}
	}
	for _, a := range cands {
		if a == own {
			return true
		}
		if al, ok := ss.s.deliverer.(runtimeAliases); ok {
			// [aliases] and the store's aliases, as delivery sees them.
			targets, found, err := al.AliasTargets(ss.ctx, a)
			if err != nil {
				ss.log.Warn("smtp: alias lookup for the sender check", "err", err)
			}
			if found && slices.Contains(targets, own) {
				return true
			}
			continue
		}
		if al := ss.s.cfg.Aliases; al != nil {
			if targets, ok := al.AliasTargets(a); ok && slices.Contains(targets, own) {
				return true
			}
		}
	}
	return false
}

// checkAuthor checks the header of an authenticated user's message
// (RFC 6409 §8 lets a submission server enforce policy on it): every
// address in every From field, and in Sender if present, must be one the
// user may send as (maySendAs), else 550 5.7.1. It returns the domain the
// outbound signer may DKIM-sign with: that of the first From address,
// or of the account when the message has no From (traceHeaders adds it).
func (ss *session) checkAuthor(body []byte) (string, error) {
	header := body[:message.BodyStart(body)]
	froms := message.HeaderValues(header, "From")
	senders := message.HeaderValues(header, "Sender")
	signDomain := ""
	if len(froms) == 0 {
		_, signDomain, _ = splitAddress(ss.account.Email)
	}
	for i, v := range slices.Concat(froms, senders) {
		n := 0
		for _, a := range message.ParseAddressList(v) {
			if a.GroupStart || a.GroupEnd {
				continue
			}
			n++
			addr := a.Mailbox + "@" + a.Host
			if a.Mailbox == "" || a.Host == "" || a.Host == message.MissingHost || hasControl(addr) || !ss.maySendAs(addr) {
				ss.log.Info("smtp: author not owned", "addr", stripControls(addr))
				return "", errAuthorNotOwned
			}
			if signDomain == "" && i < len(froms) {
				signDomain = strings.ToLower(a.Host)
			}
		}
		if n == 0 {
			// A From or Sender naming nobody (an empty group, garbage).
			ss.log.Info("smtp: author field without an address")
			return "", errAuthorNotOwned
		}
	}
	return signDomain, nil
}
