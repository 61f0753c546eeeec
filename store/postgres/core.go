package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/mailroom/mailroom/store"
	"github.com/mailroom/mailroom/store/internal/sqlcore"
)

// dialect is PostgreSQL's sqlcore.Dialect: lists are bigint[] parameters,
// and rows are locked because other nodes write at the same time.
type dialect struct{}

var _ sqlcore.Dialect = dialect{}

func (dialect) In(col string, n int) string { return col + " = ANY($" + strconv.Itoa(n) + ")" }

func (dialect) Ordinal(n int, typ string) string {
	return "unnest($" + strconv.Itoa(n) + "::" + typ + "[]) WITH ORDINALITY AS t(u, o)"
}

func (dialect) UIDs(uids []uint32) any { return uidArray(uids) }

func (dialect) IDs(ids []int64) any { return ids }

func (dialect) Texts(list []string) any { return list }

func (dialect) RowLock(mode string) string { return " FOR " + mode }

var _ sqlcore.OneStatementDeliverer = dialect{}

// deliverOneSQL is sqlcore's deliverTx for one target in one round trip:
// Allocate's UPDATE (which locks the mailbox row), InsertBlob (keep the
// columns the same) with its text_pending row (MarkPending) and
// InsertMessageSQL (keep the columns the same). %s selects the mailbox by $1 (account) and $2.
const deliverOneSQL = `WITH mb AS (
	UPDATE mailboxes SET uidnext = uidnext + 1, highestmodseq = highestmodseq + 1
	WHERE account_id = $1 AND %s
	RETURNING id, uidvalidity, uidnext - 1 AS uid, highestmodseq AS modseq
), b AS (
	INSERT INTO blobs(raw, part, size, header, tree) SELECT $3, '', $5, $6, $4 FROM mb RETURNING id
), t AS (
	INSERT INTO text_pending(blob_id) SELECT id FROM b
), m AS (
	INSERT INTO messages(mailbox_id, uid, modseq, sysflags, keywords, internal_date, tz_offset, size, wire_size, blob_id, save_date)
	SELECT mb.id, mb.uid, mb.modseq, $7, $8, $9, $10, $5, $11, b.id, $12 FROM mb, b
)
SELECT id, uidvalidity, uid FROM mb`

var (
	deliverInboxSQL = fmt.Sprintf(deliverOneSQL, "name = $2")
	deliverToSQL    = fmt.Sprintf(deliverOneSQL, "id = $2")
)

func (dialect) DeliverOne(t store.Target, p *sqlcore.Prepared, saveDate int64) (string, []any) {
	query, mailbox := deliverToSQL, any(t.MailboxID)
	if t.MailboxID == 0 {
		query, mailbox = deliverInboxSQL, store.Inbox
	}
	return query, []any{t.AccountID, mailbox, p.Raw, p.Tree, len(p.Raw), p.Header,
		p.Sys, p.Keywords, p.Date, p.TZ, p.WireSize, saveDate}
}

func (dialect) ScanDelivered(tx sqlcore.Tx, t store.Target, row sqlcore.Row) (store.Delivered, bool, error) {
	d := store.Delivered{AccountID: t.AccountID}
	var uidValidity, uid int64
	err := row.Scan(&d.MailboxID, &uidValidity, &uid)
	if errors.Is(err, pgx.ErrNoRows) {
		return d, false, nil
	}
	tx.(*wtx).pending = err == nil
	d.UIDValidity, d.UID = uint32(uidValidity), uint32(uid)
	return d, err == nil, err
}

func (dialect) InsertBlob(tx sqlcore.Tx, p *sqlcore.Prepared) (int64, error) {
	var id int64
	err := tx.QueryRow("INSERT INTO blobs(raw, part, size, header, tree) VALUES ($1, '', $2, $3, $4) RETURNING id", p.Raw, len(p.Raw), p.Header, p.Tree).Scan(&id)
	return id, err
}

// SaveTree replaces a missing tree or one that could not be used (another
// node building the same one meanwhile writes the same bytes).
func (dialect) SaveTree(tx sqlcore.Tx, blobID int64, tree []byte) error {
	_, err := tx.Exec("UPDATE blobs SET tree = $2 WHERE id = $1", blobID, tree)
	return err
}

// TreesFrom reads blobs.tree, which is TOASTed apart from raw when large.
func (dialect) TreesFrom() string {
	return "b.tree FROM messages m JOIN blobs b ON b.id = m.blob_id"
}

// ClaimQueue: FOR UPDATE SKIP LOCKED makes a concurrent claim pass over
// the rows this one locked, and a row another claim updated and committed
// since this statement's snapshot is re-checked against its new lease, so
// two claims never return the same item.
func (dialect) ClaimQueue() string {
	return `WITH c AS (
	SELECT q.id FROM queue q
	WHERE ` + sqlcore.ClaimableWhere + `
	ORDER BY q.id LIMIT $5
	FOR UPDATE SKIP LOCKED
)
UPDATE queue q SET lease_owner = $1, lease_until = $2 FROM c WHERE q.id = c.id
RETURNING ` + sqlcore.QueueItemCols
}

func (dialect) IsNoRows(err error) bool { return errors.Is(err, pgx.ErrNoRows) }

// Exec, Query and QueryRow (and the embedded sqlcore.Pending) make *wtx
// a sqlcore.Tx.

func (t *wtx) Exec(query string, args ...any) (int64, error) {
	tag, err := t.exec(query, args...)
	return tag.RowsAffected(), err
}

func (t *wtx) Query(query string, args ...any) (sqlcore.Rows, error) { return t.query(query, args...) }

func (t *wtx) QueryRow(query string, args ...any) sqlcore.Row { return t.queryRow(query, args...) }

// readDB is the pool as a sqlcore.DB.
type readDB struct{ s *Store }

func (r readDB) Query(ctx context.Context, query string, args ...any) (sqlcore.Rows, error) {
	return r.s.pool.Query(ctx, query, args...)
}

func (r readDB) QueryRow(ctx context.Context, query string, args ...any) sqlcore.Row {
	return r.s.pool.QueryRow(ctx, query, args...)
}

func (s *Store) coreWrite(ctx context.Context, fn func(sqlcore.Tx) error) error {
	return s.write(ctx, func(tx *wtx) error { return fn(tx) })
}

// coreWriteFlags writes a change a power loss may undo (flags, caches;
// see sqlcore.WriteFunc): in a batch of only such writes, COMMIT returns
// without waiting for the WAL flush (synchronous_commit = off), unless
// SetSyncFlagChanges(true). PostgreSQL flushes its WAL in order, so a
// crash of the database server loses at most the last such commits
// (wal_writer_delay, 200 ms by default, at most three times that), never
// one before a synchronous commit. A write that runs again alone
// (writeAlone) commits synchronously.
func (s *Store) coreWriteFlags(ctx context.Context, fn func(sqlcore.Tx) error) error {
	return s.send(ctx, true, func(tx *wtx) error { return fn(tx) })
}

// SetSyncFlagChanges makes flag changes commit synchronously (true) or
// not (false, the default) from the next batch on.
func (s *Store) SetSyncFlagChanges(on bool) { s.syncFlags.Store(on) }

// asyncCommit reports whether batch may commit with synchronous_commit
// off: every job is a flag write, and SetSyncFlagChanges is off.
func (s *Store) asyncCommit(batch []*job) bool {
	return !s.syncFlags.Load() && !slices.ContainsFunc(batch, func(j *job) bool { return !j.flags })
}

// InsertMailbox takes the UIDVALIDITY from uidvalidity_seq.
func (dialect) InsertMailbox(tx sqlcore.Tx, accountID int64, name, specialUse string, _ int64) (store.Mailbox, error) {
	var m store.Mailbox
	err := tx.QueryRow(`INSERT INTO mailboxes(account_id, name, special_use, uidvalidity, uidnext, highestmodseq)
		VALUES ($1, $2, $3, nextval('uidvalidity_seq'), 1, 1) RETURNING `+sqlcore.MailboxCols, accountID, name, specialUse).
		Scan(&m.ID, &m.AccountID, &m.Name, &m.SpecialUse, &m.UIDValidity, &m.UIDNext, &m.HighestModSeq)
	return m, err
}

// RaiseUIDValidity moves uidvalidity_seq to at least v. Sequences are not
// transactional: a rolled-back transaction leaves it moved, which only
// skips values.
func (dialect) RaiseUIDValidity(tx sqlcore.Tx, v uint32) error {
	_, err := tx.Exec("SELECT setval('uidvalidity_seq', $1::bigint) WHERE $1::bigint > (SELECT last_value FROM uidvalidity_seq)", int64(v))
	return err
}

// HeadersFrom reads blobs.header, which is TOASTed apart from raw; a blob
// inserted by an older node has none, and its header is cut from raw
// (COALESCE evaluates that only then).
func (dialect) HeadersFrom() string {
	return `coalesce(b.header, substring(b.raw from 1 for coalesce(substring(b.part from '^[{]"hs":[0-9]+,"bs":([0-9]+)')::bigint, 0)::integer))
		FROM messages m JOIN blobs b ON b.id = m.blob_id`
}

// Snapshot runs fn in a REPEATABLE READ, read-only transaction.
func (r readDB) Snapshot(ctx context.Context, fn func(sqlcore.Reader) error) error {
	return pgx.BeginTxFunc(ctx, r.s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		return fn(readTx{ctx, tx})
	})
}

// readTx is a read transaction as a sqlcore.Reader.
type readTx struct {
	ctx context.Context
	tx  pgx.Tx
}

func (t readTx) Query(query string, args ...any) (sqlcore.Rows, error) {
	return t.tx.Query(t.ctx, query, args...)
}

func (t readTx) QueryRow(query string, args ...any) sqlcore.Row {
	return t.tx.QueryRow(t.ctx, query, args...)
}

// The full-text index is a table of already folded text with pg_trgm GIN
// indexes (migration 13), which LIKE '%needle%' uses; LIKE's recheck makes
// the match exact. A delivery leaves the entry to the background indexer
// (sqlcore.TextIndexer, migration 21): the trigram extraction and GIN
// inserts were a fifth of the server's CPU on the delivery path.

func (dialect) IndexText(tx sqlcore.Tx, blobID int64, hdr, body string) error {
	return writeTexts(tx, []sqlcore.TextEntry{{BlobID: blobID, Hdr: hdr, Body: body}})
}

var _ sqlcore.PendingText = dialect{}

// MarkPending leaves the blob's entry to the indexer.
func (dialect) MarkPending(tx sqlcore.Tx, blobID int64) error {
	if _, err := tx.Exec("INSERT INTO text_pending(blob_id) VALUES ($1)", blobID); err != nil {
		return err
	}
	tx.(*wtx).pending = true
	return nil
}

// ClaimPending: the nodes' indexers each take rows no other one holds, so
// a blob is read back and folded once (two nodes reading the same oldest
// rows did it up to three times over during an ingest, one of them then
// waiting on the other's DELETE).
func (dialect) ClaimPending() string { return "FOR UPDATE OF p SKIP LOCKED" }

// WriteTexts writes the entries in one statement.
func (dialect) WriteTexts(tx sqlcore.Tx, entries []sqlcore.TextEntry) error {
	return writeTexts(tx, entries)
}

// writeTexts adds the entries of existing blobs that have none yet, in
// blob id order (two nodes' indexers writing the same entries then wait
// for each other in the same order, not in a deadlock).
func writeTexts(tx sqlcore.Tx, entries []sqlcore.TextEntry) error {
	if len(entries) == 0 {
		return nil
	}
	entries = slices.SortedFunc(slices.Values(entries), func(a, b sqlcore.TextEntry) int { return cmp.Compare(a.BlobID, b.BlobID) })
	ids := make([]int64, len(entries))
	hdrs := make([]string, len(entries))
	bodies := make([]string, len(entries))
	for i, e := range entries {
		ids[i], hdrs[i], bodies[i] = e.BlobID, e.Hdr, e.Body
	}
	_, err := tx.Exec(`INSERT INTO blob_text(blob_id, hdr, body)
		SELECT e.id, e.hdr, e.body FROM unnest($1::bigint[], $2::text[], $3::text[]) AS e(id, hdr, body)
		WHERE EXISTS (SELECT 1 FROM blobs WHERE id = e.id) ORDER BY e.id ON CONFLICT (blob_id) DO NOTHING`, ids, hdrs, bodies)
	return err
}

func (dialect) TextIndexed(col string) string {
	return "EXISTS (SELECT 1 FROM blob_text WHERE blob_id = " + col + ")"
}

func (dialect) TextMatch(bodyOnly bool) string {
	if bodyOnly {
		return "SELECT blob_id AS id FROM blob_text WHERE body LIKE $2"
	}
	return "SELECT blob_id AS id FROM blob_text WHERE hdr LIKE $2 OR body LIKE $2"
}

// TextExact: LIKE rechecks every row the trigram index names, and the
// pattern escapes its wildcards.
func (dialect) TextExact(string) bool { return true }

// TextPattern returns a LIKE pattern (escape character \) that matches
// text containing the needle.
func (dialect) TextPattern(folded string, bodyOnly bool) any {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(folded) + "%"
}
