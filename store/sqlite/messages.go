package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/mailroom/mailroom/store"
	"github.com/mailroom/mailroom/store/internal/sqlcore"
)

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

// readBytesQuery selects, in UID order, the id, UID and bytes (what
// FROM ... selects on messages m) of the messages whose UIDs are in the
// JSON array $4, of the mailbox a store.MailboxRef names ($1..$3 are
// sqlcore.RefArgs).
func readBytesQuery(from string) string {
	return "SELECT m.id, m.uid, " + from +
		" WHERE m.mailbox_id IN (SELECT id FROM mailboxes WHERE " + sqlcore.RefWhere + ")" +
		" AND m.uid IN (SELECT value FROM json_each($4)) ORDER BY m.uid"
}

var (
	readBodiesQuery  = readBytesQuery("b.raw FROM messages m JOIN blobs b ON b.id = m.blob_id")
	readHeadersQuery = readBytesQuery(dialect{}.HeadersFrom())
)

// ReadBodies is ListBodies without a copy for the caller, in one query
// (the caller bounds uids): fn gets each message's bytes as the driver
// holds them, valid only until fn returns, with the read in progress, so
// fn must copy what it keeps and must not wait for anything (POP3 RETR's
// read-ahead copies them into its buffer). Messages expunged meanwhile
// are skipped, and so is every message of a mailbox the ref does not
// name.
func (s *Store) ReadBodies(ctx context.Context, ref store.MailboxRef, uids []uint32, fn func(id int64, uid uint32, raw []byte) error) error {
	return s.readBytes(ctx, "bodies", readBodiesQuery, ref, uids, fn)
}

// ReadHeaders is ReadBodies for the headers ListHeaders reads, without
// ListHeaders's metadata columns and database/sql's copy of each header
// (FETCH of header fields copies them into its pooled buffer).
func (s *Store) ReadHeaders(ctx context.Context, ref store.MailboxRef, uids []uint32, fn func(id int64, uid uint32, hdr []byte) error) error {
	return s.readBytes(ctx, "headers", readHeadersQuery, ref, uids, fn)
}

func (s *Store) readBytes(ctx context.Context, what, query string, ref store.MailboxRef, uids []uint32, fn func(id int64, uid uint32, raw []byte) error) error {
	rows, err := s.rQuery(ctx, query, append(sqlcore.RefArgs(ref), uidsJSON(uids))...)
	if err != nil {
		return fmt.Errorf("store: read %s: %w", what, err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, uid int64
		var raw sql.RawBytes
		if err := rows.Scan(&id, &uid, &raw); err != nil {
			return fmt.Errorf("store: read %s: %w", what, err)
		}
		if raw == nil {
			raw = sql.RawBytes{}
		}
		if err := fn(id, uint32(uid), raw); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: read %s: %w", what, err)
	}
	return nil
}
