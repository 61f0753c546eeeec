package smtpserver

import (
	"github.com/emersion/go-smtp"

	"github.com/mailroom/mailroom/milter"
)

// Mail starts a transaction (MAIL FROM, RFC 5321 §4.1.1.2). go-smtp has
// checked the syntax and the other parameters; it lets through control
// characters inside a quoted local part or the domain, which are refused
// here with 501 5.1.7 (RFC 3463 X.1.7 bad sender's mailbox address
// syntax): they would otherwise reach the Return-Path header and the
// reply text.
//
// Submission (and MX after AUTH) requires an authenticated client (530
// 5.7.0, RFC 4954 §6) whose reverse-path is an address it may send as
// (553 5.7.1, RFC 6409 §4.1; the rule is maySendAs in sender.go).
// Unauthenticated MX clients may use any reverse-path.
//
// An unauthenticated MX client failing a connection check in reject
// mode (Config.ClientChecks: reverse DNS, HELO syntax) is refused with
// Postfix's replies (conncheck.go).
// An unauthenticated MX client listed in a reject zone of the DNS
// blocklists (Config.Blocklist) gets 554 5.7.1 with the zone's text.
// With milters (Config.Filter) the sender is shown to them last: their
// refusal is the reply (filter.go).
//
// SIZE= above MaxMessageBytes gets 552 5.3.4 (RFC 1870 §6.1); a SIZE= the
// server-wide in-flight Budget cannot reserve gets 452 4.3.1.
func (ss *session) Mail(from string, opts *smtp.MailOptions) error {
	if hasControl(from) {
		ss.log.Info("smtp: sender refused", "from", stripControls(from), "err", errBadSenderAddress)
		return ss.reply(errBadSenderAddress)
	}
	if ss.s.cfg.Mode == ModeSubmission && ss.account == nil {
		return ss.reply(errAuthRequired)
	}
	if ss.account != nil {
		if from == "" {
			return ss.reply(errSubmissionNullSendr)
		}
		if !ss.maySendAs(from) {
			ss.log.Info("smtp: sender not owned", "from", from)
			return ss.reply(errSenderNotOwned)
		}
	}
	var size int64
	if opts != nil {
		size = opts.Size
	}
	if size > ss.lim.MaxMessageBytes {
		return ss.reply(errMessageTooLarge)
	}
	if err := ss.clientChecked(); err != nil {
		return ss.reply(err)
	}
	if err := ss.blocklisted(); err != nil {
		return ss.reply(err)
	}
	id := newQueueID()
	discard := false
	if f := ss.filterSession(); f != nil {
		user := ""
		if ss.account != nil {
			user = ss.account.Email
		}
		v := f.Mail(ss.ctx, from, user, id)
		if err := filterError(v); err != nil {
			ss.log.Info("smtp: sender refused by milter", append([]any{"from", from}, filterLog(v)...)...)
			return ss.reply(err)
		}
		discard = v.Action == milter.Discard
	}
	tx := ss.s.cfg.Budget.newReservation()
	if size > 0 && !tx.ensure(size) {
		ss.log.Warn("smtp: in-flight budget exhausted", "size", size)
		if ss.filter != nil {
			ss.filter.Reset()
		}
		return ss.reply(errInFlightBudget)
	}
	if err := ss.s.beginTransaction(ss.conn); err != nil {
		tx.close()
		if ss.filter != nil {
			ss.filter.Reset()
		}
		// Shutdown has begun and this connection was idle: say so and
		// hang up (go-smtp's own reply then goes nowhere).
		if ss.conn != nil {
			ss.conn.closeShutdown()
		}
		return ss.reply(err)
	}
	ss.tx.close()
	ss.tx = tx
	ss.inTransaction = true
	ss.from = from
	ss.recipients = nil
	ss.id = id
	ss.discard = discard
	return nil
}

// hasControl reports whether an address contains a control character
// (C0, including CR, LF and NUL, or DEL). RFC 5321 §4.1.2 allows none in
// a path, quoted or not (qtextSMTP and quoted-pairSMTP are %d32-126).
func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] == 0x7f {
			return true
		}
	}
	return false
}
