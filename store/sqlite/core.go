package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/mailroom/mailroom/store"
	"github.com/mailroom/mailroom/store/internal/sqlcore"
)

// dialect is SQLite's sqlcore.Dialect: lists are JSON arrays read with
// json_each, and rows need no locks because one writer runs at a time.
type dialect struct{}

var _ sqlcore.Dialect = dialect{}

func (dialect) In(col string, n int) string {
	return col + " IN (SELECT value FROM json_each($" + strconv.Itoa(n) + "))"
}

// Ordinal numbers the list from 1: json_each's key is the array index.
func (dialect) Ordinal(n int, _ string) string {
	return "(SELECT value AS u, key + 1 AS o FROM json_each($" + strconv.Itoa(n) + "))"
}

func (dialect) UIDs(uids []uint32) any { return uidsJSON(uids) }

func (dialect) IDs(ids []int64) any {
	b := make([]byte, 0, len(ids)*7+2)
	b = append(b, '[')
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, id, 10)
	}
	return string(append(b, ']'))
}

func (dialect) Texts(list []string) any {
	b, _ := json.Marshal(list) // strings always encode
	return string(b)
}

func (dialect) RowLock(string) string { return "" }

// InsertBlob keeps the header and the part tree in tables of their own,
// so that ListHeaders and ListParts read them without walking the
// overflow pages of the raw message.
func (dialect) InsertBlob(tx sqlcore.Tx, p *sqlcore.Prepared) (int64, error) {
	var id int64
	if err := tx.QueryRow("INSERT INTO blobs(raw, part, size) VALUES ($1, '', $2) RETURNING id", p.Raw, len(p.Raw)).Scan(&id); err != nil {
		return 0, err
	}
	if _, err := tx.Exec("INSERT INTO headers(blob_id, header) VALUES ($1, $2)", id, p.Header); err != nil {
		return 0, err
	}
	_, err := tx.Exec("INSERT INTO trees(blob_id, tree) VALUES ($1, $2)", id, p.Tree)
	return id, err
}

// SaveTree writes only for a blob that still exists (a foreign key
// failure is no conflict OR REPLACE would resolve), and replaces a tree
// that could not be used.
func (dialect) SaveTree(tx sqlcore.Tx, blobID int64, tree []byte) error {
	_, err := tx.Exec("INSERT OR REPLACE INTO trees(blob_id, tree) SELECT id, $2 FROM blobs WHERE id = $1", blobID, tree)
	return err
}

// ClaimQueue needs no row locks: the single writer makes the select and
// the update one atomic step.
func (dialect) ClaimQueue() string {
	return `UPDATE queue SET lease_owner = $1, lease_until = $2
		WHERE id IN (SELECT q.id FROM queue q WHERE ` + sqlcore.ClaimableWhere + ` ORDER BY q.id LIMIT $5)
		RETURNING id, sender, created, size, lease_owner, lease_until`
}

func (dialect) IsNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

// rows adapts *sql.Rows to sqlcore.Rows.
type rows struct{ *sql.Rows }

func (r rows) Close() { r.Rows.Close() }

// Exec, Query and QueryRow (and the embedded sqlcore.Pending) make *wtx
// a sqlcore.Tx.

func (t *wtx) Exec(query string, args ...any) (int64, error) {
	res, err := t.exec(query, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (t *wtx) Query(query string, args ...any) (sqlcore.Rows, error) {
	r, err := t.query(query, args...)
	if err != nil {
		return nil, err
	}
	return rows{r}, nil
}

func (t *wtx) QueryRow(query string, args ...any) sqlcore.Row { return t.queryRow(query, args...) }

// readDB is the read pool with cached statements, as a sqlcore.DB.
type readDB struct{ s *Store }

func (r readDB) Query(ctx context.Context, query string, args ...any) (sqlcore.Rows, error) {
	rs, err := r.s.rQuery(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return rs, nil
}

func (r readDB) QueryRow(ctx context.Context, query string, args ...any) sqlcore.Row {
	return r.s.rQueryRow(ctx, query, args...)
}

func (s *Store) coreWrite(ctx context.Context, fn func(sqlcore.Tx) error) error {
	return s.write(ctx, func(tx *wtx) error { return fn(tx) })
}

func (s *Store) coreWriteFlags(ctx context.Context, fn func(sqlcore.Tx) error) error {
	return s.writeFlags(ctx, func(tx *wtx) error { return fn(tx) })
}

// InsertMailbox takes the next value of the UIDVALIDITY counter in
// settings, which is at least the current unix time in seconds: values
// are unique and increasing over the life of the database, even across
// deletions.
func (dialect) InsertMailbox(tx sqlcore.Tx, accountID int64, name, specialUse string, nowNano int64) (store.Mailbox, error) {
	var v uint32
	if err := tx.QueryRow("UPDATE settings SET value = max(value + 1, $1) WHERE key = 'uidvalidity' RETURNING value", nowNano/1e9).Scan(&v); err != nil {
		return store.Mailbox{}, err
	}
	m := store.Mailbox{AccountID: accountID, Name: name, SpecialUse: specialUse, UIDValidity: v, UIDNext: 1, HighestModSeq: 1}
	err := tx.QueryRow("INSERT INTO mailboxes(account_id, name, special_use, uidvalidity, uidnext, highestmodseq) VALUES ($1, $2, $3, $4, 1, 1) RETURNING id",
		accountID, name, specialUse, v).Scan(&m.ID)
	return m, err
}

// RaiseUIDValidity moves the settings counter to at least v.
func (dialect) RaiseUIDValidity(tx sqlcore.Tx, v uint32) error {
	_, err := tx.Exec("UPDATE settings SET value = max(value, $1) WHERE key = 'uidvalidity'", int64(v))
	return err
}

// HeadersFrom reads the headers table, without touching blobs, whose raw
// column spans overflow pages.
func (dialect) HeadersFrom() string {
	return "h.header FROM messages m JOIN headers h ON h.blob_id = m.blob_id"
}

// TreesFrom reads the trees table, without touching blobs, whose raw
// column spans overflow pages.
func (dialect) TreesFrom() string {
	return "t.tree FROM messages m LEFT JOIN trees t ON t.blob_id = m.blob_id"
}

// Snapshot runs fn in a read transaction on a connection of the
// snapshot pool (readconns.go). Every session asks after each command
// whether anything changed (Changes): its statements are prepared once
// per connection (preparing cost as much as running them;
// BenchmarkChangesNothingNew).
func (r readDB) Snapshot(ctx context.Context, fn func(sqlcore.Reader) error) error {
	return r.s.snaps.snapshot(ctx, func(c *heldConn) error {
		return fn(readTx{ctx, noCancel(ctx), c})
	})
}

// readTx is a read transaction as a sqlcore.Reader: statements run under
// qctx, ctx's values without its cancellation, and rows end once ctx
// does.
type readTx struct {
	ctx, qctx context.Context
	c         *heldConn
}

func (t readTx) Query(query string, args ...any) (sqlcore.Rows, error) {
	if err := t.ctx.Err(); err != nil {
		return nil, err
	}
	st, err := t.c.stmt(query)
	if err != nil {
		return nil, err
	}
	rs, err := st.QueryContext(t.qctx, args...)
	if err != nil {
		return nil, err
	}
	return &ctxRows{Rows: rs, ctx: t.ctx}, nil
}

func (t readTx) QueryRow(query string, args ...any) sqlcore.Row {
	if err := t.ctx.Err(); err != nil {
		return errRow{err}
	}
	st, err := t.c.stmt(query)
	if err != nil {
		return errRow{err}
	}
	return st.QueryRowContext(t.qctx, args...)
}

// errRow is a sqlcore.Row whose Scan reports err.
type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// The full-text index is a contentless FTS5 table with the trigram
// tokenizer over already folded text (migration 15, detail=full since
// 23). A needle of up to maxPhraseTrigrams trigrams is looked up as a
// phrase, which is substring matching: exact. A longer one, whose phrase
// would read as many position lists, is looked up as maxTrigrams of its
// trigrams spread over it, in any order: a superset, for IMAP to check.

const (
	maxPhraseTrigrams = 32
	maxTrigrams       = 16
)

// IndexText defers the entry to the end of the batch transaction
// (runBatch, indexTexts): FTS5 writes its pending entries out as a new
// segment at every savepoint, and every job of a batch runs in one, so
// entries written by the jobs would cost a segment (and merges) each.
func (dialect) IndexText(tx sqlcore.Tx, blobID int64, hdr, body string) error {
	t := tx.(*wtx)
	t.texts = append(t.texts, sqlcore.TextEntry{BlobID: blobID, Hdr: hdr, Body: body})
	return nil
}

var _ sqlcore.PendingText = dialect{}

var _ sqlcore.UIDConcat = dialect{}

// ConcatUIDs: group_concat's separator is a comma.
func (dialect) ConcatUIDs(col string) string { return "coalesce(group_concat(" + col + "), '')" }

// MarkPending leaves the blob's entry to the indexer (sqlcore.TextIndexer).
func (dialect) MarkPending(tx sqlcore.Tx, blobID int64) error {
	t := tx.(*wtx)
	if _, err := t.exec("INSERT INTO text_pending(blob_id) VALUES ($1)", blobID); err != nil {
		return err
	}
	t.pending = true
	return nil
}

// ClaimPending: none, the one indexer reads before its write, so as not
// to hold the store's one writer while it folds the text.
func (dialect) ClaimPending() string { return "" }

// WriteTexts writes the entries in one statement: one FTS5 segment.
func (dialect) WriteTexts(tx sqlcore.Tx, entries []sqlcore.TextEntry) error {
	if len(entries) == 0 {
		return nil
	}
	_, err := tx.(*wtx).exec(insertTexts, textsJSON(entries))
	return err
}

// insertTexts adds the entries of a textsJSON list that have none yet.
const insertTexts = `INSERT INTO blob_text(rowid, hdr, body) SELECT value->>0, value->>1, value->>2 FROM json_each($1)
	WHERE NOT EXISTS (SELECT 1 FROM blob_text WHERE rowid = value->>0)`

// textsJSON lists entries as JSON arrays [id, hdr, body].
func textsJSON(entries []sqlcore.TextEntry) string {
	rows := make([][3]any, len(entries))
	for i, e := range entries {
		rows[i] = [3]any{e.BlobID, e.Hdr, e.Body}
	}
	b, _ := json.Marshal(rows) // ints and strings always encode
	return string(b)
}

func (dialect) TextIndexed(col string) string {
	return "EXISTS (SELECT 1 FROM blob_text WHERE rowid = " + col + ")"
}

func (dialect) TextMatch(bool) string {
	return "SELECT rowid AS id FROM blob_text WHERE blob_text MATCH $2"
}

func (dialect) TextExact(folded string) bool {
	return utf8.RuneCountInString(folded)-2 <= maxPhraseTrigrams
}

// TextPattern returns an FTS5 query, limited to the body column for BODY:
// the needle as a phrase, or past maxPhraseTrigrams, its distinct
// trigrams (at most maxTrigrams), each a quoted string, ANDed.
func (d dialect) TextPattern(folded string, bodyOnly bool) any {
	quote := func(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
	q := quote(folded)
	if !d.TextExact(folded) {
		q = sampledTrigrams(folded, quote)
	}
	if bodyOnly {
		return "body : (" + q + ")"
	}
	return q
}

// sampledTrigrams is a long needle's lookup: maxTrigrams of its distinct
// trigrams, spread over it, and the last, ANDed.
func sampledTrigrams(folded string, quote func(string) string) string {
	rs := []rune(folded)
	n := len(rs) - 2
	step := 1
	if n > maxTrigrams {
		step = (n + maxTrigrams - 1) / maxTrigrams
	}
	var terms []string
	for i := 0; i < n; i += step {
		t := quote(string(rs[i : i+3]))
		if !slices.Contains(terms, t) {
			terms = append(terms, t)
		}
	}
	if last := quote(string(rs[n-1:])); !slices.Contains(terms, last) {
		terms = append(terms, last)
	}
	return strings.Join(terms, " AND ")
}
