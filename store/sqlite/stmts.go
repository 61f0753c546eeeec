package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"sync"

	"github.com/mailroom/mailroom/store/internal/sqlcore"
)

// stmtCache keeps prepared statements by query text: preparing (parsing)
// SQL costs as much as running a small statement. A *sql.Stmt is safe for
// concurrent use; database/sql re-prepares it on each connection lazily.
type stmtCache struct {
	db *sql.DB
	mu sync.Mutex
	m  map[string]*sql.Stmt
}

func newStmtCache(db *sql.DB) *stmtCache {
	return &stmtCache{db: db, m: make(map[string]*sql.Stmt)}
}

func (c *stmtCache) get(ctx context.Context, query string) (*sql.Stmt, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.m[query]; ok {
		return st, nil
	}
	st, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	c.m[query] = st
	return st, nil
}

func (c *stmtCache) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	for q, st := range c.m {
		errs = append(errs, st.Close())
		delete(c.m, q)
	}
	return errors.Join(errs...)
}

// Read helpers on the read pool, with cached statements, run without a
// goroutine of their own (readconns.go).

func (s *Store) rQueryRow(ctx context.Context, query string, args ...any) sqlcore.Row {
	if err := ctx.Err(); err != nil {
		return errRow{err}
	}
	ctx = noCancel(ctx)
	st, err := s.rstmts.get(ctx, query)
	if err != nil {
		// Let Scan report the error, with the same text as an unprepared query.
		return s.rdb.QueryRowContext(ctx, query, args...)
	}
	return st.QueryRowContext(ctx, args...)
}

func (s *Store) rQuery(ctx context.Context, query string, args ...any) (*ctxRows, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	qctx := noCancel(ctx)
	st, err := s.rstmts.get(qctx, query)
	if err != nil {
		return nil, err
	}
	rs, err := st.QueryContext(qctx, args...)
	if err != nil {
		return nil, err
	}
	return &ctxRows{Rows: rs, ctx: ctx}, nil
}
