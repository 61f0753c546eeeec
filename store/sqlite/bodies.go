package sqlite

import (
	"context"
	"fmt"
	"slices"

	"github.com/mailroom/mailroom/store"
	"github.com/mailroom/mailroom/store/internal/flagset"
)

// bodyChunk is how many messages ListBodies reads per query: bodies are
// larger than metadata, so fewer than listChunk to keep memory bounded.
const bodyChunk = 64

// ListBodies implements store.Store.
func (s *Store) ListBodies(ctx context.Context, mailboxID int64, uids []uint32, fn func(store.MessageMeta, []byte) error) error {
	if _, err := s.MailboxByID(ctx, mailboxID); err != nil {
		return err
	}
	if uids != nil && !slices.IsSorted(uids) {
		uids = slices.Clone(uids)
		slices.Sort(uids)
	}
	const cols = "m.id, m.uid, m.modseq, m.sysflags, m.keywords, m.internal_date, m.tz_offset, m.size, b.raw FROM messages m JOIN blobs b ON b.id = m.blob_id"
	var last uint32
	for {
		var buf []bodyRow
		var err error
		if uids == nil {
			buf, err = s.readBodies(ctx, "SELECT "+cols+" WHERE m.mailbox_id = ? AND m.uid > ? ORDER BY m.uid LIMIT ?", mailboxID, last, bodyChunk)
		} else {
			if len(uids) == 0 {
				return nil
			}
			n := min(len(uids), bodyChunk)
			buf, err = s.readBodies(ctx, "SELECT "+cols+" WHERE m.mailbox_id = ? AND m.uid IN (SELECT value FROM json_each(?)) ORDER BY m.uid", mailboxID, uidsJSON(uids[:n]))
			uids = uids[n:]
		}
		if err != nil {
			return err
		}
		for _, r := range buf {
			if err := fn(r.meta, r.raw); err != nil {
				return err
			}
		}
		if uids == nil {
			if len(buf) < bodyChunk {
				return nil
			}
			last = buf[len(buf)-1].meta.UID
		}
	}
}

type bodyRow struct {
	meta store.MessageMeta
	raw  []byte
}

func (s *Store) readBodies(ctx context.Context, query string, args ...any) ([]bodyRow, error) {
	rows, err := s.rQuery(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list bodies: %w", err)
	}
	defer rows.Close()
	var buf []bodyRow
	for rows.Next() {
		var r bodyRow
		var uid, modseq, sys, date, tz int64
		var kw string
		if err := rows.Scan(&r.meta.ID, &uid, &modseq, &sys, &kw, &date, &tz, &r.meta.Size, &r.raw); err != nil {
			return nil, fmt.Errorf("sqlite: list bodies: %w", err)
		}
		r.meta.UID, r.meta.ModSeq = uint32(uid), uint64(modseq)
		if r.raw == nil {
			r.raw = []byte{}
		}
		r.meta.Flags = flagset.Decode(sys, kw)
		r.meta.InternalDate = decodeTime(date, tz)
		buf = append(buf, r)
	}
	return buf, rows.Err()
}
