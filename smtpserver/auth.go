package smtpserver

import (
	"errors"
	"strings"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/mailroom/mailroom/auth"
	"github.com/mailroom/mailroom/store"
)

// AuthMechanisms lists the SASL mechanisms for EHLO's AUTH keyword (RFC
// 4954 §3). Where plaintext AUTH is not allowed (no TLS, not an allowed
// address) none are advertised, and AUTH answers 538 (RFC 4954 §6).
func (ss *session) AuthMechanisms() []string {
	if !ss.authAllowed() {
		return nil
	}
	return ss.s.cfg.Auth.MechanismsFor(ss.tlsStatePtr())
}

// authAllowed reports whether credentials may be sent on this connection:
// over TLS, or where Config.AllowPlaintextAuth allows it.
func (ss *session) authAllowed() bool {
	_, isTLS := ss.tlsState()
	return isTLS || ss.s.cfg.AllowPlaintextAuth(ss.remote)
}

// Auth starts the AUTH command (RFC 4954 §4). go-smtp runs the exchange:
// it sends our challenges as 334 lines, decodes the responses and answers
// 235 when the mechanism completes without error; any error we return is
// written as its *smtp.SMTPError, so every error goes through replyFor.
func (ss *session) Auth(mech string) (sasl.Server, error) {
	if ss.inTransaction {
		// RFC 4954 §4; go-smtp does not check this.
		return nil, ss.reply(errAuthInTransaction)
	}
	if !ss.authAllowed() {
		ss.log.Info("smtp: plaintext auth refused")
		return nil, ss.reply(errEncryptionRequired)
	}
	r := &saslReplies{ss: ss}
	result := func(acct store.Account, err error) {
		if err != nil {
			r.checkErr = err
			return
		}
		ss.account = &acct
		if ss.conn != nil {
			ss.conn.authed = true
		}
		ss.log = ss.log.With("user", acct.Email)
		ss.log.Info("smtp: authenticated", "mech", strings.ToUpper(mech))
	}
	var cfg auth.SASLConfig
	if ss.s.cfg.Auth != nil {
		cfg = ss.s.cfg.Auth.SASLConfig(auth.WithMechanism(ss.ctx, mech), ss.remote, ss.tlsStatePtr(), result)
	}
	cfg.Check = func(username, password string) error {
		acct, err := ss.s.authenticate(auth.WithMechanism(ss.ctx, mech), username, password, ss.remote)
		result(acct, err)
		return err
	}
	srv, err := auth.NewSASL(mech, cfg)
	if errors.Is(err, auth.ErrUnknownMechanism) {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	if err != nil {
		return nil, ss.reply(err)
	}
	r.srv = srv
	return r, nil
}

// saslReplies maps the errors of a SASL exchange to replies, so that no
// mechanism's error text reaches the client.
type saslReplies struct {
	srv      sasl.Server
	ss       *session
	checkErr error // what the credential check returned, if it failed
}

func (r *saslReplies) Next(response []byte) ([]byte, bool, error) {
	challenge, done, err := r.srv.Next(response)
	if err == nil {
		return challenge, done, nil
	}
	if err != r.checkErr {
		// The mechanism itself refused the exchange (bad encoding,
		// unexpected response, foreign authorization identity).
		if errors.Is(err, auth.ErrInvalidCredentials) {
			return nil, true, r.ss.reply(err)
		}
		return nil, true, r.ss.reply(errAuthMalformed)
	}
	return nil, true, r.ss.reply(err)
}
