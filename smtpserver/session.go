package smtpserver

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net"

	"github.com/emersion/go-smtp"

	"github.com/mailroom/mailroom/delivery"
	"github.com/mailroom/mailroom/dnsbl"
	"github.com/mailroom/mailroom/milter"
	"github.com/mailroom/mailroom/store"
)

// session is one SMTP connection's state from HELO/EHLO on. go-smtp calls
// its methods from the connection's goroutine (Data from a second
// goroutine for BDAT, while the first waits).
type session struct {
	s      *Server
	c      *smtp.Conn
	conn   *conn // nil only in tests that bypass the listener
	remote net.Addr
	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc

	account *store.Account // set by a successful AUTH
	lim     Limits         // the connection's (conn.lim)

	rdns   string          // clientName, once looked up
	filter *milter.Session // the milters' session, from the first MAIL (filter.go)
	dnsbl  *dnsbl.Result   // the blocklists' verdict, from the first MAIL (filter.go)
	checks *clientVerdict  // the connection checks' verdict, from the first MAIL (conncheck.go)

	// Current transaction.
	inTransaction bool // MAIL accepted, not yet reset
	from          string
	recipients    []delivery.Recipient
	tx            *reservation // the transaction's share of the in-flight Budget
	id            string       // names the message: logs, Received, the 250, the milters' i macro
	discard       bool         // a milter discarded the message: 250, nothing stored
}

var (
	_ smtp.Session     = (*session)(nil)
	_ smtp.AuthSession = (*session)(nil)
)

func (s *Server) newSession(c *smtp.Conn) (smtp.Session, error) {
	ctx, cancel := context.WithCancel(s.ctx)
	remote := c.Conn().RemoteAddr()
	cn := connOf(c.Conn())
	lim := *s.limits.Load()
	if cn != nil {
		lim = cn.lim
	}
	return &session{
		s:      s,
		c:      c,
		lim:    lim,
		conn:   cn,
		remote: remote,
		log:    s.log.With("remote", remote.String()),
		ctx:    ctx,
		cancel: cancel,
	}, nil
}

// tlsState reports the connection's TLS state (after STARTTLS or on an
// implicit-TLS listener).
func (ss *session) tlsState() (tls.ConnectionState, bool) {
	if ss.conn != nil {
		return ss.conn.TLS()
	}
	return ss.c.TLSConnectionState()
}

// tlsStatePtr is tlsState for auth.NewSASL: nil without TLS.
func (ss *session) tlsStatePtr() *tls.ConnectionState {
	st, ok := ss.tlsState()
	if !ok {
		return nil
	}
	return &st
}

// submission reports whether the submission policy applies: always on the
// submission listener, and on MX once the client has authenticated.
func (ss *session) submission() bool {
	return ss.s.cfg.Mode == ModeSubmission || ss.account != nil
}

// Reset discards the current transaction (RSET, a new EHLO, after DATA).
func (ss *session) Reset() {
	ss.inTransaction = false
	ss.from = ""
	ss.recipients = nil
	ss.id = ""
	ss.discard = false
	if ss.filter != nil {
		ss.filter.Reset()
	}
	ss.tx.close()
	ss.s.endTransaction(ss.conn)
}

// Logout ends the session when the connection closes.
func (ss *session) Logout() error {
	ss.cancel()
	ss.Reset()
	if ss.filter != nil {
		ss.filter.Close()
	}
	return nil
}

// reply maps err for go-smtp: nil stays nil, everything else becomes the
// *smtp.SMTPError the client sees.
func (ss *session) reply(err error) error {
	if err == nil {
		return nil
	}
	return replyFor(ss.log, err)
}
