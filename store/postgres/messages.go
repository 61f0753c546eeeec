package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/mailroom/mailroom/store"
	"github.com/mailroom/mailroom/store/internal/sqlcore"
)

// messageInRef selects, on messages m, message id $4 only if it is in the
// mailbox a store.MailboxRef names ($1..$3 are sqlcore.RefArgs).
const messageInRef = " WHERE m.id = $4 AND m.mailbox_id IN (SELECT id FROM mailboxes WHERE " + sqlcore.RefWhere + ")"

// ReadMessageBody implements store.Store: fn gets the bytea value in
// pgx's read buffer (binary format: the raw bytes), without a copy.
func (s *Store) ReadMessageBody(ctx context.Context, ref store.MailboxRef, messageID int64, fn func(raw []byte) error) error {
	rows, err := s.pool.Query(ctx, "SELECT b.raw FROM messages m JOIN blobs b ON b.id = m.blob_id"+messageInRef, append(sqlcore.RefArgs(ref), messageID)...)
	if err != nil {
		return err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return err
		}
		return fmt.Errorf("%w: message %d", store.ErrNotFound, messageID)
	}
	var raw []byte
	if rows.FieldDescriptions()[0].Format == pgx.BinaryFormatCode {
		raw = rows.RawValues()[0]
	} else if err := rows.Scan(&raw); err != nil {
		return err
	}
	if raw == nil {
		raw = []byte{}
	}
	if err := fn(raw); err != nil {
		return err
	}
	rows.Close()
	return rows.Err()
}
