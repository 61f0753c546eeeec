package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/mailroom/mailroom/store"
	"github.com/mailroom/mailroom/store/internal/batch"
	"github.com/mailroom/mailroom/store/internal/flagset"
	"github.com/mailroom/mailroom/store/internal/sqlcore"
)

// bodyChunk is how many messages ListBodies reads per query: bodies are
// larger than metadata, so fewer than listChunk to keep memory bounded.
// headerChunk is the same for ListHeaders: headers are small.
const (
	bodyChunk   = 64
	headerChunk = 256
)

const joinedMetaCols = "m.id, m.uid, m.modseq, m.sysflags, m.keywords, m.internal_date, m.tz_offset, m.size, m.wire_size"

// ListBodies implements store.Store.
func (s *Store) ListBodies(ctx context.Context, ref store.MailboxRef, uids []uint32, fn func(store.MessageMeta, []byte) error) error {
	const from = joinedMetaCols + ", b.raw FROM messages m JOIN blobs b ON b.id = m.blob_id"
	return s.listBytes(ctx, "bodies", "SELECT "+from+afterUID, "SELECT "+from+inUIDs, bodyChunk, ref, uids, fn)
}

// ListHeaders implements store.Store. It reads blobs.header, which is
// TOASTed apart from raw; a blob inserted by an older node has none, and
// its header is cut from raw (COALESCE evaluates that only then).
func (s *Store) ListHeaders(ctx context.Context, ref store.MailboxRef, uids []uint32, fn func(store.MessageMeta, []byte) error) error {
	const header = `coalesce(b.header, substring(b.raw from 1 for coalesce(substring(b.part from '^[{]"hs":[0-9]+,"bs":([0-9]+)')::bigint, 0)::integer))`
	const from = joinedMetaCols + ", " + header + " FROM messages m JOIN blobs b ON b.id = m.blob_id"
	return s.listBytes(ctx, "headers", "SELECT "+from+afterUID, "SELECT "+from+inUIDs, headerChunk, ref, uids, fn)
}

// The WHERE clauses of listBytes's two queries (see batch.Queries), on
// messages as m.
const (
	afterUID = " WHERE m.mailbox_id = $1 AND m.uid > $2 ORDER BY m.uid LIMIT $3"
	inUIDs   = " WHERE m.mailbox_id = $1 AND m.uid = ANY($2) ORDER BY m.uid"
)

// listBytes reads, chunk messages per query, the metadata and bytes that
// the queries after (afterUID) and in (inUIDs) select.
func (s *Store) listBytes(ctx context.Context, what, after, in string, chunk int, ref store.MailboxRef, uids []uint32, fn func(store.MessageMeta, []byte) error) error {
	// The check and the reads are separate statements; that is safe
	// because mailbox ids are never reused (identity columns): once ref
	// names this account's mailbox, rows with its id can only be its.
	if _, err := s.MailboxByID(ctx, ref); err != nil {
		return err
	}
	mailboxID := ref.MailboxID
	return batch.Each(uids, chunk, batch.Queries{
		After: func(last uint32, n int) ([]batch.Row, error) {
			return s.readBytes(ctx, what, after, mailboxID, last, n)
		},
		In: func(uids []uint32) ([]batch.Row, error) {
			return s.readBytes(ctx, what, in, mailboxID, uidArray(uids))
		},
	}, fn)
}

func (s *Store) readBytes(ctx context.Context, what, query string, args ...any) ([]batch.Row, error) {
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: list %s: %w", what, err)
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (batch.Row, error) {
		var r batch.Row
		var sys, date, tz int64
		var kw string
		if err := row.Scan(&r.Meta.ID, &r.Meta.UID, &r.Meta.ModSeq, &sys, &kw, &date, &tz, &r.Meta.Size, &r.Meta.WireSize, &r.Raw); err != nil {
			return r, err
		}
		if r.Raw == nil {
			r.Raw = []byte{}
		}
		r.Meta.Flags = flagset.Decode(sys, kw)
		r.Meta.InternalDate = sqlcore.DecodeTime(date, tz)
		return r, nil
	})
}
