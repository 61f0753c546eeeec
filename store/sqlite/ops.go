package sqlite

import (
	"context"
	"errors"
	"fmt"

	"github.com/mailroom/mailroom/store/internal/flagset"

	"github.com/mailroom/mailroom/store"
)

// txMetas reads the metadata of the messages of a mailbox whose UID is in
// uids, in UID order, inside a write transaction.
func txMetas(tx *wtx, mailboxID int64, uids []uint32) ([]store.MessageMeta, error) {
	rows, err := tx.query("SELECT "+metaCols+" FROM messages WHERE mailbox_id = ? AND uid IN (SELECT value FROM json_each(?)) ORDER BY uid",
		mailboxID, uidsJSON(uids))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var metas []store.MessageMeta
	for rows.Next() {
		m, err := scanMeta(rows)
		if err != nil {
			return nil, err
		}
		metas = append(metas, m)
	}
	return metas, rows.Err()
}

// UpdateFlags implements store.Store. An empty uids changes nothing.
func (s *Store) UpdateFlags(ctx context.Context, ref store.MailboxRef, uids []uint32, op store.FlagOp, flags []string, unchangedSince uint64) (changed []store.MessageMeta, failed []uint32, err error) {
	change, err := flagset.NewChange(op, flags)
	if err != nil {
		return nil, nil, err
	}
	err = s.write(ctx, func(tx *wtx) error {
		changed, failed = nil, nil
		mailboxID := ref.MailboxID
		mb, err := txMailboxByRef(tx, ref)
		if err != nil || len(uids) == 0 {
			return err
		}
		metas, err := txMetas(tx, mailboxID, uids)
		if err != nil {
			return err
		}
		var updates []flagset.Update
		updates, changed, failed = change.Plan(metas, unchangedSince, mb.HighestModSeq)
		for _, u := range updates {
			if _, err := tx.exec("UPDATE messages SET sysflags = ?, keywords = ?, modseq = ? WHERE id = ?", u.Sys, u.Keywords, u.ModSeq, u.ID); err != nil {
				return err
			}
		}
		if len(updates) > 0 {
			if _, err := tx.exec("UPDATE mailboxes SET highestmodseq = ? WHERE id = ?", updates[len(updates)-1].ModSeq, mailboxID); err != nil {
				return err
			}
			tx.publish(mb.AccountID, mailboxID)
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return changed, failed, nil
}

// Expunge implements store.Store. nil uids means every message; an empty
// non-nil slice removes nothing.
func (s *Store) Expunge(ctx context.Context, ref store.MailboxRef, uids []uint32, onlyDeleted bool) ([]uint32, error) {
	var removed []uint32
	err := s.write(ctx, func(tx *wtx) error {
		removed = nil
		mailboxID := ref.MailboxID
		mb, err := txMailboxByRef(tx, ref)
		if err != nil {
			return err
		}
		if onlyDeleted {
			// The counter spares EXPUNGE/CLOSE a scan of the whole
			// mailbox when nothing is \Deleted (the common case).
			var n int64
			if err := tx.queryRow("SELECT n_deleted FROM mailboxes WHERE id = ?", mailboxID).Scan(&n); err != nil || n == 0 {
				return err
			}
		}
		q := "SELECT uid FROM messages WHERE mailbox_id = ?"
		args := []any{mailboxID}
		if uids != nil {
			q += " AND uid IN (SELECT value FROM json_each(?))"
			args = append(args, uidsJSON(uids))
		}
		if onlyDeleted {
			q += " AND (sysflags & ?) != 0"
			args = append(args, flagset.BitDeleted)
		}
		rows, err := tx.query(q+" ORDER BY uid", args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var u uint32
			if err := rows.Scan(&u); err != nil {
				rows.Close()
				return err
			}
			removed = append(removed, u)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		return expungeUIDs(tx, mb, removed)
	})
	if err != nil {
		return nil, err
	}
	return removed, nil
}

// expungeUIDs deletes the messages (which must exist) and leaves
// tombstones, each with its own new modseq.
func expungeUIDs(tx *wtx, mb store.Mailbox, uids []uint32) error {
	if len(uids) == 0 {
		return nil
	}
	js := uidsJSON(uids)
	if _, err := tx.exec("DELETE FROM messages WHERE mailbox_id = ? AND uid IN (SELECT value FROM json_each(?))", mb.ID, js); err != nil {
		return err
	}
	// json_each's key is the array index: modseqs highest+1, highest+2, ...
	if _, err := tx.exec("INSERT OR REPLACE INTO expunged(mailbox_id, uid, modseq) SELECT ?, value, ? + key FROM json_each(?)",
		mb.ID, mb.HighestModSeq+1, js); err != nil {
		return err
	}
	if _, err := tx.exec("UPDATE mailboxes SET highestmodseq = highestmodseq + ? WHERE id = ?", len(uids), mb.ID); err != nil {
		return err
	}
	tx.publish(mb.AccountID, mb.ID)
	return nil
}

// Copy implements store.Store. Copies share the source's stored bytes.
func (s *Store) Copy(ctx context.Context, src store.MailboxRef, uids []uint32, dst store.MailboxRef) (uint32, []store.UIDPair, error) {
	return s.copyMove(ctx, src, uids, dst, false)
}

// Move implements store.Store.
func (s *Store) Move(ctx context.Context, src store.MailboxRef, uids []uint32, dst store.MailboxRef) (uint32, []store.UIDPair, error) {
	return s.copyMove(ctx, src, uids, dst, true)
}

func (s *Store) copyMove(ctx context.Context, srcRef store.MailboxRef, uids []uint32, dstRef store.MailboxRef, move bool) (uint32, []store.UIDPair, error) {
	srcID, dstID := srcRef.MailboxID, dstRef.MailboxID
	var uidValidity uint32
	var pairs []store.UIDPair
	err := s.write(ctx, func(tx *wtx) error {
		pairs = nil
		src, err := txMailboxByRef(tx, srcRef)
		if err != nil {
			return err
		}
		dst, err := txMailboxByRef(tx, dstRef)
		if err != nil {
			return err
		}
		uidValidity = dst.UIDValidity
		if len(uids) == 0 {
			return nil
		}
		rows, err := tx.query("SELECT uid, modseq, sysflags, keywords, internal_date, tz_offset, size, wire_size, blob_id FROM messages WHERE mailbox_id = ? AND uid IN (SELECT value FROM json_each(?)) ORDER BY uid",
			srcID, uidsJSON(uids))
		if err != nil {
			return err
		}
		type row struct {
			uid                               uint32
			modseq                            uint64
			sys, date, tz, size, wire, blobID int64
			kw                                string
		}
		var list []row
		for rows.Next() {
			var r row
			if err := rows.Scan(&r.uid, &r.modseq, &r.sys, &r.kw, &r.date, &r.tz, &r.size, &r.wire, &r.blobID); err != nil {
				rows.Close()
				return err
			}
			list = append(list, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(list) == 0 {
			return nil
		}
		d, err := allocate(tx, dstRef, len(list))
		if err != nil {
			return err
		}
		srcUIDs := make([]uint32, len(list))
		for i, r := range list {
			uid := d.UIDNext + uint32(i)
			if _, err := tx.exec(insertMessageSQL, dstID, uid, d.HighestModSeq+1+uint64(i), r.sys, r.kw, r.date, r.tz, r.size, r.wire, r.blobID); err != nil {
				return err
			}
			pairs = append(pairs, store.UIDPair{Src: r.uid, Dst: uid})
			srcUIDs[i] = r.uid
		}
		tx.publish(dst.AccountID, dstID)
		if move {
			if srcID == dstID { // allocate moved the source's counters
				src = d
				src.HighestModSeq += uint64(len(list))
				src.UIDNext += uint32(len(list))
			}
			return expungeUIDs(tx, src, srcUIDs)
		}
		return nil
	})
	if err != nil {
		return 0, nil, err
	}
	return uidValidity, pairs, nil
}

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
	mbStmt, err := s.txStmt(ctx, tx, "SELECT "+mailboxCols+" FROM mailboxes WHERE "+refWhere)
	if err != nil {
		return nil, nil, 0, err
	}
	mb, err := scanMailbox(mbStmt.QueryRowContext(ctx, refArgs(ref)...))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, 0, refNotFound(ref)
	}
	if err != nil {
		return nil, nil, 0, fmt.Errorf("mailbox %d: %w", ref.MailboxID, err)
	}
	mailboxID := ref.MailboxID
	msgStmt, err := s.txStmt(ctx, tx, "SELECT "+metaCols+" FROM messages WHERE mailbox_id = ? AND modseq > ? ORDER BY uid")
	if err != nil {
		return nil, nil, 0, err
	}
	rows, err := msgStmt.QueryContext(ctx, mailboxID, since)
	if err != nil {
		return nil, nil, 0, err
	}
	for rows.Next() {
		m, err := scanMeta(rows)
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
