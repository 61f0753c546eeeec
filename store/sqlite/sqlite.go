package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // registers driver "sqlite"

	"github.com/mailroom/mailroom/store"
	"github.com/mailroom/mailroom/store/internal/sqlcore"
)

var _ store.Store = (*Store)(nil)

// ErrClosed is returned by writes after Close (reads get database/sql's
// closed-database error).
var ErrClosed = errors.New("sqlite: store closed")

// busyTimeoutMS is how long a connection waits for a lock held by another
// connection or process before failing with SQLITE_BUSY.
const busyTimeoutMS = 10000

// maxBatch caps how many waiting writes share one transaction.
const maxBatch = 128

// Store is a store.Store on one SQLite database file.
type Store struct {
	*sqlcore.Core // the SQL shared with store/postgres

	path   string // the database file (Backup opens its own connection)
	logger *slog.Logger
	wdb    *sql.DB // write connections, used only by the writer goroutine (and migrate)
	// w is wconn, the one connection every write transaction runs on,
	// with the writer's prepared statements. The other connections of
	// wdb never commit, so PRAGMA data_version on wconn changes only when
	// another process commits (external.go).
	w       *heldConn
	batches uint64 // runBatch's count (writer goroutine only)
	// dataVersion is wconn's last PRAGMA data_version (writer goroutine only).
	dataVersion int64
	// commitSync is wconn's synchronous level for a batch that is not
	// flags-only: FULL, or OFF with Options.NoSync; wconnSync is the
	// level set on wconn now (writer goroutine only). A flags-only batch
	// commits at NORMAL unless syncFlags (writer.go).
	commitSync, wconnSync string
	syncFlags             atomic.Bool
	rdb                   *sql.DB // read-only pool
	rstmts                *stmtCache
	snaps                 *readConns // rdb's connections for snapshots
	feed                  store.Feed
	now                   func() (unixNano int64)
	m                     Metrics

	jobs      chan *job
	idleJobs  chan *job // writeIdle
	quit      chan struct{}
	writerWG  sync.WaitGroup
	indexer   *sqlcore.TextIndexer // nil: none (Options.noTextIndexer)
	indexStop func()
	closeOnce sync.Once
	closeErr  error
}

// Open opens (creating if needed) the database at path, brings its schema
// up to date and starts the writer. logger may be nil. Every commit is
// fsynced (synchronous=FULL).
func Open(ctx context.Context, path string, logger *slog.Logger) (*Store, error) {
	return OpenWith(ctx, path, logger, Options{})
}

// Options change how OpenWith opens a store. The zero value is Open's.
type Options struct {
	// NoSync sets synchronous=OFF: commits are not fsynced, so a write
	// survives the process dying but not the machine. For the test
	// harnesses of the protocol servers, whose tests are not about
	// durability (those use Open); never for serve.
	NoSync bool
	// Metrics hears of every write and group commit; nil reports nothing.
	Metrics Metrics
	// SyncFlagChanges fsyncs the commits of flag changes too (config
	// [store] sync_flag_changes); by default they commit at
	// synchronous=NORMAL (writer.go). SetSyncFlagChanges changes it later.
	SyncFlagChanges bool

	// noTextIndexer (tests) starts no text indexer: deliveries stay
	// pending, as if the process died before indexing them.
	noTextIndexer bool
}

// Metrics is what the store reports to monitoring (*metrics.Metrics in
// cmd/mailroom).
type Metrics interface {
	// StoreWrite: one write, d from the call until its transaction
	// committed (or failed), the wait for the writer included.
	StoreWrite(d time.Duration)
	// StoreBatch: one group commit of n writes.
	StoreBatch(n int)
	// TextIndexPending: n blobs wait for their full-text entry
	// (sqlcore.TextIndexer), as the indexer last counted them.
	TextIndexPending(n int64)
}

type nopMetrics struct{}

func (nopMetrics) StoreWrite(time.Duration) {}
func (nopMetrics) StoreBatch(int)           {}
func (nopMetrics) TextIndexPending(int64)   {}

// OpenWith is Open with options.
func OpenWith(ctx context.Context, path string, logger *slog.Logger, opts Options) (*Store, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	wsrc, commitSync := dsn(path, false), "FULL"
	if opts.NoSync {
		wsrc = strings.Replace(wsrc, url.QueryEscape("synchronous(FULL)"), url.QueryEscape("synchronous(OFF)"), 1)
		commitSync = "OFF"
	}
	wdb, err := sql.Open("sqlite", wsrc)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	// Only the writer goroutine writes, so one transaction at a time, on
	// wconn, pinned for the writer (external.go), with its statements
	// prepared on it. The two others serve PageCount and migrate.
	wdb.SetMaxOpenConns(3)
	wdb.SetMaxIdleConns(3)
	wdb.SetConnMaxLifetime(0)
	wdb.SetConnMaxIdleTime(0)
	if err := migrate(ctx, wdb, schemaVersion); err != nil {
		wdb.Close()
		return nil, err
	}
	rdb, err := sql.Open("sqlite", dsn(path, true))
	if err != nil {
		wdb.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	// Cap the read pool. Without a cap, 10,000 IDLE sessions woken by one
	// delivery opened thousands of connections at once, each with its own
	// page cache and file descriptors, until open(2) failed with EMFILE
	// (SQLITE_CANTOPEN) and a third of the sessions got errors (bench idle
	// scenario). Reads are CPU-bound, so more connections than this add
	// memory, not throughput. A cap is safe because no read holds one
	// connection while asking for another: ListMessages reads a chunk and
	// closes its rows before running the callback (which may call
	// MessageBody), and transactions use only their own connection.
	// Snapshots hold up to maxSnapshotConns of their own (readconns.go).
	rdb.SetMaxOpenConns(maxReadConns + maxSnapshotConns)
	rdb.SetMaxIdleConns(8)
	if err := rdb.PingContext(ctx); err != nil {
		wdb.Close()
		rdb.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	wconn, err := wdb.Conn(ctx)
	if err != nil {
		wdb.Close()
		rdb.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	s := &Store{
		w:         newHeldConn(wconn),
		path:      path,
		logger:    logger,
		wdb:       wdb,
		rdb:       rdb,
		rstmts:    newStmtCache(rdb),
		snaps:     newReadConns(rdb),
		now:       nowNano,
		m:         opts.Metrics,
		jobs:      make(chan *job), // unbuffered: a job is either taken by the writer or not sent
		idleJobs:  make(chan *job),
		quit:      make(chan struct{}),
		indexStop: func() {},
	}
	if err := wconn.QueryRowContext(ctx, "PRAGMA data_version").Scan(&s.dataVersion); err != nil {
		s.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	if s.m == nil {
		s.m = nopMetrics{}
	}
	s.commitSync, s.wconnSync = commitSync, commitSync
	s.syncFlags.Store(opts.SyncFlagChanges)
	s.Core = sqlcore.New(dialect{}, readDB{s}, s.coreWrite, func() int64 { return s.now() })
	s.SetFlagWrite(s.coreWriteFlags)
	if !opts.noTextIndexer {
		// Before the writer starts: it wakes the indexer after commits.
		s.indexer = s.NewTextIndexer(s.writeIdle, logger, s.m.TextIndexPending, func(err error) bool { return errors.Is(err, ErrClosed) })
	}
	s.writerWG.Add(1)
	go s.writer()
	if s.indexer != nil {
		s.indexStop = s.indexer.Start()
	}
	return s, nil
}

// maxReadConns bounds the read connection pool (see Open).
const maxReadConns = 32

func dsn(path string, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeoutMS))
	q.Add("_pragma", "foreign_keys(1)")
	if readOnly {
		q.Add("_pragma", "query_only(1)")
		// No mmap_size: mapping the file (2 GiB per read connection)
		// made SEARCH TEXT on 100,000 messages faster but the logged-in
		// IMAP mix a third slower on SQLite, measured side by side
		// (docs/benchmarks.md "Full run, session 9").
	} else {
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "synchronous(FULL)")
		// Each write runs in a SAVEPOINT (writer.go), whose statement
		// journal holds the old content of every page the write
		// changes; past 64 KiB SQLite spills it to a temporary file,
		// and those writes were a third of a bulk import's CPU time
		// (pprof of bench/import-mbox). In memory it costs at most the
		// pages of one write job, which holds its messages in memory
		// anyway.
		q.Add("_pragma", "temp_store(MEMORY)")
		// BEGIN IMMEDIATE takes the write lock up front, so busy_timeout
		// applies instead of a deadlock-avoidance SQLITE_BUSY on upgrade.
		q.Set("_txlock", "immediate")
	}
	u := url.URL{Scheme: "file", Opaque: (&url.URL{Path: path}).EscapedPath(), RawQuery: q.Encode()}
	return u.String()
}

// Close stops the writer and closes the database. Writes in progress finish
// first.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.indexStop()
		close(s.quit)
		s.writerWG.Wait()
		s.closeErr = errors.Join(s.snaps.close(), s.rstmts.close(), s.w.close(false), s.rdb.Close(), s.wdb.Close())
	})
	return s.closeErr
}

// Watch implements store.Store.
func (s *Store) Watch(accountID int64) (<-chan store.Change, func()) {
	return s.feed.Watch(accountID)
}

// WatchFunc is Watch with a callback (see store.Feed.WatchFunc); the IMAP
// server uses it so that an idle connection needs no goroutine of its own.
func (s *Store) WatchFunc(accountID int64, fn func(store.Change)) (cancel func()) {
	return s.feed.WatchFunc(accountID, fn)
}
