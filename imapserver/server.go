// Package imapserver is mailroom's IMAP server (RFC 9051 IMAP4rev2 and
// RFC 3501 IMAP4rev1, with CONDSTORE/QRESYNC, IDLE, MOVE, UIDPLUS, ESEARCH,
// LIST-EXTENDED and friends).
//
// Rules:
//   - One goroutine per connection, IDLE included: the change feed
//     callback wakes an idle connection by interrupting its read. IDLE
//     moves the connection to a fresh goroutine, so an idler keeps a
//     small stack.
//   - Never write to the network while inside a store call: metadata is
//     read in chunks into memory, then written.
//   - Other sessions' changes arrive through Store.Watch (or WatchFunc) and are read with
//     Store.Changes; EXPUNGE responses are deferred during FETCH, STORE and
//     SEARCH (RFC 9051 §7.5.1).
package imapserver

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mailroom/mailroom/auth"
	"github.com/mailroom/mailroom/imapserver/imapwire"
	"github.com/mailroom/mailroom/message"
	"github.com/mailroom/mailroom/store"
	"github.com/mailroom/mailroom/store/mboxindex"
)

// Store is what the IMAP server needs from the mail store.
type Store interface {
	Mailboxes(ctx context.Context, accountID int64) ([]store.Mailbox, error)
	MailboxByName(ctx context.Context, accountID int64, name string) (store.Mailbox, error)
	MailboxByID(ctx context.Context, mbox store.MailboxRef) (store.Mailbox, error)
	AccountByID(ctx context.Context, id int64) (store.Account, error) // sync.go: a deleted account ends its sessions
	CreateMailbox(ctx context.Context, accountID int64, name, specialUse string) (store.Mailbox, error)
	DeleteMailbox(ctx context.Context, accountID int64, name string) error
	RenameMailbox(ctx context.Context, accountID int64, from, to string) error
	Subscriptions(ctx context.Context, accountID int64) ([]string, error)
	SetSubscribed(ctx context.Context, accountID int64, name string, subscribed bool) error
	MailboxStatus(ctx context.Context, mbox store.MailboxRef) (store.MailboxStatus, error)
	// \Recent for IMAP4rev1 sessions (recent.go).
	ClaimRecent(ctx context.Context, mbox store.MailboxRef) (first, next uint32, err error)
	RecentCount(ctx context.Context, mbox store.MailboxRef) (first, count uint32, err error)
	AccountUsage(ctx context.Context, accountID int64) (store.Usage, error) // quota.go

	Append(ctx context.Context, mbox store.MailboxRef, msgs []store.NewMessage) (uidValidity uint32, uids []uint32, err error)
	ListMessages(ctx context.Context, mbox store.MailboxRef, uids []uint32, fn func(store.MessageMeta) error) error
	ListBodies(ctx context.Context, mbox store.MailboxRef, uids []uint32, fn func(store.MessageMeta, []byte) error) error
	ReadBodies(ctx context.Context, mbox store.MailboxRef, uids []uint32, fn func(id int64, uid uint32, raw []byte) error) error // bodies.go: FETCH's bytes into a pooled buffer
	ListHeaders(ctx context.Context, mbox store.MailboxRef, uids []uint32, fn func(store.MessageMeta, []byte) error) error
	ReadHeaders(ctx context.Context, mbox store.MailboxRef, uids []uint32, fn func(id int64, uid uint32, hdr []byte) error) error // bodies.go: FETCH's headers into a pooled buffer
	ListParts(ctx context.Context, mbox store.MailboxRef, uids []uint32, fn func(store.MessageMeta, *message.Part) error) error
	MessageBody(ctx context.Context, mbox store.MailboxRef, messageID int64) ([]byte, error)
	MessagePart(ctx context.Context, mbox store.MailboxRef, messageID int64) (*message.Part, error)
	Replace(ctx context.Context, src store.MailboxRef, uid uint32, dst store.MailboxRef, msg store.NewMessage) (uint32, uint32, error) // replace.go
	EmailIDs(ctx context.Context, mbox store.MailboxRef, uids []uint32) (map[uint32]int64, error)                                      // objectid.go
	SaveDates(ctx context.Context, mbox store.MailboxRef, uids []uint32) (map[uint32]time.Time, error)                                 // savedate.go
	SearchText(ctx context.Context, mbox store.MailboxRef, q store.TextQuery) (store.TextHits, bool, error)                            // search.go: the full-text index
	UpdateFlags(ctx context.Context, mbox store.MailboxRef, uids []uint32, op store.FlagOp, flags []string, unchangedSince uint64) (changed []store.MessageMeta, failed []uint32, err error)
	Expunge(ctx context.Context, mbox store.MailboxRef, uids []uint32, onlyDeleted bool) (removed []uint32, highest uint64, err error)
	Copy(ctx context.Context, src store.MailboxRef, uids []uint32, dst store.MailboxRef) (uint32, []store.UIDPair, error)
	Move(ctx context.Context, src store.MailboxRef, uids []uint32, dst store.MailboxRef) (uint32, []store.UIDPair, uint64, error)
	Changes(ctx context.Context, mbox store.MailboxRef, since uint64) (changed []store.MessageMeta, vanished []uint32, highest uint64, err error)
	Watch(accountID int64) (changes <-chan store.Change, cancel func())

	// ACLs (acl.go).
	MailboxACL(ctx context.Context, mbox store.MailboxRef) ([]store.ACLEntry, error)
	SetMailboxACL(ctx context.Context, mbox store.MailboxRef, identifier, rights string) error
	MailboxRights(ctx context.Context, viewerID int64, mbox store.MailboxRef) (string, error)
	SharedMailboxes(ctx context.Context, viewerID int64) ([]store.SharedMailbox, error) // shared.go: LIST
	// METADATA (metadata.go) and URLAUTH (urlauth.go).
	GetMetadata(ctx context.Context, accountID, mailboxID int64, names []string, depth int) ([]store.MetadataEntry, error)
	SetMetadata(ctx context.Context, accountID, mailboxID int64, entries []store.MetadataEntry, maxEntries int) error
	URLAuthKey(ctx context.Context, mbox store.MailboxRef, newKey []byte) ([]byte, error)
	DeleteURLAuthKeys(ctx context.Context, accountID, mailboxID int64) error
	AccountByEmail(ctx context.Context, email string) (store.Account, error) // urlauth.go: the URL's owner; shared.go: a shared mailbox's
}

var _ Store = (store.Store)(nil)

// Config configures a Server.
type Config struct {
	Hostname string
	Store    Store
	Auth     *auth.Authenticator
	Logger   *slog.Logger
	Now      func() time.Time

	// MaxLineLength bounds a command line (literals excluded); default 64 KiB.
	MaxLineLength int
	// MaxLiteralSize bounds one literal and so one APPENDed message
	// (advertised as APPENDLIMIT); default 50 MiB.
	MaxLiteralSize int64
	// MaxCommandSize bounds the bytes of one command after login: its
	// lines and literals, APPEND's messages excepted; default 1 MiB.
	// Before login every command is bounded by preAuthMaxCommand.
	MaxCommandSize int64
	// MaxAppendMessages bounds the messages of one (MULTI)APPEND (RFC
	// 3502); default 1,000.
	MaxAppendMessages int
	// MaxAppendBytes bounds the total size of the messages of one APPEND,
	// which are held in memory until they are stored; default 100 MiB and
	// at least MaxLiteralSize.
	MaxAppendBytes int64
	// MaxMailboxes bounds the mailboxes of one account (CREATE and RENAME
	// answer NO [LIMIT] beyond it); default 10,000.
	MaxMailboxes int
	// MetadataMaxEntryName bounds the bytes of a METADATA entry name
	// (RFC 5464; BAD beyond it); default
	// 1,024. MetadataMaxValueBytes bounds one entry's value (NO
	// [METADATA MAXSIZE n]); default 64 KiB. MetadataMaxEntries bounds
	// the entries of one account, server and mailboxes together (NO
	// [METADATA TOOMANY]); default 1,000.
	MetadataMaxEntryName  int
	MetadataMaxValueBytes int64
	MetadataMaxEntries    int
	// IdleTimeout is the autologout timer of an authenticated connection
	// (RFC 9051 §5.4: at least 30 minutes); default 30 min. Before login
	// the timer is at most 5 minutes.
	IdleTimeout time.Duration
	// AllowPlaintextAuth reports whether LOGIN/AUTHENTICATE may be used
	// without TLS from a client address; default auth.IsLoopback.
	AllowPlaintextAuth func(net.Addr) bool
	// IndexCacheMessages bounds the metadata kept in memory for mailboxes
	// no session has selected any more, counted in messages (about 100
	// bytes each); default 1,000,000. A selected mailbox's metadata is
	// always in memory while it is selected. Unused with Indexes.
	IndexCacheMessages int
	// Indexes is the cache of mailbox indexes the sessions share
	// (store/mboxindex), reading Store; give the POP3 server the same
	// one. Default: a new one bounded by IndexCacheMessages.
	Indexes *mboxindex.Cache
	// TLSConfig enables STARTTLS (RFC 9051 §6.2.1) when set, and is what
	// ServeTLS uses for implicit TLS (IMAPS, RFC 8314).
	TLSConfig *tls.Config
	// Quota limits what each account may store (quota.go, RFC 9208);
	// nil limits nothing.
	Quota Quota
	// HandshakeTimeout bounds a TLS handshake, on IMAPS before the
	// greeting and after STARTTLS; default DefaultHandshakeTimeout.
	HandshakeTimeout time.Duration
	// Metrics hears of commands, IDLE sessions and failed handshakes;
	// nil reports nothing.
	Metrics Metrics
	// Copies hears of every committed COPY and MOVE (spam learning from
	// the Junk mailbox, package spamlearn); nil tells no one.
	Copies CopyObserver
}

// CopyObserver hears of messages copied or moved between mailboxes of
// one account, after the store committed them. Copied must not block:
// it runs on the session's goroutine.
type CopyObserver interface {
	Copied(ctx context.Context, src, dst store.Mailbox, pairs []store.UIDPair)
}

// Defaults of the Config limits.
const (
	DefaultMaxCommandSize    = 1 << 20
	DefaultMaxAppendMessages = 1000
	DefaultMaxAppendBytes    = 100 << 20
	DefaultMaxMailboxes      = 10000

	DefaultMetadataMaxEntryName  = 1024
	DefaultMetadataMaxValueBytes = 64 << 10
	DefaultMetadataMaxEntries    = 1000
)

// preAuthMaxCommand bounds a command line, a literal, a whole command and
// an AUTHENTICATE response line before login, as Dovecot's imap-login
// does (8 KiB): an unauthenticated client can make the server hold no
// more than that.
const preAuthMaxCommand = 8 << 10

// DefaultHandshakeTimeout is Config.HandshakeTimeout's default.
const DefaultHandshakeTimeout = 30 * time.Second

const (
	preAuthTimeout = 5 * time.Minute
	writeTimeout   = 5 * time.Minute
)

// Limits are the settings of Config a running Server can change
// (SetLimits, on a config reload); zero fields get Config's defaults.
type Limits struct {
	MaxLineLength     int
	MaxLiteralSize    int64
	MaxCommandSize    int64
	MaxAppendMessages int
	MaxAppendBytes    int64
	MaxMailboxes      int
	IdleTimeout       time.Duration

	MetadataMaxEntryName  int
	MetadataMaxValueBytes int64
	MetadataMaxEntries    int
}

// normalize fills in defaults and keeps the limits consistent, as New
// does for Config.
func (l *Limits) normalize() {
	if l.MaxLineLength <= 0 {
		l.MaxLineLength = imapwire.DefaultMaxLineLength
	}
	if l.MaxLiteralSize <= 0 {
		l.MaxLiteralSize = imapwire.DefaultMaxLiteralSize
	}
	if l.MaxCommandSize <= 0 {
		l.MaxCommandSize = DefaultMaxCommandSize
	}
	l.MaxCommandSize = max(l.MaxCommandSize, int64(l.MaxLineLength))
	if l.MaxAppendMessages <= 0 {
		l.MaxAppendMessages = DefaultMaxAppendMessages
	}
	if l.MaxAppendBytes <= 0 {
		l.MaxAppendBytes = DefaultMaxAppendBytes
	}
	l.MaxAppendBytes = max(l.MaxAppendBytes, l.MaxLiteralSize)
	if l.MaxMailboxes <= 0 {
		l.MaxMailboxes = DefaultMaxMailboxes
	}
	if l.IdleTimeout <= 0 {
		l.IdleTimeout = 30 * time.Minute
	}
	if l.MetadataMaxEntryName <= 0 {
		l.MetadataMaxEntryName = DefaultMetadataMaxEntryName
	}
	if l.MetadataMaxValueBytes <= 0 {
		l.MetadataMaxValueBytes = DefaultMetadataMaxValueBytes
	}
	if l.MetadataMaxEntries <= 0 {
		l.MetadataMaxEntries = DefaultMetadataMaxEntries
	}
}

// SetLimits replaces the limits for connections accepted afterwards;
// open sessions keep the limits they started with.
func (s *Server) SetLimits(l Limits) {
	l.normalize()
	s.limits.Store(&l)
}

// Server serves IMAP connections.
type Server struct {
	cfg Config
	// deflateBufs holds the buffers compressed sessions deflate
	// responses into (compress.go), so an idle one keeps none.
	deflateBufs sync.Pool
	log         *slog.Logger
	shutdown    chan struct{}

	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	conns     map[*conn]struct{}
	closing   bool
	wg        sync.WaitGroup

	// limits are Config's limits until SetLimits; each connection reads
	// them once, when it is accepted.
	limits atomic.Pointer[Limits]

	// Connections' buffered readers and writers (bufSize), lent out while
	// a connection is not idling; writersOut counts the writers lent out
	// (TestIdleWakeQueuesWithoutBuffer).
	readers, writers sync.Pool
	writersOut       atomic.Int64
	// metaBufs lends FETCH and SEARCH their slice of message metadata
	// (*metaBuf, up to fetchChunk entries), so that a command
	// repeated by many sessions does not allocate and grow one each time.
	metaBufs sync.Pool
	// bodyBufs lends FETCH the buffer it reads a batch of message bytes
	// into (*[]byte, bodyBatchInto), so that the bytes are copied once
	// between the store and the connection and leave no garbage.
	bodyBufs sync.Pool

	// indexes holds the metadata of recently selected mailboxes, and the
	// feed clock sessions take a tick of when the feed reports a change
	// (store/mboxindex).
	indexes *mboxindex.Cache

	// feedComplete: the store's feed carries other processes' commits,
	// so sessions skip the periodic checkGone (sync.go).
	feedComplete bool

	// headerBatchBytes bounds one ListHeaders batch (bodies.go); tests
	// lower it so that its bound is exercised with small messages.
	headerBatchBytes int64
}

// ErrServerClosed is returned by Serve after Shutdown.
var ErrServerClosed = errors.New("imapserver: server closed")

// New returns a Server; zero Config fields get their defaults.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Metrics == nil {
		cfg.Metrics = nopMetrics{}
	}
	if cfg.Hostname == "" {
		cfg.Hostname = "localhost"
	}
	lim := Limits{
		MaxLineLength: cfg.MaxLineLength, MaxLiteralSize: cfg.MaxLiteralSize, MaxCommandSize: cfg.MaxCommandSize,
		MaxAppendMessages: cfg.MaxAppendMessages, MaxAppendBytes: cfg.MaxAppendBytes,
		MaxMailboxes: cfg.MaxMailboxes, IdleTimeout: cfg.IdleTimeout,
		MetadataMaxEntryName: cfg.MetadataMaxEntryName, MetadataMaxValueBytes: cfg.MetadataMaxValueBytes,
		MetadataMaxEntries: cfg.MetadataMaxEntries,
	}
	lim.normalize()
	cfg.MaxLineLength, cfg.MaxLiteralSize, cfg.MaxCommandSize = lim.MaxLineLength, lim.MaxLiteralSize, lim.MaxCommandSize
	cfg.MaxAppendMessages, cfg.MaxAppendBytes = lim.MaxAppendMessages, lim.MaxAppendBytes
	cfg.MaxMailboxes, cfg.IdleTimeout = lim.MaxMailboxes, lim.IdleTimeout
	cfg.MetadataMaxEntryName, cfg.MetadataMaxValueBytes, cfg.MetadataMaxEntries = lim.MetadataMaxEntryName, lim.MetadataMaxValueBytes, lim.MetadataMaxEntries
	if cfg.AllowPlaintextAuth == nil {
		cfg.AllowPlaintextAuth = auth.IsLoopback
	}
	if cfg.HandshakeTimeout <= 0 {
		cfg.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if cfg.IndexCacheMessages <= 0 {
		cfg.IndexCacheMessages = mboxindex.DefaultMaxMessages
	}
	if cfg.Indexes == nil {
		cfg.Indexes = mboxindex.NewCache(cfg.Store, cfg.IndexCacheMessages)
	}
	fc, _ := cfg.Store.(completeFeed)
	s := &Server{
		feedComplete:     fc != nil && fc.FeedCoversOtherProcesses(),
		headerBatchBytes: defaultHeaderBatchBytes,
		indexes:          cfg.Indexes,
		cfg:              cfg,
		log:              cfg.Logger,
		shutdown:         make(chan struct{}),
		listeners:        make(map[net.Listener]struct{}),
		conns:            make(map[*conn]struct{}),
	}
	s.limits.Store(&lim)
	return s
}

// ServeTLS is Serve for an implicit-TLS listener (port 993, RFC 8314
// §3.3): every connection starts with a TLS handshake using
// Config.TLSConfig, bounded by Config.HandshakeTimeout and completed
// before the greeting (so that the greeting's capabilities are those of
// the TLS connection), and STARTTLS is not offered.
func (s *Server) ServeTLS(l net.Listener) error {
	if s.cfg.TLSConfig == nil {
		l.Close()
		return errors.New("imapserver: ServeTLS without TLSConfig")
	}
	return s.Serve(tls.NewListener(l, s.cfg.TLSConfig))
}

// Serve accepts connections on l until Shutdown; it returns ErrServerClosed
// after Shutdown.
func (s *Server) Serve(l net.Listener) error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return ErrServerClosed
	}
	s.listeners[l] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, l)
		s.mu.Unlock()
	}()
	var delay time.Duration
	for {
		nc, err := l.Accept()
		if err != nil {
			select {
			case <-s.shutdown:
				return ErrServerClosed
			default:
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				time.Sleep(delay)
				continue
			}
			return err
		}
		delay = 0
		c := newConn(s, nc)
		s.mu.Lock()
		if s.closing {
			s.mu.Unlock()
			nc.Close()
			return ErrServerClosed
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go c.serve(nil)
	}
}

// connDone forgets a connection that has ended.
func (s *Server) connDone(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	s.wg.Done()
}

// Shutdown stops accepting connections, tells connected clients BYE at their
// next command boundary (at once when idle), and waits for them to end or
// for ctx, after which remaining connections are closed.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if !s.closing {
		s.closing = true
		close(s.shutdown)
	}
	for l := range s.listeners {
		l.Close()
	}
	s.mu.Unlock()

	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		s.poke()
		select {
		case <-done:
			return nil
		case <-ctx.Done():
			s.mu.Lock()
			for c := range s.conns {
				c.cancel()
				c.raw.Close()
			}
			s.mu.Unlock()
			<-done
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// poke wakes connections blocked reading a command so they see the shutdown.
func (s *Server) poke() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		c.raw.SetReadDeadline(time.Now())
	}
}

func (s *Server) shuttingDown() bool {
	select {
	case <-s.shutdown:
		return true
	default:
		return false
	}
}
