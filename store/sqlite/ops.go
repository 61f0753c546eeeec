package sqlite

import (
	"context"
	"errors"
	"fmt"

	"github.com/mailroom/mailroom/store"
	"github.com/mailroom/mailroom/store/internal/sqlcore"
)

// Changes implements store.Store. It reads in one transaction, so the
// result is a consistent snapshot.
func (s *Store) Changes(ctx context.Context, ref store.MailboxRef, since uint64) (changed []store.MessageMeta, vanished []uint32, highest uint64, err error) {
	tx, err := s.rdb.BeginTx(ctx, nil)
	if err != nil {
		return nil, nil, 0, err
	}
	defer tx.Rollback()
	// Every session asks after each command whether anything changed:
	// the statements are prepared once (preparing cost as much as running
	// them; BenchmarkChangesNothingNew).
	mbStmt, err := s.txStmt(ctx, tx, "SELECT "+sqlcore.MailboxCols+" FROM mailboxes WHERE "+sqlcore.RefWhere)
	if err != nil {
		return nil, nil, 0, err
	}
	mb, err := s.ScanMailbox(mbStmt.QueryRowContext(ctx, sqlcore.RefArgs(ref)...))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, 0, sqlcore.RefNotFound(ref)
	}
	if err != nil {
		return nil, nil, 0, fmt.Errorf("mailbox %d: %w", ref.MailboxID, err)
	}
	mailboxID := ref.MailboxID
	msgStmt, err := s.txStmt(ctx, tx, "SELECT "+sqlcore.MetaCols+" FROM messages WHERE mailbox_id = ? AND modseq > ? ORDER BY uid")
	if err != nil {
		return nil, nil, 0, err
	}
	rows, err := msgStmt.QueryContext(ctx, mailboxID, since)
	if err != nil {
		return nil, nil, 0, err
	}
	for rows.Next() {
		m, err := sqlcore.ScanMeta(rows)
		if err != nil {
			rows.Close()
			return nil, nil, 0, err
		}
		changed = append(changed, m)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, 0, err
	}
	expStmt, err := s.txStmt(ctx, tx, "SELECT uid FROM expunged WHERE mailbox_id = ? AND modseq > ? ORDER BY uid")
	if err != nil {
		return nil, nil, 0, err
	}
	rows, err = expStmt.QueryContext(ctx, mailboxID, since)
	if err != nil {
		return nil, nil, 0, err
	}
	defer rows.Close()
	for rows.Next() {
		var u uint32
		if err := rows.Scan(&u); err != nil {
			return nil, nil, 0, err
		}
		vanished = append(vanished, u)
	}
	return changed, vanished, mb.HighestModSeq, rows.Err()
}
