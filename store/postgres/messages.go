package postgres

import (
	"context"

	"github.com/mailroom/mailroom/store"
	"github.com/mailroom/mailroom/store/internal/sqlcore"
)

// MessageUIDs implements store.Store.
func (s *Store) MessageUIDs(ctx context.Context, ref store.MailboxRef) ([]uint32, error) {
	var uids []int64
	err := s.pool.QueryRow(ctx, `SELECT coalesce((SELECT array_agg(uid ORDER BY uid) FROM messages WHERE mailbox_id = $1), '{}')
		FROM mailboxes WHERE `+sqlcore.RefWhere, sqlcore.RefArgs(ref)...).Scan(&uids)
	if isNoRows(err) {
		return nil, sqlcore.RefNotFound(ref)
	}
	if err != nil {
		return nil, err
	}
	out := make([]uint32, len(uids))
	for i, u := range uids {
		out[i] = uint32(u)
	}
	return out, nil
}
