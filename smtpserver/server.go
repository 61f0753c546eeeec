// Package smtpserver implements mailroom's SMTP server on top of
// github.com/emersion/go-smtp: the MX listener (port 25 style, RFC 5321)
// that accepts mail for local accounts, and the submission listener
// (RFC 6409) that requires authentication.
//
// go-smtp runs the command loop; this package supplies the session
// (AUTH, MAIL, RCPT, DATA/BDAT), sender ownership, the trace headers and
// a graceful Shutdown, and is the SMTP adapter of package delivery, which
// decides where each recipient goes (local domains, aliases, quotas,
// relay refusal) and commits each message in one transaction; its typed
// errors become replies in replyFor. What go-smtp (v0.26.0) does for us
// and how we bend it (docs/architecture.md, "go-smtp and the hooks that
// remain"):
//   - go-smtp parses every command, including the domain-less
//     "RCPT TO:<Postmaster>" (RFC 5321 §4.5.1), which Rcpt maps to
//     postmaster@Hostname;
//   - AUTH is allowed after HELO as well as EHLO; go-smtp's TLS-only rule is
//     switched off (AllowInsecureAuth) and replaced by our own check
//     (Config.AllowPlaintextAuth) answering 538 5.7.11;
//   - go-smtp neither rejects bare CR/LF nor limits line length inside BDAT
//     chunks; Session.Data does both while streaming, and the framer
//     (framing.go) sees the one bare CR go-smtp's DATA reader hides;
//   - four reply lines go-smtp writes with fixed text are swapped whole by
//     conn.fixReply: "235 2.0.0" becomes RFC 4954's "235 2.7.0", "454
//     4.7.0 Invalid base64 data" RFC 4954 §4's 501 5.5.2, EHLO's SIZE the
//     real limit (go-smtp's DATA reader refuses a message of exactly
//     MaxMessageBytes, so it runs one byte higher and Session.Data and
//     Mail enforce the real limit), and "250 2.0.0 OK: queued" gets the
//     queue id that Data hands to the connection (Data returns nil on
//     success, never a 250 error value);
//   - go-smtp lets control characters through in quoted local parts and
//     domains; Mail and Rcpt refuse them.
//
// Messages stream into a spool (spool.go) under a server-wide Budget of
// bytes in flight, and are committed under the Budget's commit gate
// (budget.go, data.go).
//
// STARTTLS is run by our conn wrapper rather than go-smtp (conn.go,
// framing.go), so the framer and the reply hook sit above TLS and keep
// working after it; ServeTLS serves implicit TLS (RFC 8314).
package smtpserver

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/mailroom/mailroom/auth"
	"github.com/mailroom/mailroom/delivery"
	"github.com/mailroom/mailroom/store"
)

// Store is what the SMTP server needs from the mail store.
type Store interface {
	AccountByEmail(ctx context.Context, email string) (store.Account, error)
	Accounts(ctx context.Context) ([]store.Account, error)
	IsLocalDomain(ctx context.Context, domain string) (bool, error)
	Deliver(ctx context.Context, targets []store.Target, msg store.NewMessage) ([]store.Delivered, error)
	AccountUsage(ctx context.Context, accountID int64) (store.Usage, error) // Config.Quota
}

var _ Store = (store.Store)(nil)

// Deliverer resolves recipients at RCPT and commits messages after DATA;
// *delivery.Deliverer implements it.
type Deliverer interface {
	Resolve(ctx context.Context, req delivery.Request) (delivery.Recipient, error)
	Deliver(ctx context.Context, env delivery.Envelope, msg store.NewMessage) (delivery.Result, error)
}

var _ Deliverer = (*delivery.Deliverer)(nil)

// Aliases is the admin's alias table (delivery.Aliases).
type Aliases = delivery.Aliases

// Quota gives each account's storage limits (delivery.Quota).
type Quota = delivery.Quota

// Mode selects the policy of a listener.
type Mode int

const (
	// ModeMX accepts mail for local recipients from anyone (port 25).
	// AUTH is offered too; an authenticated session behaves like
	// submission.
	ModeMX Mode = iota
	// ModeSubmission requires AUTH before MAIL (RFC 6409, port 587).
	ModeSubmission
)

func (m Mode) String() string {
	if m == ModeSubmission {
		return "submission"
	}
	return "mx"
}

// Defaults for Config.
const (
	DefaultMaxMessageBytes = 50 << 20
	DefaultMaxRecipients   = 100
	DefaultMaxLineLength   = 4096             // RFC 5321 §4.5.3.1.6 requires at least 1000
	DefaultReadTimeout     = 5 * time.Minute  // RFC 5321 §4.5.3.2.7 server timeout
	DefaultWriteTimeout    = 5 * time.Minute  // RFC 5321 §4.5.3.2
	DefaultDataTimeout     = 10 * time.Minute // RFC 5321 §4.5.3.2.6: per read while a message streams in
	// DefaultHandshakeTimeout bounds a TLS handshake: before
	// authentication a client gets little time (Postfix's
	// smtpd_starttls_timeout is 300 s, 10 s under stress).
	DefaultHandshakeTimeout = 30 * time.Second
)

// Config configures a Server. Store and Auth are required.
type Config struct {
	Mode     Mode
	Hostname string // in the greeting and trace headers; default "localhost"
	Store    Store
	Auth     *auth.Authenticator
	Logger   *slog.Logger     // default slog.Default()
	Now      func() time.Time // default time.Now

	MaxMessageBytes int64 // advertised in SIZE; default DefaultMaxMessageBytes
	MaxRecipients   int   // per message; default DefaultMaxRecipients
	// MaxLineLength bounds every line including CRLF, commands and message
	// text alike; default DefaultMaxLineLength.
	MaxLineLength int

	ReadTimeout  time.Duration // waiting for a command
	WriteTimeout time.Duration // writing one reply
	DataTimeout  time.Duration // waiting for each piece of message data

	// AllowPlaintextAuth reports whether AUTH may be used without TLS on a
	// connection from addr; default auth.IsLoopback. Elsewhere AUTH is
	// refused with 538 5.7.11.
	AllowPlaintextAuth func(net.Addr) bool
	// LookupAddr resolves the client IP for the Received header; default
	// net.DefaultResolver.LookupAddr, bounded by a short timeout.
	LookupAddr func(ctx context.Context, ip string) ([]string, error)

	// Deliverer resolves recipients and delivers messages: the one
	// delivery path (package delivery), which cmd/mailroom builds over
	// the store's one-transaction DeliverAndEnqueue. When nil, New builds
	// one from Store, Queue, Aliases, RecipientDelimiter and Quota (see
	// defaultDeliverer).
	Deliverer Deliverer

	// Queue receives authenticated mail for other domains; nil refuses it
	// (550 5.7.1). Only used when Deliverer is nil.
	Queue Queue
	// Inbound checks mail from unauthenticated MX clients (SPF, DKIM,
	// DMARC); nil checks nothing.
	Inbound Inbound
	// Quota limits what local accounts may store; nil limits nothing.
	// Only used when Deliverer is nil.
	Quota Quota
	// Aliases expands inbound recipients ([aliases]); nil has no
	// aliases. With RecipientDelimiter it also decides which addresses
	// a submitter may send as (sender.go), so give the Deliverer's.
	Aliases Aliases
	// RecipientDelimiter starts the subaddress of a local part
	// (alice+news@ -> alice@, RFC 5233); "" disables subaddressing.
	RecipientDelimiter string

	// TLSConfig enables STARTTLS when set, and is what ServeTLS uses for
	// implicit TLS (RFC 8314).
	TLSConfig *tls.Config

	// SpoolDir holds the temporary files of messages larger than
	// SpoolMemoryBytes while they stream in (unlinked at once, closed
	// when the transaction ends); "" is os.TempDir().
	SpoolDir string
	// SpoolMemoryBytes of each message are kept in memory before it
	// goes to a spool file; default DefaultSpoolMemoryBytes.
	SpoolMemoryBytes int
	// Budget bounds the message bytes in flight over all sessions and
	// the commit phase (budget.go); servers that should share the bound
	// share one. Nil gets a Budget of its own with MaxInFlightBytes.
	Budget *Budget
	// MaxInFlightBytes sizes the Budget New makes when Budget is nil;
	// default DefaultMaxInFlightBytes.
	MaxInFlightBytes int64

	// HandshakeTimeout bounds a TLS handshake, on the implicit-TLS
	// listener before the greeting and after STARTTLS; default
	// DefaultHandshakeTimeout.
	HandshakeTimeout time.Duration

	// GreetPause delays the MX listener's greeting this long and refuses
	// clients that speak before it (554 5.5.1, conn.go); 0 (default)
	// greets at once.
	GreetPause time.Duration

	// Greylist greylists unauthenticated MX clients at RCPT
	// (greylist.go); nil does not.
	Greylist *GreylistConfig

	// ClientChecks are the reverse-DNS and HELO checks of
	// unauthenticated MX clients at their first MAIL (conncheck.go);
	// the zero value checks nothing.
	ClientChecks ClientChecks

	// Blocklist checks unauthenticated MX clients against DNS
	// blocklists ([dnsbl]) at their first MAIL; nil checks nothing.
	Blocklist Blocklist

	// Filter is the listener's milter chain ([[milters]], package
	// milter); nil filters nothing.
	Filter Filter

	// Metrics hears of finished transactions, local deliveries and
	// failed TLS handshakes (metrics.go); nil reports nothing.
	Metrics Metrics
}

// ErrServerClosed is returned by Serve after Shutdown.
var ErrServerClosed = errors.New("smtpserver: server closed")

// Server is an SMTP server for one Mode. Create it with New.
type Server struct {
	cfg       Config
	log       *slog.Logger
	srv       *smtp.Server
	deliverer Deliverer

	// authenticate checks credentials: cfg.Auth.Authenticate, replaceable
	// in tests of the command loop.
	authenticate func(ctx context.Context, user, pass string, remote net.Addr) (store.Account, error)

	ctx    context.Context // parent of session contexts; cancelled if Shutdown gives up
	cancel context.CancelFunc

	mu      sync.Mutex
	closing bool
	conns   map[*conn]struct{}

	// limits are Config's MaxMessageBytes and MaxRecipients until
	// SetLimits; each connection reads them once, when it is accepted.
	limits atomic.Pointer[Limits]
}

// Limits are the settings of Config a running Server can change
// (SetLimits, on a config reload). A zero field is its default.
type Limits struct {
	MaxMessageBytes int64 // DefaultMaxMessageBytes
	MaxRecipients   int   // DefaultMaxRecipients
	// MaxLineLength: DefaultMaxLineLength; at most MaxLineLengthCeiling.
	MaxLineLength int
	ReadTimeout   time.Duration // DefaultReadTimeout
	WriteTimeout  time.Duration // DefaultWriteTimeout
	DataTimeout   time.Duration // DefaultDataTimeout
}

// MaxLineLengthCeiling bounds Limits.MaxLineLength: go-smtp's own line
// limit, fixed for the server's life, is set this high and the
// connection's framer enforces the connection's limit (framing.go).
const MaxLineLengthCeiling = 1 << 20

// SetLimits replaces the limits for connections accepted afterwards;
// open sessions keep the limits they started with.
func (s *Server) SetLimits(l Limits) {
	if l.MaxMessageBytes <= 0 {
		l.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if l.MaxRecipients <= 0 {
		l.MaxRecipients = DefaultMaxRecipients
	}
	if l.MaxLineLength <= 0 {
		l.MaxLineLength = DefaultMaxLineLength
	}
	l.MaxLineLength = min(l.MaxLineLength, MaxLineLengthCeiling)
	if l.ReadTimeout <= 0 {
		l.ReadTimeout = DefaultReadTimeout
	}
	if l.WriteTimeout <= 0 {
		l.WriteTimeout = DefaultWriteTimeout
	}
	if l.DataTimeout <= 0 {
		l.DataTimeout = DefaultDataTimeout
	}
	s.limits.Store(&l)
}

// goSMTPMaxMessageBytes is go-smtp's own message size limit: far above
// any real one, which the session enforces (readMessage, Mail) so that a
// reload can change it. conn.rewriteReply turns the SIZE it advertises
// in EHLO into the session's.
const goSMTPMaxMessageBytes = 1 << 50

// New returns a Server for cfg, filling in defaults.
func New(cfg Config) *Server {
	if cfg.Hostname == "" {
		cfg.Hostname = "localhost"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Metrics == nil {
		cfg.Metrics = nopMetrics{}
	}
	if cfg.MaxMessageBytes <= 0 {
		cfg.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if cfg.MaxRecipients <= 0 {
		cfg.MaxRecipients = DefaultMaxRecipients
	}
	if cfg.MaxLineLength <= 0 {
		cfg.MaxLineLength = DefaultMaxLineLength
	}
	if cfg.ReadTimeout <= 0 {
		cfg.ReadTimeout = DefaultReadTimeout
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = DefaultWriteTimeout
	}
	if cfg.DataTimeout <= 0 {
		cfg.DataTimeout = DefaultDataTimeout
	}
	if cfg.AllowPlaintextAuth == nil {
		cfg.AllowPlaintextAuth = auth.IsLoopback
	}
	if cfg.HandshakeTimeout <= 0 {
		cfg.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if cfg.LookupAddr == nil {
		cfg.LookupAddr = net.DefaultResolver.LookupAddr
	}
	if cfg.SpoolMemoryBytes <= 0 {
		cfg.SpoolMemoryBytes = DefaultSpoolMemoryBytes
	}
	if g := cfg.Greylist; g != nil {
		gc := *g
		if gc.Expire <= 0 {
			gc.Expire = DefaultGreylistExpire
		}
		cfg.Greylist = &gc
	}
	if cfg.Budget == nil {
		cfg.Budget = NewBudget(cfg.MaxInFlightBytes, cfg.MaxMessageBytes)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		cfg:    cfg,
		log:    cfg.Logger.With("proto", "smtp", "mode", cfg.Mode.String()),
		ctx:    ctx,
		cancel: cancel,
		conns:  make(map[*conn]struct{}),
	}
	s.SetLimits(Limits{
		MaxMessageBytes: cfg.MaxMessageBytes, MaxRecipients: cfg.MaxRecipients, MaxLineLength: cfg.MaxLineLength,
		ReadTimeout: cfg.ReadTimeout, WriteTimeout: cfg.WriteTimeout, DataTimeout: cfg.DataTimeout,
	})
	if cfg.Auth != nil {
		s.authenticate = cfg.Auth.Authenticate
	}
	s.deliverer = cfg.Deliverer
	if s.deliverer == nil {
		s.deliverer = defaultDeliverer(cfg)
	}
	srv := smtp.NewServer(smtp.BackendFunc(s.newSession))
	srv.Domain = cfg.Hostname
	// Far above the limit (goSMTPMaxMessageBytes): go-smtp's DATA reader
	// fails as soon as it has handed out MaxMessageBytes bytes, before it
	// can see whether the end-of-data line follows, and its limits cannot
	// change while it runs. readMessage enforces the session's limit on
	// DATA and BDAT alike, Mail the SIZE= parameter, Rcpt the recipient
	// count, and conn.Write advertises the session's limit in EHLO's
	// SIZE line.
	srv.MaxMessageBytes = goSMTPMaxMessageBytes
	srv.MaxRecipients = 0
	// go-smtp reads its line limit and timeouts for the server's life;
	// so that a reload can change them, its line limit is the ceiling
	// (the framer refuses longer lines by the connection's limit) and
	// the deadlines it sets before each command and reply are replaced
	// by the connection's (conn.SetReadDeadline, conn.SetWriteDeadline).
	srv.MaxLineLength = MaxLineLengthCeiling
	srv.ReadTimeout = DefaultReadTimeout
	srv.WriteTimeout = DefaultWriteTimeout
	srv.EnableSMTPUTF8 = true
	// Our own AllowPlaintextAuth check replaces go-smtp's TLS-or-nothing
	// rule, so that loopback clients can log in without TLS and others get
	// the RFC 4954 538 reply rather than go-smtp's 523.
	srv.AllowInsecureAuth = true
	// STARTTLS is run by conn (conn.go, framing.go); go-smtp must not
	// offer its own.
	srv.TLSConfig = nil
	srv.ErrorLog = slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)
	s.srv = srv
	return s
}

// Serve accepts connections on l until Shutdown, serving each on its own
// goroutine. It returns ErrServerClosed after Shutdown.
func (s *Server) Serve(l net.Listener) error {
	s.mu.Lock()
	closing := s.closing
	s.mu.Unlock()
	if closing {
		l.Close()
		return ErrServerClosed
	}
	err := s.srv.Serve(&listener{Listener: l, s: s})
	s.mu.Lock()
	closing = s.closing
	s.mu.Unlock()
	if closing {
		return ErrServerClosed
	}
	return err
}

// ServeTLS is Serve for an implicit-TLS listener (port 465, RFC 8314
// §3.3): every connection starts with a TLS handshake using
// Config.TLSConfig, bounded by Config.HandshakeTimeout (conn.go runs it,
// since go-smtp sees our wrapper, not a *tls.Conn, and so does not), and
// STARTTLS is not offered.
func (s *Server) ServeTLS(l net.Listener) error {
	if s.cfg.TLSConfig == nil {
		l.Close()
		return errors.New("smtpserver: ServeTLS without TLSConfig")
	}
	return s.Serve(tls.NewListener(l, s.cfg.TLSConfig))
}

// Shutdown stops accepting connections, closes idle ones (with a 421
// reply; a connection still in its TLS handshake is closed without one),
// and waits until every mail transaction in progress has ended (its final
// reply sent), closing each connection then. If ctx ends first, all
// remaining connections are closed and ctx's error returned; Shutdown
// returns within ctx whatever the clients do.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	var idle []*conn
	for c := range s.conns {
		if !c.busy {
			idle = append(idle, c)
		}
	}
	s.mu.Unlock()
	// Each goodbye is bounded by shutdownWriteTimeout, but a write can
	// also wait for a lock a stalled connection holds: say goodbye
	// concurrently, and let ctx bound the whole.
	for _, c := range idle {
		go c.closeShutdown()
	}
	err := s.srv.Shutdown(ctx)
	if errors.Is(err, smtp.ErrServerClosed) {
		err = nil
	}
	if err != nil {
		s.cancel()
		s.mu.Lock()
		var all []*conn
		for c := range s.conns {
			all = append(all, c)
		}
		s.mu.Unlock()
		for _, c := range all {
			c.forceClose()
		}
		return err
	}
	s.cancel()
	return nil
}

// beginTransaction marks c busy (a MAIL was accepted). It fails once
// Shutdown has begun.
func (s *Server) beginTransaction(c *conn) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return errShuttingDown
	}
	if c != nil {
		c.busy = true
	}
	return nil
}

// endTransaction marks c idle; during Shutdown it closes the connection,
// whose final reply go-smtp has already written.
func (s *Server) endTransaction(c *conn) {
	if c == nil {
		return
	}
	s.mu.Lock()
	wasBusy := c.busy
	c.busy = false
	closing := s.closing
	s.mu.Unlock()
	if closing && wasBusy {
		c.closeShutdown()
	}
}

// listener registers each accepted connection with the server and refuses
// connections once Shutdown has begun.
type listener struct {
	net.Listener
	s *Server
}

func (l *listener) Accept() (net.Conn, error) {
	for {
		nc, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		c := newConn(nc, l.s)
		l.s.mu.Lock()
		closing := l.s.closing
		if !closing {
			l.s.conns[c] = struct{}{}
		}
		l.s.mu.Unlock()
		if closing {
			c.closeShutdown()
			continue
		}
		return c, nil
	}
}

func (s *Server) forget(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

// connOf finds our conn under whatever go-smtp holds (a *tls.Conn after
// STARTTLS).
func connOf(nc net.Conn) *conn {
	for nc != nil {
		switch x := nc.(type) {
		case *conn:
			return x
		case interface{ NetConn() net.Conn }:
			nc = x.NetConn()
		default:
			return nil
		}
	}
	return nil
}
