// Package pop3server implements mailroom's POP3 server: RFC 1939 with the
// RFC 2449 extension mechanism (CAPA, response codes, PIPELINING, TOP,
// UIDL, USER), RFC 3206 response codes and RFC 5034 SASL authentication.
//
// The maildrop of an account is its INBOX. A session takes a snapshot of
// the INBOX at login and holds an exclusive, in-process lock on the account
// until it ends; DELE only marks messages, and the marked messages are
// expunged in the UPDATE state after QUIT. A dropped connection, an
// inactivity timeout or a server shutdown expunges nothing.
package pop3server

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mailroom/mailroom/auth"
	"github.com/mailroom/mailroom/internal/connserver"
	"github.com/mailroom/mailroom/store"
	"github.com/mailroom/mailroom/store/mboxindex"
)

// Backend is what the POP3 server needs from the mail store.
type Backend interface {
	MailboxByName(ctx context.Context, accountID int64, name string) (store.Mailbox, error)
	ListMessages(ctx context.Context, mbox store.MailboxRef, uids []uint32, fn func(store.MessageMeta) error) error
	MessageBody(ctx context.Context, mbox store.MailboxRef, messageID int64) ([]byte, error)
	ReadMessageBody(ctx context.Context, mbox store.MailboxRef, messageID int64, fn func(raw []byte) error) error // RETR, TOP
	ListBodies(ctx context.Context, mbox store.MailboxRef, uids []uint32, fn func(store.MessageMeta, []byte) error) error
	Expunge(ctx context.Context, mbox store.MailboxRef, uids []uint32, onlyDeleted bool) (removed []uint32, highest uint64, err error)
}

var _ Backend = (store.Store)(nil)

// MailboxIndex is an in-memory index of mailboxes' metadata shared with
// the other protocols' sessions (*mboxindex.Cache): with one, the
// maildrop listing at login comes from memory brought up to date with
// one Changes read, instead of a ListMessages of the whole INBOX.
type MailboxIndex interface {
	List(ctx context.Context, mb store.Mailbox) ([]store.MessageMeta, error)
}

var _ MailboxIndex = (*mboxindex.Cache)(nil)

// Config configures a Server. Maildrop and Auth are required.
type Config struct {
	Hostname string // in the greeting; default "localhost"
	Maildrop Backend
	// Index, if set, lists the INBOX at login instead of
	// Maildrop.ListMessages; it must read the same store.
	Index  MailboxIndex
	Auth   *auth.Authenticator
	Logger *slog.Logger     // default slog.Default()
	Now    func() time.Time // default time.Now
	// IdleTimeout is the inactivity autologout timer, reset by every
	// command. RFC 1939 §3 requires at least 10 minutes; shorter values
	// (used by tests) are honoured, zero means 10 minutes.
	IdleTimeout time.Duration
	// MaxLineLength bounds a command line including CRLF (default 512).
	// A longer line gets -ERR and the session continues.
	MaxLineLength int
	// AllowPlaintextAuth reports whether USER/PASS and AUTH may be used on
	// a connection without TLS from addr. Default auth.IsLoopback.
	AllowPlaintextAuth func(net.Addr) bool
	// TLSConfig enables STLS (RFC 2595) when set, and is what ServeTLS
	// uses for implicit TLS (POP3S, RFC 8314).
	TLSConfig *tls.Config
	// HandshakeTimeout bounds a TLS handshake, on POP3S before the
	// greeting and after STLS; default DefaultHandshakeTimeout.
	HandshakeTimeout time.Duration
	// Metrics hears of failed TLS handshakes; nil reports nothing.
	Metrics Metrics
}

// Metrics is what the server reports to monitoring (*metrics.Metrics in
// cmd/mailroom).
type Metrics interface {
	TLSHandshakeFailed(protocol string)
}

type nopMetrics struct{}

func (nopMetrics) TLSHandshakeFailed(string) {}

// DefaultHandshakeTimeout is Config.HandshakeTimeout's default.
const DefaultHandshakeTimeout = 30 * time.Second

// authFunc checks credentials; it is cfg.Auth.Authenticate, replaceable in
// tests of the command loop.
type authFunc func(ctx context.Context, user, pass string, remote net.Addr) (store.Account, error)

// SetIdleTimeout replaces Config.IdleTimeout for connections accepted
// afterwards (a config reload); open sessions keep theirs. Zero or less is
// the default.
func (s *Server) SetIdleTimeout(d time.Duration) {
	if d <= 0 {
		d = minIdleTimeout * time.Second
	}
	s.idle.Store(int64(d))
}

// Server is a POP3 server. Create it with New.
type Server struct {
	cfg          Config
	log          *slog.Logger
	authenticate authFunc

	ctx    context.Context // cancelled when Shutdown gives up waiting
	cancel context.CancelFunc

	conns *connserver.Tracker // listeners and sessions; Closing once Shutdown began
	locks lockTable
	// idle is Config.IdleTimeout until SetIdleTimeout; each connection
	// reads it once, when it is accepted.
	idle atomic.Int64

	// retrBuffers holds *bufio.Writer of retrBufferSize (cmd_retr.go).
	retrBuffers sync.Pool
	// bodyBufs holds *[]byte for message bytes (cmd_retr.go).
	bodyBufs sync.Pool
	// batches holds RETR's read-ahead batches (readahead.go).
	batches batchPool
}

// ErrServerClosed is returned by Serve after Shutdown.
var ErrServerClosed = errors.New("pop3server: server closed")

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
		cfg.IdleTimeout = minIdleTimeout * time.Second
	}
	if cfg.MaxLineLength <= 0 {
		cfg.MaxLineLength = defaultMaxLineLength
	}
	if cfg.AllowPlaintextAuth == nil {
		cfg.AllowPlaintextAuth = auth.IsLoopback
	}
	if cfg.HandshakeTimeout <= 0 {
		cfg.HandshakeTimeout = DefaultHandshakeTimeout
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		retrBuffers: sync.Pool{New: func() any { return bufio.NewWriterSize(nil, retrBufferSize) }},
		cfg:         cfg,
		log:         cfg.Logger.With("proto", "pop3"),
		ctx:         ctx,
		cancel:      cancel,
		locks:       lockTable{held: make(map[int64]struct{})},
	}
	s.idle.Store(int64(cfg.IdleTimeout))
	s.conns = connserver.New(s.log, ErrServerClosed)
	if cfg.Auth != nil {
		s.authenticate = cfg.Auth.Authenticate
	}
	return s
}

// Serve accepts connections on l until Shutdown, serving each on its own
// goroutine. It returns ErrServerClosed after Shutdown.
func (s *Server) Serve(l net.Listener) error {
	return s.conns.Serve(l, func(nc net.Conn) connserver.Conn { return newConn(s, nc) })
}

// ServeTLS is Serve for an implicit-TLS listener (port 995, RFC 8314
// §3.3): every connection starts with a TLS handshake using
// Config.TLSConfig, bounded by Config.HandshakeTimeout and completed
// before the greeting, and STLS is not offered.
func (s *Server) ServeTLS(l net.Listener) error {
	if s.cfg.TLSConfig == nil {
		l.Close()
		return errors.New("pop3server: ServeTLS without TLSConfig")
	}
	return s.Serve(tls.NewListener(l, s.cfg.TLSConfig))
}

// Shutdown stops accepting connections, tells idle sessions the server is
// going away and closes them, and waits for busy sessions to finish their
// current command. Unfinished sessions enter no UPDATE state: their
// deletions are discarded. If ctx ends first, the remaining connections are
// closed forcibly and ctx's error is returned.
func (s *Server) Shutdown(ctx context.Context) error {
	return s.conns.Shutdown(ctx, s.cancel)
}

// lockTable holds the exclusive maildrop locks of RFC 1939 §8, keyed by
// account id. It only works within one process.
type lockTable struct {
	mu   sync.Mutex
	held map[int64]struct{}
}

func (t *lockTable) tryLock(accountID int64) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.held[accountID]; ok {
		return false
	}
	t.held[accountID] = struct{}{}
	return true
}

func (t *lockTable) unlock(accountID int64) {
	t.mu.Lock()
	delete(t.held, accountID)
	t.mu.Unlock()
}
