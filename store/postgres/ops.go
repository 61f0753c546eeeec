package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/mailroom/mailroom/store"
	"github.com/mailroom/mailroom/store/internal/sqlcore"
)

// Changes implements store.Store. It reads in one REPEATABLE READ
// transaction, so the result is a consistent snapshot.
func (s *Store) Changes(ctx context.Context, ref store.MailboxRef, since uint64) (changed []store.MessageMeta, vanished []uint32, highest uint64, err error) {
	err = pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		mailboxID := ref.MailboxID
		if err := tx.QueryRow(ctx, "SELECT highestmodseq FROM mailboxes WHERE "+sqlcore.RefWhere, sqlcore.RefArgs(ref)...).Scan(&highest); err != nil {
			if isNoRows(err) {
				return sqlcore.RefNotFound(ref)
			}
			return err
		}
		rows, err := tx.Query(ctx, "SELECT "+sqlcore.MetaCols+" FROM messages WHERE mailbox_id = $1 AND modseq > $2 ORDER BY uid", mailboxID, since)
		if err != nil {
			return err
		}
		if changed, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.MessageMeta, error) { return sqlcore.ScanMeta(r) }); err != nil {
			return err
		}
		rows, err = tx.Query(ctx, "SELECT uid FROM expunged WHERE mailbox_id = $1 AND modseq > $2 ORDER BY uid", mailboxID, since)
		if err != nil {
			return err
		}
		vanished, err = sqlcore.CollectUIDs(rows)
		return err
	})
	if err != nil {
		return nil, nil, 0, err
	}
	if len(changed) == 0 {
		changed = nil
	}
	if len(vanished) == 0 {
		vanished = nil
	}
	return changed, vanished, highest, nil
}
