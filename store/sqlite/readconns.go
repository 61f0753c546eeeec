package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"sync"
)

// Reads and writes run without a goroutine of their own. database/sql and the driver
// each start one per read when given a context that can end: a
// transaction's watcher (sql.Tx, whatever the context), a watcher per
// sql.Rows of a transaction or of a cancellable context, and the
// driver's interrupter per statement of a cancellable context
// (modernc.org/sqlite interruptOnDone). A session's FETCH that took a
// snapshot and ran three statements started seven goroutines and woke
// each at its end; on two cores those wake-ups queued with the
// sessions' own, and they were 35 % of the scheduler latency of the
// fixed-rate IMAP mix (docs/benchmarks.md, "Full run, session 11").
//
// The writer's batches, too, each started the transaction's watcher and
// one per statement returning rows.
//
// So statements get the caller's context without its cancellation
// (noCancel), snapshots run on connections held outside database/sql's
// pool (readConns) and the writer on its pinned one (wconn), each with
// BEGIN and ROLLBACK or COMMIT of their own instead of a sql.Tx, and a
// read notices its context ending between rows (ctxRows):
// a single statement runs to its end, which for reads is bounded by the
// mailbox's size (the largest, ReadMetas of 100,000 messages, takes
// tens of milliseconds).

// noCancel is ctx without its cancellation (and deadline), for the
// driver and database/sql.
func noCancel(ctx context.Context) context.Context {
	if ctx.Done() == nil {
		return ctx
	}
	return context.WithoutCancel(ctx)
}

// ctxCheckRows is how many rows ctxRows reads between looks at its
// context.
const ctxCheckRows = 64

// ctxRows is sql.Rows that ends early, with ctx's error, once ctx ends.
type ctxRows struct {
	*sql.Rows
	ctx context.Context
	n   int
	err error
}

func (r *ctxRows) Next() bool {
	if r.err != nil {
		return false
	}
	if r.n++; r.n%ctxCheckRows == 0 {
		if r.err = r.ctx.Err(); r.err != nil {
			return false
		}
	}
	return r.Rows.Next()
}

func (r *ctxRows) Err() error {
	if r.err != nil {
		return r.err
	}
	return r.Rows.Err()
}

func (r *ctxRows) Close() { r.Rows.Close() }

// maxSnapshotConns bounds the connections readConns holds; they are
// taken from the read pool (rdb), whose cap is raised by as many, so that
// the other reads keep maxReadConns.
const maxSnapshotConns = 16

// readConns are read connections for snapshots, each with its statements
// prepared on it.
type readConns struct {
	db   *sql.DB
	idle chan *heldConn
	open chan struct{} // a token per connection held, in use or idle

	mu     sync.Mutex
	closed bool
}

// heldConn is a connection held outside database/sql's pool, with the
// statements prepared on it: a snapshot's, or the writer's (wconn).
// One goroutine at a time uses it.
type heldConn struct {
	conn  *sql.Conn
	stmts map[string]*sql.Stmt
}

func newHeldConn(conn *sql.Conn) *heldConn {
	return &heldConn{conn: conn, stmts: make(map[string]*sql.Stmt)}
}

func newReadConns(db *sql.DB) *readConns {
	return &readConns{db: db, idle: make(chan *heldConn, maxSnapshotConns), open: make(chan struct{}, maxSnapshotConns)}
}

// get returns an idle connection, opens one if fewer than
// maxSnapshotConns are held, or waits for one to be put back.
func (p *readConns) get(ctx context.Context) (*heldConn, error) {
	select {
	case c := <-p.idle:
		return c, nil
	default:
	}
	select {
	case c := <-p.idle:
		return c, nil
	case p.open <- struct{}{}:
		conn, err := p.db.Conn(ctx)
		if err != nil {
			<-p.open
			return nil, err
		}
		return newHeldConn(conn), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// put returns c for reuse, or closes it if broken is set or p is closed.
func (p *readConns) put(c *heldConn, broken bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if broken || p.closed {
		c.close(broken)
		<-p.open
		return
	}
	p.idle <- c // never blocks: at most maxSnapshotConns exist
}

// close closes the idle connections; those in use close when put back.
func (p *readConns) close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	var errs []error
	for {
		select {
		case c := <-p.idle:
			errs = append(errs, c.close(false))
			<-p.open
		default:
			return errors.Join(errs...)
		}
	}
}

// close closes c's statements and gives its connection back to
// database/sql, or with discard has database/sql drop it: it may still be
// inside a transaction. The statements go first: the driver's connection
// must be open to finalize them.
func (c *heldConn) close(discard bool) error {
	var errs []error
	for _, st := range c.stmts {
		errs = append(errs, st.Close())
	}
	if discard {
		c.conn.Raw(func(any) error { return driver.ErrBadConn })
	}
	return errors.Join(append(errs, c.conn.Close())...)
}

// exec runs a statement on c outside any statement cache.
func (c *heldConn) exec(query string) error {
	_, err := c.conn.ExecContext(context.Background(), query)
	return err
}

// stmt returns query prepared on c.
func (c *heldConn) stmt(query string) (*sql.Stmt, error) {
	if st, ok := c.stmts[query]; ok {
		return st, nil
	}
	st, err := c.conn.PrepareContext(context.Background(), query)
	if err != nil {
		return nil, err
	}
	c.stmts[query] = st
	return st, nil
}

// snapshot runs fn in a read transaction on a connection of p.
func (p *readConns) snapshot(ctx context.Context, fn func(*heldConn) error) error {
	c, err := p.get(ctx)
	if err != nil {
		return err
	}
	done := false
	defer func() {
		if !done { // fn panicked: the connection is in a transaction
			p.put(c, c.exec("ROLLBACK") != nil)
		}
	}()
	if err := c.exec("BEGIN"); err != nil {
		done = true
		p.put(c, true)
		return err
	}
	ferr := fn(c)
	rerr := c.exec("ROLLBACK")
	done = true
	p.put(c, rerr != nil)
	if ferr != nil {
		return ferr
	}
	return rerr
}
