package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/mailroom/mailroom/store"
	"github.com/mailroom/mailroom/store/internal/sqlcore"
)

// job is one write: fn runs inside the batch transaction, in its own
// savepoint.
type job struct {
	ctx   context.Context
	fn    func(tx *wtx) error
	done  chan error
	tx    wtx
	flags bool // writeFlags: may commit without an fsync
}

// wtx is the transaction a write job runs in, on the writer's connection.
// Its statements use the writer's background context: cancelling a
// statement interrupts SQLite, which would roll back the whole batch, so
// a job's own context is only checked before the job starts.
type wtx struct {
	c     *heldConn
	batch uint64 // the writer's count of batches: jobs with the same share one transaction
	sqlcore.Pending
	texts   []sqlcore.TextEntry // full-text index entries to write at the end (IndexText)
	pending bool                // a blob was left to the indexer (MarkPending)
}

func (t *wtx) exec(query string, args ...any) (sql.Result, error) {
	st, err := t.c.stmt(query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(context.Background(), args...)
}

func (t *wtx) query(query string, args ...any) (*sql.Rows, error) {
	st, err := t.c.stmt(query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(context.Background(), args...)
}

func (t *wtx) queryRow(query string, args ...any) sqlcore.Row {
	st, err := t.c.stmt(query)
	if err != nil {
		return errRow{err}
	}
	return st.QueryRowContext(context.Background(), args...)
}

// write runs fn in the writer goroutine and returns once its transaction
// has committed (or failed). Prepare everything expensive (parsing, JSON)
// before calling write: fn holds the database's single write lock.
func (s *Store) write(ctx context.Context, fn func(tx *wtx) error) error {
	return s.send(ctx, s.jobs, false, fn)
}

// writeFlags is write for a change a power loss may undo (flags, \Recent,
// caches; see sqlcore.WriteFunc): a batch of such writes only commits
// with synchronous=NORMAL, which in WAL mode writes the WAL but does not
// fsync it, unless SyncFlagChanges. The commit is in the OS's cache, so
// the process dying (kill -9) loses nothing; a power loss may lose the
// last such batches, never a write before the last fsynced commit, which
// flushes the WAL up to itself (a batch that mixes them with any other
// write is fsynced whole).
func (s *Store) writeFlags(ctx context.Context, fn func(tx *wtx) error) error {
	return s.send(ctx, s.jobs, true, fn)
}

// SetSyncFlagChanges sets Options.SyncFlagChanges from the next batch on.
func (s *Store) SetSyncFlagChanges(on bool) { s.syncFlags.Store(on) }

// writeIdle is write at low priority: the writer takes fn only when no
// other write waits, and runs it alone, so it never joins (and lengthens)
// the transaction of a delivery. For the text indexer.
func (s *Store) writeIdle(ctx context.Context, fn func(sqlcore.Tx) error) error {
	return s.send(ctx, s.idleJobs, false, func(tx *wtx) error { return fn(tx) })
}

func (s *Store) send(ctx context.Context, jobs chan<- *job, flags bool, fn func(tx *wtx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	start := time.Now()
	defer func() { s.m.StoreWrite(time.Since(start)) }()
	j := &job{ctx: ctx, fn: fn, done: make(chan error, 1), flags: flags}
	select {
	case jobs <- j:
	case <-ctx.Done():
		return ctx.Err()
	case <-s.quit:
		return ErrClosed
	}
	// Once taken, wait for the outcome even if ctx ends: the caller must
	// not believe a committed change failed.
	return mapNoSpace(<-j.done)
}

func (s *Store) writer() {
	defer s.writerWG.Done()
	batch := make([]*job, 0, maxBatch)
	tick := time.NewTicker(externalPollInterval)
	defer tick.Stop()
	for {
		select {
		case j := <-s.jobs:
			batch = append(batch[:0], j)
		default:
			select {
			case j := <-s.jobs:
				batch = append(batch[:0], j)
			case j := <-s.idleJobs:
				batch = append(batch[:0], j)
				s.runBatch(batch)
				clear(batch)
				continue
			case <-tick.C:
				s.pollExternal()
				continue
			case <-s.quit:
				return
			}
		}
	collect:
		for len(batch) < maxBatch {
			select {
			case j := <-s.jobs:
				batch = append(batch, j)
			default:
				break collect
			}
		}
		s.runBatch(batch)
		clear(batch)
	}
}

// runBatch runs jobs in one transaction, each in a savepoint, commits once
// and then publishes the changes of the jobs that succeeded.
func (s *Store) runBatch(batch []*job) {
	s.m.StoreBatch(len(batch))
	errs := make([]error, len(batch))
	w := s.w
	s.batches++
	err := s.setSync(batch)
	if err == nil {
		err = w.exec("BEGIN IMMEDIATE")
	}
	if err != nil {
		// The connection may be inside a transaction that a failed
		// COMMIT and its failed ROLLBACK left open; every batch after
		// would fail the same way. End it, so the next batch begins.
		w.exec("ROLLBACK")
		err = fmt.Errorf("sqlite: begin: %w", err)
		for _, j := range batch {
			j.done <- err
		}
		return
	}
	// ended is set once the batch's transaction is gone: SQLite rolls
	// the whole transaction back on some errors (SQLITE_FULL), and the
	// job's savepoint goes with it. The jobs after it must not run: their
	// SAVEPOINT would begin a transaction of its own, which their RELEASE
	// would commit, and the batch then fails, so each would be committed
	// yet reported failed.
	var ended error
	for i, j := range batch {
		if ended != nil {
			errs[i] = ended
			continue
		}
		if err := j.ctx.Err(); err != nil {
			errs[i] = err
			continue
		}
		j.tx = wtx{c: w, batch: s.batches}
		if err := w.exec("SAVEPOINT job"); err != nil {
			errs[i] = err
			continue
		}
		if err := j.fn(&j.tx); err != nil {
			errs[i] = err
			if rerr := w.exec("ROLLBACK TO job"); rerr != nil {
				// The job's writes would stay in the batch.
				s.logger.Error("sqlite: rollback to savepoint", "err", rerr)
				ended = fmt.Errorf("rollback to savepoint: %w (after %w)", rerr, err)
				continue
			}
		}
		if err := w.exec("RELEASE job"); err != nil {
			if errs[i] == nil {
				errs[i] = err
			}
			ended = fmt.Errorf("release savepoint: %w", err)
		}
	}
	err = ended
	if err == nil {
		err = s.indexTexts(w, batch, errs)
	}
	if err == nil {
		err = w.exec("COMMIT")
	}
	if err != nil {
		// A failed COMMIT may leave the transaction open (SQLITE_BUSY),
		// and SQLITE_FULL may have rolled it back already ("no
		// transaction is active"): end it either way.
		w.exec("ROLLBACK")
		err = fmt.Errorf("sqlite: commit: %w", err)
		// SQLITE_FULL in a statement rolls the whole transaction back,
		// and the commit then fails with "no transaction is active":
		// pass the full disk on, so callers see store.ErrNoSpace.
		for _, e := range errs {
			if e = mapNoSpace(e); errors.Is(e, store.ErrNoSpace) {
				err = errors.Join(err, e)
				break
			}
		}
		s.logger.Error("sqlite: commit failed", "err", err, "batch", len(batch))
		for _, j := range batch {
			j.done <- err
		}
		return
	}
	pending := false
	for i, j := range batch {
		if errs[i] == nil {
			for _, c := range j.tx.Changes {
				s.feed.Publish(c)
			}
			pending = pending || j.tx.pending
		}
		j.done <- errs[i]
	}
	if pending && s.indexer != nil {
		s.indexer.Wake()
	}
}

// setSync sets wconn's synchronous level for batch (SQLite refuses to
// change it inside a transaction): NORMAL if every job is a writeFlags
// and SyncFlagChanges is off, else commitSync.
func (s *Store) setSync(batch []*job) error {
	want := s.commitSync
	if want == "FULL" && !s.syncFlags.Load() && !slices.ContainsFunc(batch, func(j *job) bool { return !j.flags }) {
		want = "NORMAL"
	}
	if want == s.wconnSync {
		return nil
	}
	if _, err := s.w.conn.ExecContext(context.Background(), "PRAGMA synchronous = "+want); err != nil {
		return fmt.Errorf("sqlite: synchronous = %s: %w", want, err)
	}
	s.wconnSync = want
	return nil
}

// indexTexts writes the full-text index entries the jobs of a batch that
// succeeded deferred, after every savepoint and in one statement: FTS5
// writes its pending entries out as a segment at the savepoint each
// writing statement opens, so one statement per batch makes one segment.
// A blob id may have been freed and taken again within the batch (SQLite
// reuses the highest rowid): the last entry of an id is the blob's that
// exists now.
func (s *Store) indexTexts(w *heldConn, batch []*job, errs []error) error {
	last := map[int64]sqlcore.TextEntry{}
	var order []int64
	for i, j := range batch {
		if errs[i] != nil {
			continue
		}
		for _, e := range j.tx.texts {
			if _, ok := last[e.BlobID]; !ok {
				order = append(order, e.BlobID)
			}
			last[e.BlobID] = e
		}
	}
	if len(order) == 0 {
		return nil
	}
	check, err := w.stmt(`SELECT EXISTS (SELECT 1 FROM blobs WHERE id = $1)`)
	if err != nil {
		return err
	}
	entries := make([]sqlcore.TextEntry, 0, len(order))
	for _, id := range order {
		var ok bool
		if err := check.QueryRowContext(context.Background(), id).Scan(&ok); err != nil {
			return fmt.Errorf("index message text: %w", err)
		}
		if ok {
			entries = append(entries, last[id])
		}
	}
	if len(entries) == 0 {
		return nil
	}
	if _, err := (&wtx{c: w}).exec(insertTexts, textsJSON(entries)); err != nil {
		return fmt.Errorf("index message text: %w", err)
	}
	return nil
}
