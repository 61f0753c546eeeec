package postgres

import (
	"context"

	"github.com/mailroom/mailroom/store"
	"github.com/mailroom/mailroom/store/internal/sqlcore"
)

// ClaimRecent implements store.Store. One UPDATE takes the range: the
// row lock makes concurrent claims, from any node, take turns.
func (s *Store) ClaimRecent(ctx context.Context, ref store.MailboxRef) (first, next uint32, err error) {
	var f, n int64
	err = s.pool.QueryRow(ctx, `UPDATE mailboxes m SET recent_uid = m.uidnext
		FROM (SELECT id, recent_uid FROM mailboxes WHERE `+sqlcore.RefWhere+` AND recent_uid < uidnext FOR UPDATE) old
		WHERE m.id = old.id AND m.recent_uid < m.uidnext RETURNING old.recent_uid, m.uidnext`, sqlcore.RefArgs(ref)...).Scan(&f, &n)
	if isNoRows(err) {
		// Nothing to take (no row version written), or no such mailbox.
		err = s.pool.QueryRow(ctx, "SELECT uidnext FROM mailboxes WHERE "+sqlcore.RefWhere, sqlcore.RefArgs(ref)...).Scan(&n)
		if isNoRows(err) {
			return 0, 0, sqlcore.RefNotFound(ref)
		}
		return uint32(n), uint32(n), err
	}
	if err != nil {
		return 0, 0, err
	}
	return uint32(min(max(f, 1), n)), uint32(n), nil // 0: the column's default
}
