package smtpserver

import (
	"strings"

	"github.com/emersion/go-smtp"
)

// Mail starts a transaction (MAIL FROM, RFC 5321 §4.1.1.2). go-smtp has
// checked the syntax, SIZE against MaxMessageBytes and the other
// parameters.
//
// Submission (and MX after AUTH) requires an authenticated client (530
// 5.7.0, RFC 4954 §6) whose own address is the reverse-path (553 5.7.1,
// RFC 6409 §4.1). Unauthenticated MX clients may use any reverse-path.
func (ss *session) Mail(from string, opts *smtp.MailOptions) error {
	if ss.s.cfg.Mode == ModeSubmission && ss.account == nil {
		return ss.reply(errAuthRequired)
	}
	if ss.account != nil {
		if from == "" {
			return ss.reply(errSubmissionNullSendr)
		}
		if strings.ToLower(from) != strings.ToLower(ss.account.Email) {
			ss.log.Info("smtp: sender not owned", "from", from)
			return ss.reply(errSenderNotOwned)
		}
	}
	if err := ss.s.beginTransaction(ss.conn); err != nil {
		// Shutdown has begun and this connection was idle: say so and
		// hang up (go-smtp's own reply then goes nowhere).
		if ss.conn != nil {
			ss.conn.closeShutdown()
		}
		return ss.reply(err)
	}
	ss.inTransaction = true
	ss.from = from
	ss.recipients = nil
	return nil
}
