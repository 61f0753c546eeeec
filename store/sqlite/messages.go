package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"

	"github.com/mailroom/mailroom/store"
	"github.com/mailroom/mailroom/store/internal/sqlcore"
)

// MessageUIDs implements store.Store.
func (s *Store) MessageUIDs(ctx context.Context, ref store.MailboxRef) ([]uint32, error) {
	// One row with all UIDs as text is much faster to move through
	// database/sql than one row per UID.
	var list sql.NullString
	var n int
	err := s.rQueryRow(ctx, `SELECT count(*), (SELECT group_concat(uid) FROM (SELECT uid FROM messages WHERE mailbox_id = $1 ORDER BY uid))
		FROM mailboxes WHERE `+sqlcore.RefWhere, sqlcore.RefArgs(ref)...).Scan(&n, &list)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, sqlcore.RefNotFound(ref)
	}
	if !list.Valid || list.String == "" {
		return []uint32{}, nil
	}
	str := list.String
	uids := make([]uint32, 0, strings.Count(str, ",")+1)
	for str != "" {
		var f string
		f, str, _ = strings.Cut(str, ",")
		u, err := strconv.ParseUint(f, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("sqlite: bad uid %q: %w", f, err)
		}
		uids = append(uids, uint32(u))
	}
	return uids, nil
}

// messageInRef selects, on messages m, message id $4 only if it is in the
// mailbox a store.MailboxRef names ($1..$3 are sqlcore.RefArgs).
const messageInRef = " WHERE m.id = $4 AND m.mailbox_id IN (SELECT id FROM mailboxes WHERE " + sqlcore.RefWhere + ")"

// ReadMessageBody implements store.Store: the blob is read into the
// driver's buffer and handed to fn as sql.RawBytes, without the copy
// Scan into []byte makes.
func (s *Store) ReadMessageBody(ctx context.Context, ref store.MailboxRef, messageID int64, fn func(raw []byte) error) error {
	rows, err := s.rQuery(ctx, "SELECT b.raw FROM messages m JOIN blobs b ON b.id = m.blob_id"+messageInRef,
		append(sqlcore.RefArgs(ref), messageID)...)
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
	var raw sql.RawBytes
	if err := rows.Scan(&raw); err != nil {
		return err
	}
	if raw == nil {
		raw = sql.RawBytes{}
	}
	return fn(raw)
}
