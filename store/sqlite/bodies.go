package sqlite

import (
	"context"
	"fmt"

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

// ListHeaders implements store.Store. The headers table is read without
// touching blobs, whose raw column spans overflow pages.
func (s *Store) ListHeaders(ctx context.Context, ref store.MailboxRef, uids []uint32, fn func(store.MessageMeta, []byte) error) error {
	const from = joinedMetaCols + ", h.header FROM messages m JOIN headers h ON h.blob_id = m.blob_id"
	return s.listBytes(ctx, "headers", "SELECT "+from+afterUID, "SELECT "+from+inUIDs, headerChunk, ref, uids, fn)
}

// The WHERE clauses of listBytes's two queries (see batch.Queries), on
// messages as m.
const (
	afterUID = " WHERE m.mailbox_id = ? AND m.uid > ? ORDER BY m.uid LIMIT ?"
	inUIDs   = " WHERE m.mailbox_id = ? AND m.uid IN (SELECT value FROM json_each(?)) ORDER BY m.uid"
)

// listBytes reads, chunk messages per query, the metadata and bytes that
// the queries after (afterUID) and in (inUIDs) select.
func (s *Store) listBytes(ctx context.Context, what, after, in string, chunk int, ref store.MailboxRef, uids []uint32, fn func(store.MessageMeta, []byte) error) error {
	// The check and the reads are separate statements; that is safe
	// because mailbox ids are never reused: once ref names this account's
	// mailbox, rows with its id can only be that mailbox's.
	if _, err := s.MailboxByID(ctx, ref); err != nil {
		return err
	}
	mailboxID := ref.MailboxID
	return batch.Each(uids, chunk, batch.Queries{
		After: func(last uint32, n int) ([]batch.Row, error) {
			return s.readBytes(ctx, what, after, mailboxID, last, n)
		},
		In: func(uids []uint32) ([]batch.Row, error) {
			return s.readBytes(ctx, what, in, mailboxID, uidsJSON(uids))
		},
	}, fn)
}

func (s *Store) readBytes(ctx context.Context, what, query string, args ...any) ([]batch.Row, error) {
	rows, err := s.rQuery(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list %s: %w", what, err)
	}
	defer rows.Close()
	var buf []batch.Row
	for rows.Next() {
		var r batch.Row
		var uid, modseq, sys, date, tz int64
		var kw string
		if err := rows.Scan(&r.Meta.ID, &uid, &modseq, &sys, &kw, &date, &tz, &r.Meta.Size, &r.Meta.WireSize, &r.Raw); err != nil {
			return nil, fmt.Errorf("sqlite: list %s: %w", what, err)
		}
		r.Meta.UID, r.Meta.ModSeq = uint32(uid), uint64(modseq)
		if r.Raw == nil {
			r.Raw = []byte{}
		}
		r.Meta.Flags = flagset.Decode(sys, kw)
		r.Meta.InternalDate = sqlcore.DecodeTime(date, tz)
		buf = append(buf, r)
	}
	return buf, rows.Err()
}
