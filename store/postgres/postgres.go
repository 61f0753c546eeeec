package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mailroom/mailroom/store"
	"github.com/mailroom/mailroom/store/internal/dircache"
	"github.com/mailroom/mailroom/store/internal/sqlcore"
)

var _ store.Store = (*Store)(nil)

// Channel is the LISTEN/NOTIFY channel of a store in the public schema.
const Channel = "mailroom_changes"

// maxAttempts bounds how often a transaction is run again after a deadlock
// or serialization failure.
const maxAttempts = 8

// Store is a store.Store on a PostgreSQL database, shareable by several
// processes (nodes).
type Store struct {
	*sqlcore.Core         // the SQL shared with store/sqlite
	m             Metrics // nopMetrics: writes not reported

	logger  *slog.Logger
	pool    *pgxpool.Pool
	channel string
	feed    store.Feed
	now     func() (unixNano int64)

	pids sync.Map // backend PIDs of the pool's connections: our own NOTIFYs

	dir *dircache.Cache // recipient lookups (dircache.go); enabled while listening

	mu      sync.Mutex    // watched, and m for the indexer (WithMetrics)
	watched map[int64]int // subscriptions per account, to wake after a lost LISTEN

	listenPID atomic.Uint32 // backend PID of the LISTEN connection (for tests)

	jobs     chan *job     // writes for the writer (writer.go); unbuffered
	offered  atomic.Int64  // writes waiting for the writer to take them (tests)
	quit     chan struct{} // closed by Close: the writer stops
	writerWG sync.WaitGroup
	// syncFlags: flag changes commit synchronously too (core.go).
	syncFlags atomic.Bool

	indexer   *sqlcore.TextIndexer // nil: none (openOptions.noTextIndexer)
	indexStop func()

	stop      context.CancelFunc
	listenWG  sync.WaitGroup
	closeOnce sync.Once
}

// Open connects to the database named by dsn (a postgres:// URL or a
// key=value string; search_path selects the schema), brings its schema up
// to date and starts listening for the changes of other nodes. logger may
// be nil.
// Metrics receives the store's write latency (the serve process's
// mailroom_store_write_duration_seconds).
type Metrics interface {
	// StoreWrite: one write, d from the call until its transaction
	// committed (or failed), retries included.
	StoreWrite(d time.Duration)
	// StoreBatch: one group commit of n writes (writer.go).
	StoreBatch(n int)
	// TextIndexPending: n blobs wait for their full-text entry
	// (sqlcore.TextIndexer), as this node's indexer last counted them.
	TextIndexPending(n int64)
}

type nopMetrics struct{}

func (nopMetrics) StoreWrite(time.Duration) {}
func (nopMetrics) StoreBatch(int)           {}
func (nopMetrics) TextIndexPending(int64)   {}

// WithMetrics reports every write and every group commit to m. Call it
// before the store is used.
func (s *Store) WithMetrics(m Metrics) *Store {
	s.mu.Lock()
	s.m = m
	s.mu.Unlock()
	return s
}

// reportPending tells the metrics the indexer's count; under mu, as the
// indexer runs from Open on, before WithMetrics.
func (s *Store) reportPending(n int64) {
	s.mu.Lock()
	m := s.m
	s.mu.Unlock()
	m.TextIndexPending(n)
}

func Open(ctx context.Context, dsn string, logger *slog.Logger) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: bad database URL: %w", err)
	}
	return openConfig(ctx, cfg, logger, openOptions{})
}

// openOptions change how openConfig opens a store (tests).
type openOptions struct {
	// noTextIndexer starts no text indexer: deliveries stay pending,
	// as if the node died before indexing them.
	noTextIndexer bool
}

// openConfig is Open with a parsed configuration (tests set a tracer).
func openConfig(ctx context.Context, cfg *pgxpool.Config, logger *slog.Logger, opts openOptions) (*Store, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Store{logger: logger, m: nopMetrics{}, now: nowNano, watched: map[int64]int{},
		jobs: make(chan *job), quit: make(chan struct{}), dir: dircache.New()}
	cfg.AfterConnect = func(ctx context.Context, c *pgx.Conn) error {
		// A SET, not a startup parameter, which PgBouncer refuses.
		if _, err := c.Exec(ctx, "SET "+textPendingParam+" = on"); err != nil {
			return err
		}
		s.pids.Store(c.PgConn().PID(), struct{}{})
		return nil
	}
	cfg.BeforeClose = func(c *pgx.Conn) { s.pids.Delete(c.PgConn().PID()) }
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	s.pool = pool
	s.Core = sqlcore.New(dialect{}, readDB{s}, s.coreWrite, func() int64 { return s.now() })
	s.SetFlagWrite(s.coreWriteFlags)
	s.SetStatementWrite(s.writeStatement)
	if err := migrate(ctx, cfg.ConnConfig, schemaVersion); err != nil {
		pool.Close()
		return nil, err
	}
	var schema string
	if err := pool.QueryRow(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	s.channel = Channel
	if schema != "public" {
		s.channel = Channel + "." + schema
	}
	conn, err := s.listenConn(ctx, cfg.ConnConfig)
	if err != nil {
		pool.Close()
		return nil, err
	}
	s.dir.Enable() // listening from here on
	lctx, stop := context.WithCancel(context.Background())
	s.stop = stop
	s.listenWG.Add(1)
	go s.listen(lctx, cfg.ConnConfig, conn)
	if !opts.noTextIndexer {
		// Before the writer starts: it wakes the indexer after commits.
		// The indexer's transactions run beside the writer's (writeAlone):
		// they touch only text_pending and blob_text, and the GIN inserts
		// of a batch of entries must not hold up the node's deliveries.
		s.indexer = s.NewTextIndexer(func(ctx context.Context, fn func(sqlcore.Tx) error) error {
			return s.writeAlone(ctx, func(tx *wtx) error { return fn(tx) })
		}, logger, s.reportPending, func(err error) bool { return errors.Is(err, ErrClosed) })
	}
	s.writerWG.Add(1)
	go s.writer()
	s.indexStop = func() {}
	if s.indexer != nil {
		s.indexStop = s.indexer.Start()
	}
	return s, nil
}

// Close stops listening and closes the connections. Writes in progress
// finish first.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.indexStop()
		close(s.quit)
		s.writerWG.Wait()
		s.stop()
		s.listenWG.Wait()
		s.pool.Close()
	})
	return nil
}

// Watch implements store.Store.
func (s *Store) Watch(accountID int64) (<-chan store.Change, func()) {
	untrack := s.track(accountID)
	ch, cancel := s.feed.Watch(accountID)
	return ch, func() {
		untrack()
		cancel()
	}
}

// WatchFunc is Watch with a callback (see store.Feed.WatchFunc), as on
// SQLite: the IMAP and POP3 servers use it so that an idle connection
// needs no goroutine of its own. Changes of other nodes reach fn from
// the one LISTEN goroutine (listen.go), through the same local feed.
func (s *Store) WatchFunc(accountID int64, fn func(store.Change)) (cancel func()) {
	untrack := s.track(accountID)
	stop := s.feed.WatchFunc(accountID, fn)
	return func() {
		untrack()
		stop()
	}
}

// track counts a subscription of accountID in s.watched (the accounts a
// reconnected LISTEN wakes) until the returned func is called; calling
// it more than once is harmless.
func (s *Store) track(accountID int64) (untrack func()) {
	s.mu.Lock()
	s.watched[accountID]++
	s.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			if s.watched[accountID]--; s.watched[accountID] <= 0 {
				delete(s.watched, accountID)
			}
			s.mu.Unlock()
		})
	}
}

// SQLSTATEs (PostgreSQL Appendix A).
const (
	codeSerializationFailure = "40001"
	codeDeadlockDetected     = "40P01"
	codeUniqueViolation      = "23505"
	codeDiskFull             = "53100"
)

func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == codeSerializationFailure || pe.Code == codeDeadlockDetected)
}

// mapError turns a unique violation (two nodes creating the same name at
// once) into store.ErrExists and a full disk into store.ErrNoSpace.
func mapError(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == codeUniqueViolation {
		return fmt.Errorf("%w: %s", store.ErrExists, pe.ConstraintName)
	}
	if errors.As(err, &pe) && pe.Code == codeDiskFull {
		return fmt.Errorf("%w: %w", store.ErrNoSpace, err)
	}
	return err
}

// isNoRows reports whether err is pgx.ErrNoRows.
func isNoRows(err error) bool { return errors.Is(err, pgx.ErrNoRows) }
