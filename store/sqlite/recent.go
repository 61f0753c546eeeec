package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/mailroom/mailroom/store"
	"github.com/mailroom/mailroom/store/internal/sqlcore"
)

// ClaimRecent implements store.Store.
func (s *Store) ClaimRecent(ctx context.Context, ref store.MailboxRef) (first, next uint32, err error) {
	// Nothing new (the usual case at SELECT): a read, not a write
	// through the one writer. Only a claim moves recent_uid, upwards, so
	// a message that arrives after this read is claimed by the next call.
	err = s.rQueryRow(ctx, "SELECT recent_uid, uidnext FROM mailboxes WHERE "+sqlcore.RefWhere, sqlcore.RefArgs(ref)...).Scan(&first, &next)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, 0, sqlcore.RefNotFound(ref)
	}
	if err != nil {
		return 0, 0, err
	}
	if first >= next {
		return next, next, nil
	}
	// A flag change (\Recent): a power loss that undoes it shows the
	// messages as recent again.
	err = s.writeFlags(ctx, func(tx *wtx) error {
		err := tx.queryRow("SELECT recent_uid, uidnext FROM mailboxes WHERE "+sqlcore.RefWhere, sqlcore.RefArgs(ref)...).Scan(&first, &next)
		if errors.Is(err, sql.ErrNoRows) {
			return sqlcore.RefNotFound(ref)
		}
		if err != nil {
			return err
		}
		if first >= next {
			return nil
		}
		_, err = tx.exec("UPDATE mailboxes SET recent_uid = ? WHERE id = ?", next, ref.MailboxID)
		return err
	})
	first = min(max(first, 1), next) // 0: a mailbox created with the column's default
	return first, next, err
}
