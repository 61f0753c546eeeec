package postgres

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mailroom/mailroom/store"
	"github.com/mailroom/mailroom/store/internal/dircache"
	"github.com/mailroom/mailroom/store/internal/sqlcore"
)

// Group commit. Every write of a node goes to one writer goroutine, which
// runs the writes waiting at that moment in one transaction, each in its
// own savepoint, and commits them together: one WAL flush for the batch,
// and a mailbox row that several deliveries lock (Allocate) is locked
// once per batch instead of once per delivery with a flush in between.
// Each caller still gets its own outcome, and only after the commit.
//
// A write that fails in a batch is rolled back to its savepoint and does
// not touch the others. A write that failed for a reason that has nothing
// to do with it (deadlock, serialization failure, a lock held by another
// node for longer than batchLockTimeout, a batch whose commit the server
// refused) is run again alone, in its caller's goroutine, as before group
// commit (writeAlone).

// ErrClosed is returned by writes after Close.
var ErrClosed = errors.New("postgres: store closed")

// maxBatch caps how many writes share one transaction. Each runs in a
// subtransaction; PostgreSQL caches 64 subtransaction ids per backend
// and beyond that other sessions' snapshots get slower.
const maxBatch = 32

// batchLockTimeout bounds how long a write in the writer's transaction
// (a batch, or a batch of one) waits for a row lock. On one node the
// writer is alone, so a wait is for another transaction (another node's,
// or a write running alone): a long one (an expunge of a large mailbox)
// must not hold up every write of the node, two nodes' batches that lock
// two mailboxes in opposite order must not wait for the deadlock detector
// (deadlock_timeout, 1 s by default), and a wait the caller may cancel
// belongs in the caller's goroutine. The write that timed out runs again
// alone there.
const batchLockTimeout = "200ms"

// codeLockNotAvailable is lock_timeout's SQLSTATE.
const codeLockNotAvailable = "55P03"

// conn is where a write's statements go: the transaction of a write
// alone (pgx.Tx), or the writer's connection, on which runBatch sends
// BEGIN and COMMIT itself so that they share round trips with the
// batch's other statements.
type conn interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

var (
	_ conn = pgx.Tx(nil)
	_ conn = (*pgxpool.Conn)(nil)
)

// wtx is the transaction a write runs in.
type wtx struct {
	ctx context.Context
	tx  conn
	sqlcore.Pending

	// prefix: statements (a batch's BEGIN, a savepoint) to send before the
	// write's first statement, in the same round trip; nil once sent.
	prefix    []string
	prefixErr error // the prefix failed: the batch is broken

	pending bool // a blob was left to the indexer (MarkPending, DeliverOne)
}

// takePrefix returns the statements still to send first.
func (t *wtx) takePrefix() []string {
	p := t.prefix
	t.prefix = nil
	return p
}

func (t *wtx) exec(query string, args ...any) (pgconn.CommandTag, error) {
	p := t.takePrefix()
	if len(p) == 0 {
		return t.tx.Exec(t.ctx, query, args...)
	}
	br := t.sendWithPrefix(p, query, args)
	if err := t.readPrefix(br, len(p)); err != nil {
		return pgconn.CommandTag{}, err
	}
	tag, err := br.Exec()
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return tag, err
}

func (t *wtx) query(query string, args ...any) (pgx.Rows, error) {
	if p := t.takePrefix(); len(p) > 0 {
		br := t.tx.SendBatch(t.ctx, batchOf(p))
		err := t.readPrefix(br, len(p))
		if err == nil {
			err = br.Close()
		}
		if err != nil {
			return nil, err
		}
	}
	return t.tx.Query(t.ctx, query, args...)
}

func (t *wtx) queryRow(query string, args ...any) pgx.Row {
	p := t.takePrefix()
	if len(p) == 0 {
		return t.tx.QueryRow(t.ctx, query, args...)
	}
	return prefixedRow{t, t.sendWithPrefix(p, query, args), len(p)}
}

func batchOf(stmts []string) *pgx.Batch {
	b := &pgx.Batch{}
	for _, q := range stmts {
		b.Queue(q)
	}
	return b
}

func (t *wtx) sendWithPrefix(p []string, query string, args []any) pgx.BatchResults {
	b := batchOf(p)
	b.Queue(query, args...)
	return t.tx.SendBatch(t.ctx, b)
}

// readPrefix reads the results of the n prefix statements; on an error
// it closes br.
func (t *wtx) readPrefix(br pgx.BatchResults, n int) error {
	for range n {
		if _, err := br.Exec(); err != nil {
			br.Close()
			t.prefixErr = err
			return err
		}
	}
	return nil
}

// prefixedRow is the row of a statement sent after a prefix.
type prefixedRow struct {
	t  *wtx
	br pgx.BatchResults
	n  int
}

func (r prefixedRow) Scan(dest ...any) error {
	if err := r.t.readPrefix(r.br, r.n); err != nil {
		return err
	}
	err := r.br.QueryRow().Scan(dest...)
	if cerr := r.br.Close(); err == nil {
		err = cerr
	}
	return err
}

type job struct {
	ctx   context.Context
	fn    func(tx *wtx) error
	done  chan jobResult // buffered: the writer never waits for the caller
	flags bool           // writeFlags (core.go): may commit asynchronously
	// stmt: fn is this one statement (writeStatement), which a batch
	// sends together with its neighbours' (pipeline.go).
	stmt *sqlcore.Statement
}

type jobResult struct {
	err   error
	alone bool // run fn again in its own transaction (writeAlone)
}

// write runs fn in a transaction and commits it: in the writer's next
// batch, or alone if the batch could not take it (see above). fn must be
// repeatable (reset its results at the start): it may run more than once.
// The changes fn published are sent with pg_notify inside the transaction
// (PostgreSQL delivers them at COMMIT) and on the local feed after the
// commit.
func (s *Store) write(ctx context.Context, fn func(tx *wtx) error) error {
	return s.send(ctx, false, fn)
}

func (s *Store) send(ctx context.Context, flags bool, fn func(tx *wtx) error) error {
	return s.submit(&job{ctx: ctx, fn: fn, flags: flags})
}

// writeStatement runs st as a write (sqlcore.StatementFunc): in a batch,
// pipelined with the batch's other statements.
func (s *Store) writeStatement(ctx context.Context, st sqlcore.Statement) error {
	fn := func(tx *wtx) error { return st.Done(tx, tx.queryRow(st.Query, st.Args...)) }
	return s.submit(&job{ctx: ctx, fn: fn, stmt: &st})
}

// submit sends j to the writer and waits for its outcome.
func (s *Store) submit(j *job) error {
	ctx, fn := j.ctx, j.fn
	if err := ctx.Err(); err != nil {
		return err
	}
	start := time.Now()
	defer func() { s.m.StoreWrite(time.Since(start)) }()
	j.done = make(chan jobResult, 1)
	s.offered.Add(1)
	select {
	case s.jobs <- j:
		s.offered.Add(-1)
	case <-ctx.Done():
		s.offered.Add(-1)
		return ctx.Err()
	case <-s.quit:
		s.offered.Add(-1)
		return ErrClosed
	}
	// Once taken, wait for the outcome even if ctx ends: the caller must
	// not believe a committed change failed.
	r := <-j.done
	if !r.alone {
		return mapError(r.err)
	}
	s.logger.Debug("postgres: running write alone", "err", r.err)
	return s.writeAlone(ctx, fn)
}

// writeAlone runs fn in a transaction of its own, again after a deadlock
// or serialization failure.
func (s *Store) writeAlone(ctx context.Context, fn func(tx *wtx) error) error {
	for attempt := 1; ; attempt++ {
		t, err := s.writeOnce(ctx, fn)
		if err == nil {
			for _, c := range t.Changes {
				s.feed.Publish(c)
			}
			s.wakeIndexer(t.pending)
			return nil
		}
		if !retryable(err) || attempt == maxAttempts || ctx.Err() != nil {
			return mapError(err)
		}
		s.logger.Debug("postgres: retrying transaction", "attempt", attempt, "err", err)
		time.Sleep(time.Duration(rand.Int64N(int64(attempt) * int64(5*time.Millisecond))))
	}
}

func (s *Store) writeOnce(ctx context.Context, fn func(tx *wtx) error) (*wtx, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("postgres: begin: %w", err)
	}
	// Once COMMIT is sent, wait for its outcome even if ctx ends: the
	// caller must not believe a committed change failed.
	defer tx.Rollback(context.WithoutCancel(ctx))
	t := &wtx{ctx: ctx, tx: tx}
	// After the commit or the rollback (invalidating more than changed is
	// harmless; a commit whose outcome is unknown may have changed it).
	defer func() { s.dir.Invalidate(t.Dir...) }()
	if err := fn(t); err != nil {
		return nil, err
	}
	if err := s.notify(ctx, tx, t.Changes, t.Dir); err != nil {
		return nil, err
	}
	if err := tx.Commit(context.WithoutCancel(ctx)); err != nil {
		return nil, fmt.Errorf("postgres: commit: %w", err)
	}
	return t, nil
}

// wakeIndexer tells the indexer that a commit left blobs pending.
func (s *Store) wakeIndexer(pending bool) {
	if pending && s.indexer != nil {
		s.indexer.Wake()
	}
}

// notifySQL sends the other nodes one notification per changed mailbox,
// per metadata change and per directory key ($2, the payloads), in one
// statement.
const notifySQL = "SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p"

// notify sends the notifications of changes and dir (notifySQL), if any.
func (s *Store) notify(ctx context.Context, tx pgx.Tx, changes []store.Change, dir []dircache.Key) error {
	payloads := notifyPayloads(changes, dir)
	if len(payloads) == 0 {
		return nil
	}
	_, err := tx.Exec(ctx, notifySQL, s.channel, payloads)
	return err
}

// notifyPayloads returns the payloads of the changes (changePayloads)
// and of the directory keys (dirPayload), each once.
func notifyPayloads(changes []store.Change, dir []dircache.Key) []string {
	payloads := make([]string, 0, len(changes)+len(dir))
	add := func(p string) {
		if !slices.Contains(payloads, p) {
			payloads = append(payloads, p)
		}
	}
	for _, c := range changes {
		for _, p := range changePayloads(c) {
			add(p)
		}
	}
	for _, k := range dir {
		add(dirPayload(k))
	}
	return payloads
}

// writer collects the writes waiting at the moment into a batch and runs
// it, until Close.
func (s *Store) writer() {
	defer s.writerWG.Done()
	batch := make([]*job, 0, maxBatch)
	for {
		select {
		case j := <-s.jobs:
			batch = append(batch[:0], j)
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

// runBatch runs the jobs in one transaction and answers each. Statements
// run without the callers' contexts: cancelling one would break the
// connection under the whole batch (a job's context is checked before it
// starts). BEGIN goes with the first job's first statement and COMMIT
// with the notifications, and the one-statement jobs (deliveries) next to
// each other go in one round trip (pipeline.go), so a batch of n
// deliveries takes two round trips to the server: a round trip is a
// wake-up of the server process and of the writer, which a busy machine
// pays for in scheduling delay, and the whole node's writes wait for it.
func (s *Store) runBatch(batch []*job) {
	s.m.StoreBatch(len(batch))
	r := &batchRun{
		s:       s,
		ctx:     context.Background(),
		batch:   batch,
		results: make([]jobResult, len(batch)),
		txs:     make([]*wtx, len(batch)),
		saved:   len(batch) > 1,
	}
	c, err := s.pool.Acquire(r.ctx)
	if err != nil {
		// The pool is closed or the database unreachable: each caller
		// finds out for itself (and a retry may reach it).
		r.fail(fmt.Errorf("postgres: begin: %w", err), true)
		return
	}
	r.c = c
	defer func() {
		// Release closes a connection left in a transaction (the
		// ROLLBACK failed): the next batch gets a clean one.
		if c.Conn().PgConn().TxStatus() != 'I' {
			c.Exec(r.ctx, "ROLLBACK")
		}
		c.Release()
	}()
	r.begin = []string{"BEGIN", "SET LOCAL lock_timeout = '" + batchLockTimeout + "'"}
	if s.asyncCommit(batch) {
		r.begin = append(r.begin, "SET LOCAL synchronous_commit = off")
	}
	for i := range batch {
		r.txs[i] = &wtx{ctx: r.ctx, tx: c}
	}
	for i := 0; i < len(batch); {
		if batch[i].stmt != nil {
			n := 1
			for i+n < len(batch) && batch[i+n].stmt != nil {
				n++
			}
			if !r.pipeline(i, i+n) {
				return
			}
			i += n
			continue
		}
		if !r.runJob(i) {
			return
		}
		i++
	}
	if r.began {
		if err := s.commitBatch(r.ctx, c, r.ran, r.dir); err != nil {
			// The server refused the commit (or the notifications
			// before it): nothing committed, every job runs again
			// alone. A lost connection leaves the outcome unknown:
			// running a job again could apply it twice.
			var pe *pgconn.PgError
			refused := errors.As(err, &pe) || errors.Is(err, pgx.ErrTxCommitRollback)
			s.logger.Error("postgres: commit failed", "err", err, "batch", len(batch), "rerun", refused)
			r.fail(fmt.Errorf("postgres: commit: %w", err), refused)
			return
		}
	}
	r.answer()
}

// batchRun is the state of runBatch.
type batchRun struct {
	s       *Store
	ctx     context.Context
	c       *pgxpool.Conn
	batch   []*job
	results []jobResult
	txs     []*wtx
	saved   bool     // each job runs in a savepoint "job" (a batch of several)
	begin   []string // BEGIN and the transaction's settings
	ran     []store.Change
	dir     []dircache.Key // directory keys of the jobs that ran (ran)
	open    bool           // a savepoint "job" exists
	began   bool           // BEGIN was sent
}

// prefix returns the statements to send before a job's first one: BEGIN
// if not sent yet, and its savepoint.
func (r *batchRun) prefix() []string {
	var p []string
	if !r.began {
		p = append(p, r.begin...)
	}
	if r.saved {
		if r.open {
			p = append(p, "RELEASE SAVEPOINT job")
		}
		p = append(p, "SAVEPOINT job")
	}
	return p
}

// sentPrefix records that a prefix was sent.
func (r *batchRun) sentPrefix() {
	r.began = true
	r.open = r.saved
}

// answer sends every job its result; ok jobs publish their changes first,
// so a caller that reads the mailbox after its write returns and watchers
// see the same order. The directory keys of the jobs that ran are
// dropped from the node's cache first: the batch committed, or failed
// (harmless), or its outcome is unknown.
func (r *batchRun) answer() {
	r.s.dir.Invalidate(r.dir...)
	for i, j := range r.batch {
		if r.results[i].err == nil && !r.results[i].alone {
			for _, c := range r.txs[i].Changes {
				r.s.feed.Publish(c)
			}
			r.s.wakeIndexer(r.txs[i].pending)
		}
		j.done <- r.results[i]
	}
}

// fail answers every job that has not failed on its own with err: alone
// if nothing can have committed, so each runs again by itself.
func (r *batchRun) fail(err error, alone bool) {
	for i := range r.results {
		if r.results[i].err == nil && !r.results[i].alone {
			r.results[i] = jobResult{err: err, alone: alone}
		}
	}
	r.answer()
}

// runJob runs job i's fn. It returns false if the batch ended (and was
// answered).
func (r *batchRun) runJob(i int) bool {
	j, tx := r.batch[i], r.txs[i]
	if err := j.ctx.Err(); err != nil {
		r.results[i].err = err
		return true
	}
	// Sent with the job's first statement: a job that sends none leaves
	// no savepoint behind, and a batch that sends none no transaction.
	tx.prefix = r.prefix()
	err := j.fn(tx)
	if tx.prefixErr != nil {
		r.fail(tx.prefixErr, true)
		return false
	}
	sent := tx.prefix == nil
	if sent {
		r.sentPrefix()
	}
	if err == nil {
		r.ran = append(r.ran, tx.Changes...)
		r.dir = append(r.dir, tx.Dir...)
		return true
	}
	return r.failed(i, err, sent)
}

// failed records job i's error and undoes what it did (sent: it sent
// statements). It returns false if the batch ended (and was answered).
func (r *batchRun) failed(i int, err error, sent bool) bool {
	r.results[i] = jobResult{err: err, alone: retryable(err) || lockTimeout(err)}
	if !r.saved {
		r.answer()
		return false
	}
	if !sent {
		return true // nothing to undo
	}
	if _, rerr := r.c.Exec(r.ctx, "ROLLBACK TO SAVEPOINT job"); rerr != nil {
		r.s.logger.Error("postgres: rollback to savepoint", "err", rerr)
		r.fail(rerr, true)
		return false
	}
	return true
}

// commitBatch sends the notifications of changes and dir and COMMIT in
// one round trip.
func (s *Store) commitBatch(ctx context.Context, c *pgxpool.Conn, changes []store.Change, dir []dircache.Key) error {
	b := &pgx.Batch{}
	if payloads := notifyPayloads(changes, dir); len(payloads) > 0 {
		b.Queue(notifySQL, s.channel, payloads)
	}
	b.Queue("COMMIT")
	br := c.SendBatch(ctx, b)
	var tag pgconn.CommandTag
	var err error
	for range b.Len() {
		if tag, err = br.Exec(); err != nil {
			break
		}
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err == nil && tag.String() == "ROLLBACK" {
		// COMMIT of a failed transaction (pgx.Tx.Commit says the same).
		err = pgx.ErrTxCommitRollback
	}
	return err
}

func lockTimeout(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == codeLockNotAvailable
}
