package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/mailroom/mailroom/store"
	"github.com/mailroom/mailroom/store/internal/sqlcore"
)

// job is one write: fn runs inside the batch transaction, in its own
// savepoint.
type job struct {
	ctx  context.Context
	fn   func(tx *wtx) error
	done chan error
	tx   wtx
}

// wtx is the transaction a write job runs in. Its statements use the
// writer's background context: cancelling a statement interrupts SQLite,
// which would roll back the whole batch, so a job's own context is only
// checked before the job starts.
type wtx struct {
	tx    *sql.Tx
	stmts *stmtCache
	sqlcore.Pending
	texts []textEntry // full-text index entries to write at the end (IndexText)
}

// textEntry is a full-text index entry IndexText deferred.
type textEntry struct {
	blobID    int64
	hdr, body string
}

// stmt returns the cached prepared statement for query, bound to the
// transaction.
func (t *wtx) stmt(query string) (*sql.Stmt, error) {
	st, err := t.stmts.get(context.Background(), query)
	if err != nil {
		return nil, err
	}
	return t.tx.Stmt(st), nil
}

func (t *wtx) exec(query string, args ...any) (sql.Result, error) {
	st, err := t.stmt(query)
	if err != nil {
		return nil, err
	}
	return st.Exec(args...)
}

func (t *wtx) query(query string, args ...any) (*sql.Rows, error) {
	st, err := t.stmt(query)
	if err != nil {
		return nil, err
	}
	return st.Query(args...)
}

func (t *wtx) queryRow(query string, args ...any) *sql.Row {
	st, err := t.stmt(query)
	if err != nil {
		return t.tx.QueryRow(query, args...) // reports the error on Scan
	}
	return st.QueryRow(args...)
}

// write runs fn in the writer goroutine and returns once its transaction
// has committed (or failed). Prepare everything expensive (parsing, JSON)
// before calling write: fn holds the database's single write lock.
func (s *Store) write(ctx context.Context, fn func(tx *wtx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	start := time.Now()
	defer func() { s.m.StoreWrite(time.Since(start)) }()
	j := &job{ctx: ctx, fn: fn, done: make(chan error, 1)}
	select {
	case s.jobs <- j:
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
		case <-tick.C:
			s.pollExternal()
			continue
		case <-s.quit:
			return
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
	tx, err := s.wconn.BeginTx(context.Background(), nil)
	if err != nil {
		err = fmt.Errorf("sqlite: begin: %w", err)
		for _, j := range batch {
			j.done <- err
		}
		return
	}
	for i, j := range batch {
		if err := j.ctx.Err(); err != nil {
			errs[i] = err
			continue
		}
		j.tx = wtx{tx: tx, stmts: s.wstmts}
		if _, err := tx.Exec("SAVEPOINT job"); err != nil {
			errs[i] = err
			continue
		}
		if err := j.fn(&j.tx); err != nil {
			errs[i] = err
			if _, rerr := tx.Exec("ROLLBACK TO job"); rerr != nil {
				s.logger.Error("sqlite: rollback to savepoint", "err", rerr)
			}
		}
		if _, err := tx.Exec("RELEASE job"); err != nil && errs[i] == nil {
			errs[i] = err
		}
	}
	err = s.indexTexts(tx, batch, errs)
	if err == nil {
		err = tx.Commit()
	} else {
		tx.Rollback()
	}
	if err != nil {
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
	for i, j := range batch {
		if errs[i] == nil {
			for _, c := range j.tx.Changes {
				s.feed.Publish(c)
			}
		}
		j.done <- errs[i]
	}
}

// indexTexts writes the full-text index entries the jobs of a batch that
// succeeded deferred, after every savepoint and in one statement: FTS5
// writes its pending entries out as a segment at the savepoint each
// writing statement opens, so one statement per batch makes one segment.
// A blob id may have been freed and taken again within the batch (SQLite
// reuses the highest rowid): the last entry of an id is the blob's that
// exists now.
func (s *Store) indexTexts(tx *sql.Tx, batch []*job, errs []error) error {
	last := map[int64]textEntry{}
	var order []int64
	for i, j := range batch {
		if errs[i] != nil {
			continue
		}
		for _, e := range j.tx.texts {
			if _, ok := last[e.blobID]; !ok {
				order = append(order, e.blobID)
			}
			last[e.blobID] = e
		}
	}
	if len(order) == 0 {
		return nil
	}
	check, err := s.wstmts.get(context.Background(), `SELECT EXISTS (SELECT 1 FROM blobs WHERE id = $1) AND NOT EXISTS (SELECT 1 FROM blob_text WHERE rowid = $1)`)
	if err != nil {
		return err
	}
	check = tx.Stmt(check)
	rows := make([][3]any, 0, len(order))
	for _, id := range order {
		var ok bool
		if err := check.QueryRow(id).Scan(&ok); err != nil {
			return fmt.Errorf("index message text: %w", err)
		}
		if ok {
			e := last[id]
			rows = append(rows, [3]any{e.blobID, e.hdr, e.body})
		}
	}
	if len(rows) == 0 {
		return nil
	}
	js, err := json.Marshal(rows)
	if err != nil {
		return err
	}
	if _, err := tx.Exec(`INSERT INTO blob_text(rowid, hdr, body) SELECT value->>0, value->>1, value->>2 FROM json_each($1)`, string(js)); err != nil {
		return fmt.Errorf("index message text: %w", err)
	}
	return nil
}
