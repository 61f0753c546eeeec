// Package managesieve implements mailroom's ManageSieve server (RFC
// 5804): users upload, list, fetch, activate, rename and delete their
// Sieve scripts (package sieve) over one connection, authenticated with
// SASL (package auth) after STARTTLS or on a loopback connection.
//
// It is a protocol adapter: scripts live in the store, reached through
// the Store interface defined here; package sieve validates what is
// uploaded. Protocol errors are typed (errors.go) and turned into the
// one NO/BYE response in respond.
package managesieve

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"sync/atomic"
	"time"

	"github.com/mailroom/mailroom/auth"
	"github.com/mailroom/mailroom/internal/connserver"
	"github.com/mailroom/mailroom/sieve"
	"github.com/mailroom/mailroom/store"
)

// Store is what the ManageSieve server needs from the mail store: an
// account's scripts, by name. Every call is scoped by account.
type Store interface {
	PutSieveScript(ctx context.Context, accountID int64, name string, src []byte) (store.SieveScript, error)
	SieveScript(ctx context.Context, accountID int64, name string) (store.SieveScript, error)
	SieveScripts(ctx context.Context, accountID int64) ([]store.SieveScript, error)
	ActivateSieveScript(ctx context.Context, accountID int64, name string) error
	DeleteSieveScript(ctx context.Context, accountID int64, name string) error
	RenameSieveScript(ctx context.Context, accountID int64, oldName, newName string) error
}

var _ Store = (store.Store)(nil)

// Metrics is what the server reports to monitoring (*metrics.Metrics in
// cmd/mailroom).
type Metrics interface {
	TLSHandshakeFailed(protocol string)
}

type nopMetrics struct{}

func (nopMetrics) TLSHandshakeFailed(string) {}

// Config configures a Server. Store and Auth are required.
type Config struct {
	Hostname string // in the greeting; default "localhost"
	Store    Store
	Auth     *auth.Authenticator
	Logger   *slog.Logger     // default slog.Default()
	Now      func() time.Time // default time.Now
	Metrics  Metrics          // nil reports nothing

	// IdleTimeout closes an authenticated session that sends nothing for
	// so long (default DefaultIdleTimeout). Before authentication the
	// fixed, shorter preAuthIdle applies.
	IdleTimeout time.Duration
	// MaxLineLength bounds a command after authentication, literals
	// excepted (default DefaultMaxLineLength). Before authentication
	// the fixed preAuthMaxLine applies.
	MaxLineLength int
	// MaxScripts bounds an account's scripts (QUOTA/MAXSCRIPTS); default
	// and ceiling store.MaxSieveScripts.
	MaxScripts int
	// MaxScriptSize bounds one script in bytes (QUOTA/MAXSIZE, and the
	// largest literal accepted after authentication); default and ceiling
	// store.MaxSieveScriptSize.
	MaxScriptSize int
	// SieveLimits are the limits uploaded scripts are compiled with
	// (the ones delivery uses); MAXREDIRECTS advertises MaxRedirects.
	SieveLimits sieve.Limits

	// AllowPlaintextAuth reports whether AUTHENTICATE may be used on a
	// connection without TLS from addr. Default auth.IsLoopback.
	AllowPlaintextAuth func(net.Addr) bool
	// TLSConfig enables STARTTLS when set.
	TLSConfig *tls.Config
	// HandshakeTimeout bounds the TLS handshake after STARTTLS; default
	// DefaultHandshakeTimeout.
	HandshakeTimeout time.Duration

	// preAuthTimeout is preAuthIdle unless a test shortens it.
	preAuthTimeout time.Duration
}

// Defaults of Config.
const (
	DefaultIdleTimeout      = 30 * time.Minute
	DefaultMaxLineLength    = 8 << 10
	DefaultHandshakeTimeout = 30 * time.Second
)

// Bounds before authentication, tighter than after: a command line, a
// literal (a SASL response) and the idle time.
const (
	preAuthMaxLine    = 1 << 10
	preAuthMaxLiteral = 8 << 10
	preAuthIdle       = time.Minute
	// maxBadCommands in a row end the session.
	maxBadCommands = 10
	// maxArgs bounds the strings of one command (RENAMESCRIPT has two).
	maxArgs = 4
)

// Server is a ManageSieve server. Create it with New.
type Server struct {
	cfg Config
	log *slog.Logger
	// sasl is cfg.Auth.SASLConfig, replaceable in tests of the command
	// loop (no argon2id per attempt).
	sasl func(ctx context.Context, remote net.Addr, st *tls.ConnectionState, result func(store.Account, error)) auth.SASLConfig

	ctx    context.Context // cancelled when Shutdown gives up waiting
	cancel context.CancelFunc

	conns *connserver.Tracker // listeners and sessions; Closing once Shutdown began

	// limits are Config's until SetLimits; each connection reads them
	// once, when it is accepted.
	limits atomic.Pointer[Limits]
}

// Limits are the settings of Config a running Server can change
// (SetLimits, on a config reload); a zero field is its default.
type Limits struct {
	IdleTimeout   time.Duration
	MaxLineLength int
	MaxScripts    int
	MaxScriptSize int
}

// SetLimits replaces the limits for connections accepted afterwards;
// open sessions keep the limits they started with.
func (s *Server) SetLimits(l Limits) {
	if l.IdleTimeout <= 0 {
		l.IdleTimeout = DefaultIdleTimeout
	}
	if l.MaxLineLength <= 0 {
		l.MaxLineLength = DefaultMaxLineLength
	}
	if l.MaxScripts <= 0 || l.MaxScripts > store.MaxSieveScripts {
		l.MaxScripts = store.MaxSieveScripts
	}
	if l.MaxScriptSize <= 0 || l.MaxScriptSize > store.MaxSieveScriptSize {
		l.MaxScriptSize = store.MaxSieveScriptSize
	}
	s.limits.Store(&l)
}

// ErrServerClosed is returned by Serve after Shutdown.
var ErrServerClosed = errors.New("managesieve: server closed")

// New returns a Server for cfg, filling in defaults.
func New(cfg Config) *Server {
	if cfg.Hostname == "" {
		cfg.Hostname = "localhost"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Metrics == nil {
		cfg.Metrics = nopMetrics{}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.MaxLineLength <= 0 {
		cfg.MaxLineLength = DefaultMaxLineLength
	}
	if cfg.MaxScripts <= 0 || cfg.MaxScripts > store.MaxSieveScripts {
		cfg.MaxScripts = store.MaxSieveScripts
	}
	if cfg.MaxScriptSize <= 0 || cfg.MaxScriptSize > store.MaxSieveScriptSize {
		cfg.MaxScriptSize = store.MaxSieveScriptSize
	}
	if cfg.AllowPlaintextAuth == nil {
		cfg.AllowPlaintextAuth = auth.IsLoopback
	}
	if cfg.HandshakeTimeout <= 0 {
		cfg.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if cfg.preAuthTimeout <= 0 {
		cfg.preAuthTimeout = preAuthIdle
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		cfg:    cfg,
		log:    cfg.Logger.With("proto", "managesieve"),
		ctx:    ctx,
		cancel: cancel,
	}
	s.conns = connserver.New(s.log, ErrServerClosed)
	s.SetLimits(Limits{IdleTimeout: cfg.IdleTimeout, MaxLineLength: cfg.MaxLineLength, MaxScripts: cfg.MaxScripts, MaxScriptSize: cfg.MaxScriptSize})
	if cfg.Auth != nil {
		s.sasl = cfg.Auth.SASLConfig
	}
	return s
}

// Serve accepts connections on l until Shutdown, serving each on its own
// goroutine. It returns ErrServerClosed after Shutdown.
func (s *Server) Serve(l net.Listener) error {
	return s.conns.Serve(l, func(nc net.Conn) connserver.Conn { return newConn(s, nc) })
}

// Shutdown stops accepting connections, tells idle sessions the server is
// going away (BYE) and waits for busy ones to finish their command. If
// ctx ends first, the remaining connections are closed and ctx's error is
// returned.
func (s *Server) Shutdown(ctx context.Context) error {
	return s.conns.Shutdown(ctx, s.cancel)
}
