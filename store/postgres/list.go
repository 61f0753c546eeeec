package postgres

import (
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/mailroom/mailroom/store"
	"github.com/mailroom/mailroom/store/internal/sqlcore"
)

// listChunk is how many rows ListMessages reads per query. Reading in
// chunks keeps memory bounded and never holds a connection while the
// callback runs (it may write to a slow network peer).
const listChunk = 512

// ListMessages implements store.Store.
func (s *Store) ListMessages(ctx context.Context, ref store.MailboxRef, uids []uint32, fn func(store.MessageMeta) error) error {
	// Checked apart from the reads: safe because mailbox ids are never
	// reused (see listBytes).
	if _, err := s.MailboxByID(ctx, ref); err != nil {
		return err
	}
	mailboxID := ref.MailboxID
	if uids != nil && !slices.IsSorted(uids) {
		uids = slices.Clone(uids)
		slices.Sort(uids)
	}
	var last uint32
	for {
		var buf []store.MessageMeta
		var err error
		if uids == nil {
			buf, err = s.readMetas(ctx, "SELECT "+sqlcore.MetaCols+" FROM messages WHERE mailbox_id = $1 AND uid > $2 ORDER BY uid LIMIT $3", mailboxID, last, listChunk)
		} else {
			if len(uids) == 0 {
				return nil
			}
			n := min(len(uids), listChunk)
			buf, err = s.readMetas(ctx, "SELECT "+sqlcore.MetaCols+" FROM messages WHERE mailbox_id = $1 AND uid = ANY($2) ORDER BY uid", mailboxID, uidArray(uids[:n]))
			uids = uids[n:]
		}
		if err != nil {
			return err
		}
		for _, m := range buf {
			if err := fn(m); err != nil {
				return err
			}
		}
		if uids == nil {
			if len(buf) < listChunk {
				return nil
			}
			last = buf[len(buf)-1].UID
		}
	}
}

func (s *Store) readMetas(ctx context.Context, query string, args ...any) ([]store.MessageMeta, error) {
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: list messages: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.MessageMeta, error) { return sqlcore.ScanMeta(r) })
}
