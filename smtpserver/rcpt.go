package smtpserver

import (
	"strings"

	"github.com/emersion/go-smtp"

	"github.com/mailroom/mailroom/delivery"
	"github.com/mailroom/mailroom/milter"
)

// Rcpt adds a recipient (RCPT TO, RFC 5321 §4.1.1.3). go-smtp has checked
// the syntax; past the session's MaxRecipients it is 452 4.5.3 (RFC 5321
// §4.5.3.1.10: a temporary failure, the client sends the rest later).
//
// The recipient is resolved by the Deliverer (package delivery: local
// accounts, aliases, subaddresses, catch-alls, the postmaster rule,
// quotas, relaying); its typed errors become replies in replyFor: an
// address that resolves to nothing gets 550 5.1.1, an alias loop 550
// 5.4.6, another domain 554 5.7.1 from an unauthenticated client and,
// from an authenticated one without an outbound queue, 550 5.7.1; an
// account at or over its quota 452 4.2.2.
//
// A recipient the Deliverer accepted is greylisted for unauthenticated
// MX clients when Config.Greylist is set (451 4.7.1, greylist.go), then
// shown to the milters, whose
// refusal is the reply (filter.go).
//
// A control character anywhere in the address (go-smtp lets them through
// in a quoted local part and the domain) gets 501 5.1.3 (RFC 3463 X.1.3
// bad destination mailbox address syntax).
func (ss *session) Rcpt(to string, opts *smtp.RcptOptions) error {
	if hasControl(to) {
		ss.log.Info("smtp: recipient refused", "rcpt", stripControls(to), "err", errBadRcptAddress)
		return ss.reply(errBadRcptAddress)
	}
	if len(ss.recipients) >= ss.lim.MaxRecipients {
		return ss.reply(errTooManyRecipients)
	}
	if strings.EqualFold(to, postmaster) {
		// "RCPT TO:<Postmaster>" without a domain (RFC 5321 §4.1.1.3,
		// §4.5.1), which go-smtp (v0.26) passes on as given: the
		// postmaster of this host.
		to = postmaster + "@" + ss.s.cfg.Hostname
	}
	rc, err := ss.s.deliverer.Resolve(ss.ctx, delivery.Request{Addr: to, Relay: ss.account != nil})
	if err != nil {
		ss.log.Info("smtp: recipient refused", "rcpt", to, "err", err)
		return ss.reply(err)
	}
	if err := ss.greylisted(to); err != nil {
		return ss.reply(err)
	}
	if ss.filter != nil {
		v := ss.filter.Rcpt(ss.ctx, to)
		if err := filterError(v); err != nil {
			ss.log.Info("smtp: recipient refused by milter", append([]any{"rcpt", to}, filterLog(v)...)...)
			return ss.reply(err)
		}
		if v.Action == milter.Discard {
			ss.discard = true
		}
	}
	ss.recipients = append(ss.recipients, rc)
	return nil
}

// postmaster is the reserved mailbox name that RCPT may give without a
// domain (RFC 5321 §4.5.1).
const postmaster = "postmaster"

// splitAddress returns the lower-cased local part and domain of a
// mailbox, refusing what could steer mail elsewhere (delivery's rule).
func splitAddress(addr string) (local, domain string, ok bool) {
	return delivery.SplitAddress(addr)
}
