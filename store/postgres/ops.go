package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/mailroom/mailroom/store/internal/flagset"

	"github.com/jackc/pgx/v5"

	"github.com/mailroom/mailroom/store"
)

// txMetas reads the metadata of the messages of a mailbox whose UID is in
// uids, in UID order, inside a write transaction.
func txMetas(tx *wtx, mailboxID int64, uids []uint32) ([]store.MessageMeta, error) {
	rows, err := tx.query("SELECT "+metaCols+" FROM messages WHERE mailbox_id = $1 AND uid = ANY($2) ORDER BY uid",
		mailboxID, uidArray(uids))
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.MessageMeta, error) { return scanMeta(r) })
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
		mb, err := txLockMailbox(tx, ref)
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
			if _, err := tx.exec("UPDATE messages SET sysflags = $1, keywords = $2, modseq = $3 WHERE id = $4", u.Sys, u.Keywords, u.ModSeq, u.ID); err != nil {
				return err
			}
		}
		if len(updates) > 0 {
			if _, err := tx.exec("UPDATE mailboxes SET highestmodseq = $1 WHERE id = $2", updates[len(updates)-1].ModSeq, mailboxID); err != nil {
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
		mb, err := txLockMailbox(tx, ref)
		if err != nil {
			return err
		}
		if onlyDeleted {
			// The counter spares EXPUNGE/CLOSE a scan of the whole
			// mailbox when nothing is \Deleted (the common case).
			var n int64
			if err := tx.queryRow("SELECT n_deleted FROM mailboxes WHERE id = $1", mailboxID).Scan(&n); err != nil || n == 0 {
				return err
			}
		}
		q := "SELECT uid FROM messages WHERE mailbox_id = $1"
		args := []any{mailboxID}
		if uids != nil {
			args = append(args, uidArray(uids))
			q += fmt.Sprintf(" AND uid = ANY($%d)", len(args))
		}
		if onlyDeleted {
			args = append(args, flagset.BitDeleted)
			q += fmt.Sprintf(" AND sysflags & $%d != 0", len(args))
		}
		rows, err := tx.query(q+" ORDER BY uid", args...)
		if err != nil {
			return err
		}
		if removed, err = collectUIDs(rows); err != nil {
			return err
		}
		return expungeUIDs(tx, mb, removed)
	})
	if err != nil {
		return nil, err
	}
	return removed, nil
}

// expungeUIDs deletes the messages (which must exist) of a locked mailbox
// and leaves tombstones, each with its own new modseq.
func expungeUIDs(tx *wtx, mb store.Mailbox, uids []uint32) error {
	if len(uids) == 0 {
		return nil
	}
	arr := uidArray(uids)
	if _, err := tx.exec("DELETE FROM messages WHERE mailbox_id = $1 AND uid = ANY($2)", mb.ID, arr); err != nil {
		return err
	}
	// Modseqs highest+1, highest+2, ... in the order of uids.
	if _, err := tx.exec(`INSERT INTO expunged(mailbox_id, uid, modseq)
		SELECT $1, u, $2 + o FROM unnest($3::bigint[]) WITH ORDINALITY AS t(u, o)
		ON CONFLICT (mailbox_id, uid) DO UPDATE SET modseq = EXCLUDED.modseq`, mb.ID, mb.HighestModSeq, arr); err != nil {
		return err
	}
	if _, err := tx.exec("UPDATE mailboxes SET highestmodseq = highestmodseq + $1 WHERE id = $2", len(uids), mb.ID); err != nil {
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
		// Lock what changes, in id order: the destination, and for a move
		// the source.
		lock := []int64{dstID}
		if move {
			lock = append(lock, srcID)
		}
		if _, err := tx.exec("SELECT id FROM mailboxes WHERE id = ANY($1) ORDER BY id FOR UPDATE", lock); err != nil {
			return err
		}
		src, err := scanMailbox(tx.queryRow("SELECT "+mailboxCols+" FROM mailboxes WHERE "+refWhere, refArgs(srcRef)...))
		if errors.Is(err, store.ErrNotFound) {
			return refNotFound(srcRef)
		}
		if err != nil {
			return fmt.Errorf("mailbox %d: %w", srcID, err)
		}
		dst, err := txLockMailbox(tx, dstRef)
		if err != nil {
			return err
		}
		uidValidity = dst.UIDValidity
		if len(uids) == 0 {
			return nil
		}
		// FOR SHARE keeps the source messages (and so their blobs) from
		// being expunged by another node until this transaction ends.
		rows, err := tx.query(`SELECT uid, sysflags, keywords, internal_date, tz_offset, size, wire_size, blob_id FROM messages
			WHERE mailbox_id = $1 AND uid = ANY($2) ORDER BY uid FOR SHARE`, srcID, uidArray(uids))
		if err != nil {
			return err
		}
		type row struct {
			uid                               uint32
			sys, date, tz, size, wire, blobID int64
			kw                                string
		}
		var list []row
		var r row
		if _, err := pgx.ForEachRow(rows, []any{&r.uid, &r.sys, &r.kw, &r.date, &r.tz, &r.size, &r.wire, &r.blobID}, func() error {
			list = append(list, r)
			return nil
		}); err != nil {
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

// Changes implements store.Store. It reads in one REPEATABLE READ
// transaction, so the result is a consistent snapshot.
func (s *Store) Changes(ctx context.Context, ref store.MailboxRef, since uint64) (changed []store.MessageMeta, vanished []uint32, highest uint64, err error) {
	err = pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		mailboxID := ref.MailboxID
		if err := tx.QueryRow(ctx, "SELECT highestmodseq FROM mailboxes WHERE "+refWhere, refArgs(ref)...).Scan(&highest); err != nil {
			if isNoRows(err) {
				return refNotFound(ref)
			}
			return err
		}
		rows, err := tx.Query(ctx, "SELECT "+metaCols+" FROM messages WHERE mailbox_id = $1 AND modseq > $2 ORDER BY uid", mailboxID, since)
		if err != nil {
			return err
		}
		if changed, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.MessageMeta, error) { return scanMeta(r) }); err != nil {
			return err
		}
		rows, err = tx.Query(ctx, "SELECT uid FROM expunged WHERE mailbox_id = $1 AND modseq > $2 ORDER BY uid", mailboxID, since)
		if err != nil {
			return err
		}
		vanished, err = collectUIDs(rows)
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
