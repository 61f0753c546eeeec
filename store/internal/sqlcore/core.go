// Package sqlcore is the SQL both stores share: the store.Store methods
// whose logic does not depend on the database (UID and modseq allocation,
// tombstones, flags, copy/move, sieve scripts, ...) are written once here,
// over a small Dialect and over the transaction and read seams the
// backends provide. A backend keeps what truly differs: opening the
// database and its pool, how a write transaction runs (SQLite's single
// group-committing writer, PostgreSQL's retried transactions), migrations,
// change notification and the dialect.
//
// Queries use PostgreSQL's $1, $2, ... placeholders; SQLite (modernc)
// binds $N to the N-th argument too.
package sqlcore

import (
	"context"

	"github.com/mailroom/mailroom/store"
	"github.com/mailroom/mailroom/store/internal/dircache"
)

// Row is one result row (*sql.Row, pgx.Row).
type Row interface {
	Scan(dest ...any) error
}

// Rows is a result set (pgx.Rows; *sql.Rows through a backend's adapter).
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close()
}

// Reader runs statements inside a transaction, under the context the
// backend chose for it.
type Reader interface {
	Query(query string, args ...any) (Rows, error)
	QueryRow(query string, args ...any) Row
}

// Tx is the write transaction a write function runs in.
type Tx interface {
	Reader
	// Exec runs a statement and returns how many rows it changed.
	Exec(query string, args ...any) (rowsAffected int64, err error)
	// Publish records a change of a mailbox to announce once the
	// transaction has committed.
	Publish(accountID, mailboxID int64)
	// PublishMetadata records a change of METADATA entries names of
	// a mailbox (0: the server's) to announce once committed.
	PublishMetadata(accountID, mailboxID int64, names []string)
	// Invalidate records that the transaction changes what the directory
	// lookups of keys answer (a backend that caches them drops them once
	// committed, and tells the other nodes).
	Invalidate(keys ...dircache.Key)
}

// DB is the read side of a store: statements outside a write.
type DB interface {
	Query(ctx context.Context, query string, args ...any) (Rows, error)
	QueryRow(ctx context.Context, query string, args ...any) Row
	// Snapshot runs fn in a read-only transaction whose reads all see one
	// consistent state of the database.
	Snapshot(ctx context.Context, fn func(Reader) error) error
}

// WriteFunc runs fn in a write transaction and commits it. fn may run more
// than once (PostgreSQL retries serialization failures), so it must reset
// its results at its start.
type WriteFunc func(ctx context.Context, fn func(Tx) error) error

// Statement is a write of one statement that returns at most one row,
// and writes nothing when it returns none. Done reads the row (Scan
// returns the statement's error, or the dialect's no-rows error) in the
// transaction that ran it; an error from Done rolls the write back. Done
// may run more than once, like a WriteFunc's fn.
type Statement struct {
	Query string
	Args  []any
	Done  func(tx Tx, row Row) error
}

// StatementFunc runs st as a write of its own. A backend may send it
// together with other writes' statements (PostgreSQL pipelines a batch's
// statements in one round trip), each still failing alone.
type StatementFunc func(ctx context.Context, st Statement) error

// The writes of flag changes (UpdateFlags: IMAP STORE, FETCH's implicit
// \Seen, an import's flags) and of caches (saveTrees) go through Core's
// flag write, which a backend may commit without waiting for a flush to
// disk (SetFlagWrite), as Dovecot does with its index: a power loss may
// undo the last of them, never a message, and never one without the
// writes committed before it (both databases flush their log in order).

// Dialect is what differs in the SQL of the two databases.
type Dialect interface {
	// In returns a condition that col is one of the ids of the list
	// bound at parameter $n (see List).
	In(col string, n int) string
	// Ordinal returns a table expression with columns u (the values of
	// the list bound at parameter $n, in order, of SQL type typ: "bigint"
	// or "text") and o (their 1-based position).
	Ordinal(n int, typ string) string
	// UIDs, IDs and Texts convert a list into the value bound for In and
	// Ordinal.
	UIDs(uids []uint32) any
	IDs(ids []int64) any
	Texts(s []string) any
	// RowLock returns the clause that locks the selected rows until the
	// transaction ends (mode: "UPDATE", "SHARE", "NO KEY UPDATE"), or ""
	// where writes are serialized anyway (SQLite has one writer).
	RowLock(mode string) string
	// InsertMailbox creates a mailbox with a new UIDVALIDITY, unique
	// over the life of the database (nowNano: the time of the write).
	InsertMailbox(tx Tx, accountID int64, name, specialUse string, nowNano int64) (store.Mailbox, error)
	// RaiseUIDValidity moves the UIDVALIDITY counter to at least v, so
	// that InsertMailbox never hands out v again (SetUIDValidity).
	RaiseUIDValidity(tx Tx, v uint32) error
	// InsertBlob stores a message's bytes, part tree and header once and
	// returns the blob's id.
	InsertBlob(tx Tx, p *Prepared) (int64, error)
	// IndexText adds the full-text index entry of blob blobID (textindex.go)
	// as part of tx, unless the blob is gone by the time tx commits or
	// already has an entry. SQLite defers it to the end of the batch
	// transaction (an FTS5 table flushes at every savepoint).
	IndexText(tx Tx, blobID int64, hdr, body string) error
	// TextIndexed returns a condition that the blob whose id is col has
	// an index entry.
	TextIndexed(col string) string
	// TextMatch returns a SELECT of the ids (column id) of the blobs whose entry may
	// contain the needle bound at $2 as TextPattern makes it: in the body
	// text only, or in either text. It may return more (see TextExact),
	// never fewer.
	TextMatch(bodyOnly bool) string
	// TextExact reports whether TextMatch returns exactly the blobs whose
	// entry contains the folded needle, no more: then SearchText's index
	// hits need no check.
	TextExact(folded string) bool
	// TextPattern makes the argument of TextMatch from a folded needle of
	// at least three characters.
	TextPattern(folded string, bodyOnly bool) any
	// HeadersFrom returns the header column and the FROM clause, on
	// messages m, that ListHeaders reads.
	HeadersFrom() string
	// TreesFrom returns the part tree column (NULL for a blob stored
	// before trees were) and the FROM clause, on messages m, that
	// ListParts and MessagePart read.
	TreesFrom() string
	// SaveTree stores the part tree of blob blobID, built when it was
	// read without a usable one, unless the blob is gone.
	SaveTree(tx Tx, blobID int64, tree []byte) error
	// ClaimQueue returns the statement that leases the first $5 items of
	// queue q that match ClaimableWhere and returns them (QueueItemCols),
	// such that two concurrent claims never return the same item.
	ClaimQueue() string
	// IsNoRows reports whether err says a single-row query found nothing.
	IsNoRows(err error) bool
}

// Core implements the shared store.Store methods. A backend embeds it.
type Core struct {
	d       Dialect
	pending PendingText // d, when it indexes text in the background; else nil
	db      DB
	write   WriteFunc
	flags   WriteFunc // flag changes and caches; write unless SetFlagWrite
	stmt    StatementFunc
	now     func() (unixNano int64)
}

// New returns a Core that reads through db, writes through write and
// takes the time from now.
func New(d Dialect, db DB, write WriteFunc, now func() int64) *Core {
	c := &Core{d: d, db: db, write: write, flags: write, now: now}
	c.stmt = func(ctx context.Context, st Statement) error {
		return write(ctx, func(tx Tx) error { return st.Done(tx, tx.QueryRow(st.Query, st.Args...)) })
	}
	c.pending, _ = d.(PendingText)
	return c
}

// SetStatementWrite makes w the write of a Statement (by default, write
// runs it). Call it before the Core is used.
func (c *Core) SetStatementWrite(w StatementFunc) { c.stmt = w }

// SetFlagWrite makes w the write of flag changes and caches (see
// WriteFunc). Call it before the Core is used.
func (c *Core) SetFlagWrite(w WriteFunc) { c.flags = w }
