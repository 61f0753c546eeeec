package sqlcore

import (
	"context"
	"errors"
	"fmt"

	"github.com/mailroom/mailroom/store"
	"github.com/mailroom/mailroom/store/internal/flagset"
)

// InsertMessageSQL inserts one row of messages.
// save_date is when the message was put into this mailbox (SAVEDATE,
// RFC 8514): every insert sets it, copies and moves too.
const InsertMessageSQL = `INSERT INTO messages(mailbox_id, uid, modseq, sysflags, keywords, internal_date, tz_offset, size, wire_size, blob_id, save_date)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`

// insertCopySQL inserts a copy of a message: InsertMessageSQL keeping
// the EMAILID of the original (RFC 8474 §5.1: COPY and MOVE keep it).
const insertCopySQL = `INSERT INTO messages(mailbox_id, uid, modseq, sysflags, keywords, internal_date, tz_offset, size, wire_size, blob_id, email_id, save_date)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`

// txMetas reads the metadata of the messages of a mailbox whose UID is in
// uids, in UID order, inside a write transaction.
func (c *Core) txMetas(tx Tx, mailboxID int64, uids []uint32) ([]store.MessageMeta, error) {
	rows, err := tx.Query("SELECT "+MetaCols+" FROM messages WHERE mailbox_id = $1 AND "+c.d.In("uid", 2)+" ORDER BY uid",
		mailboxID, c.d.UIDs(uids))
	if err != nil {
		return nil, err
	}
	return Collect(rows, ScanMeta)
}

// UpdateFlags implements store.Store. An empty uids changes nothing.
func (c *Core) UpdateFlags(ctx context.Context, ref store.MailboxRef, uids []uint32, op store.FlagOp, flags []string, unchangedSince uint64) (changed []store.MessageMeta, failed []uint32, err error) {
	change, err := flagset.NewChange(op, flags)
	if err != nil {
		return nil, nil, err
	}
	err = c.flags(ctx, func(tx Tx) error {
		changed, failed = nil, nil
		mailboxID := ref.MailboxID
		mb, err := c.LockMailbox(tx, ref)
		if err != nil || len(uids) == 0 {
			return err
		}
		metas, err := c.txMetas(tx, mailboxID, uids)
		if err != nil {
			return err
		}
		var updates []flagset.Update
		updates, changed, failed = change.Plan(metas, unchangedSince, mb.HighestModSeq)
		for _, u := range updates {
			if _, err := tx.Exec("UPDATE messages SET sysflags = $1, keywords = $2, modseq = $3 WHERE id = $4", u.Sys, u.Keywords, u.ModSeq, u.ID); err != nil {
				return err
			}
		}
		if len(updates) > 0 {
			if _, err := tx.Exec("UPDATE mailboxes SET highestmodseq = $1 WHERE id = $2", updates[len(updates)-1].ModSeq, mailboxID); err != nil {
				return err
			}
			tx.Publish(mb.AccountID, mailboxID)
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
func (c *Core) Expunge(ctx context.Context, ref store.MailboxRef, uids []uint32, onlyDeleted bool) ([]uint32, uint64, error) {
	var removed []uint32
	var highest uint64
	err := c.write(ctx, func(tx Tx) error {
		removed = nil
		mailboxID := ref.MailboxID
		mb, err := c.LockMailbox(tx, ref)
		if err != nil {
			return err
		}
		highest = mb.HighestModSeq
		if onlyDeleted {
			// The counter spares EXPUNGE/CLOSE a scan of the whole
			// mailbox when nothing is \Deleted (the common case).
			var n int64
			if err := tx.QueryRow("SELECT n_deleted FROM mailboxes WHERE id = $1", mailboxID).Scan(&n); err != nil || n == 0 {
				return err
			}
		}
		q := "SELECT uid FROM messages WHERE mailbox_id = $1"
		args := []any{mailboxID}
		if uids != nil {
			args = append(args, c.d.UIDs(uids))
			q += " AND " + c.d.In("uid", len(args))
		}
		if onlyDeleted {
			args = append(args, flagset.BitDeleted)
			q += fmt.Sprintf(" AND (sysflags & $%d) != 0", len(args))
		}
		rows, err := tx.Query(q+" ORDER BY uid", args...)
		if err != nil {
			return err
		}
		if removed, err = CollectUIDs(rows); err != nil {
			return err
		}
		highest += uint64(len(removed))
		return c.ExpungeUIDs(tx, mb, removed)
	})
	if err != nil {
		return nil, 0, err
	}
	return removed, highest, nil
}

// ExpungeUIDs deletes the messages (which must exist) of a locked mailbox
// and leaves tombstones, each with its own new modseq.
func (c *Core) ExpungeUIDs(tx Tx, mb store.Mailbox, uids []uint32) error {
	if len(uids) == 0 {
		return nil
	}
	list := c.d.UIDs(uids)
	if _, err := tx.Exec("DELETE FROM messages WHERE mailbox_id = $1 AND "+c.d.In("uid", 2), mb.ID, list); err != nil {
		return err
	}
	// Modseqs highest+1, highest+2, ... in the order of uids. (WHERE true
	// tells SQLite's parser that ON CONFLICT is not a join's ON.)
	if _, err := tx.Exec(`INSERT INTO expunged(mailbox_id, uid, modseq)
		SELECT $1, u, $2 + o FROM `+c.d.Ordinal(3, "bigint")+` WHERE true
		ON CONFLICT (mailbox_id, uid) DO UPDATE SET modseq = excluded.modseq`, mb.ID, int64(mb.HighestModSeq), list); err != nil {
		return err
	}
	if _, err := tx.Exec("UPDATE mailboxes SET highestmodseq = highestmodseq + $1 WHERE id = $2", len(uids), mb.ID); err != nil {
		return err
	}
	tx.Publish(mb.AccountID, mb.ID)
	return nil
}

// Copy implements store.Store. Copies share the source's stored bytes.
func (c *Core) Copy(ctx context.Context, src store.MailboxRef, uids []uint32, dst store.MailboxRef) (uint32, []store.UIDPair, error) {
	uv, pairs, _, err := c.copyMove(ctx, src, uids, dst, false)
	return uv, pairs, err
}

// Move implements store.Store.
func (c *Core) Move(ctx context.Context, src store.MailboxRef, uids []uint32, dst store.MailboxRef) (uint32, []store.UIDPair, uint64, error) {
	return c.copyMove(ctx, src, uids, dst, true)
}

// copyMove copies or moves; srcHighest is the source's HIGHESTMODSEQ
// after the write.
func (c *Core) copyMove(ctx context.Context, srcRef store.MailboxRef, uids []uint32, dstRef store.MailboxRef, move bool) (uidValidity uint32, pairs []store.UIDPair, srcHighest uint64, err error) {
	srcID, dstID := srcRef.MailboxID, dstRef.MailboxID
	err = c.write(ctx, func(tx Tx) error {
		pairs = nil
		// Lock what changes, in id order: the destination, and for a move
		// the source.
		lock := []int64{dstID}
		if move {
			lock = append(lock, srcID)
		}
		if err := c.LockMailboxes(tx, lock); err != nil {
			return err
		}
		src, err := c.ScanMailbox(tx.QueryRow("SELECT "+MailboxCols+" FROM mailboxes WHERE "+RefWhere, RefArgs(srcRef)...))
		if errors.Is(err, store.ErrNotFound) {
			return RefNotFound(srcRef)
		}
		if err != nil {
			return fmt.Errorf("mailbox %d: %w", srcID, err)
		}
		srcHighest = src.HighestModSeq
		dst, err := c.LockMailbox(tx, dstRef)
		if err != nil {
			return err
		}
		uidValidity = dst.UIDValidity
		if len(uids) == 0 {
			return nil
		}
		// A row lock (FOR SHARE) keeps the source messages (and so their
		// blobs) from being expunged by another node until this
		// transaction ends.
		rows, err := tx.Query(`SELECT uid, sysflags, keywords, internal_date, tz_offset, size, wire_size, blob_id, coalesce(email_id, id) FROM messages
			WHERE mailbox_id = $1 AND `+c.d.In("uid", 2)+` ORDER BY uid`+c.d.RowLock("SHARE"), srcID, c.d.UIDs(uids))
		if err != nil {
			return err
		}
		type row struct {
			uid, sys, date, tz, size, wire, blobID, emailID int64
			kw                                              string
		}
		list, err := Collect(rows, func(rw Row) (row, error) {
			var r row
			err := rw.Scan(&r.uid, &r.sys, &r.kw, &r.date, &r.tz, &r.size, &r.wire, &r.blobID, &r.emailID)
			return r, err
		})
		if err != nil || len(list) == 0 {
			return err
		}
		d, err := c.Allocate(tx, dstRef, len(list))
		if err != nil {
			return err
		}
		srcUIDs := make([]uint32, len(list))
		for i, r := range list {
			uid := d.UIDNext + uint32(i)
			if _, err := tx.Exec(insertCopySQL, dstID, uid, d.HighestModSeq+1+uint64(i), r.sys, r.kw, r.date, r.tz, r.size, r.wire, r.blobID, r.emailID, c.now()); err != nil {
				return err
			}
			pairs = append(pairs, store.UIDPair{Src: uint32(r.uid), Dst: uid})
			srcUIDs[i] = uint32(r.uid)
		}
		tx.Publish(dst.AccountID, dstID)
		if move {
			if srcID == dstID { // Allocate moved the source's counters
				src = d
				src.HighestModSeq += uint64(len(list))
				src.UIDNext += uint32(len(list))
			}
			srcHighest = src.HighestModSeq + uint64(len(srcUIDs))
			return c.ExpungeUIDs(tx, src, srcUIDs)
		}
		return nil
	})
	if err != nil {
		return 0, nil, 0, err
	}
	return uidValidity, pairs, srcHighest, nil
}

// Changes implements store.Store. It reads in one snapshot, so the result
// is consistent.
func (c *Core) Changes(ctx context.Context, ref store.MailboxRef, since uint64) (changed []store.MessageMeta, vanished []uint32, highest uint64, err error) {
	err = c.db.Snapshot(ctx, func(r Reader) error {
		changed, vanished = nil, nil
		if err := r.QueryRow("SELECT highestmodseq FROM mailboxes WHERE "+RefWhere, RefArgs(ref)...).Scan(&highest); err != nil {
			if c.d.IsNoRows(err) {
				return RefNotFound(ref)
			}
			return err
		}
		rows, err := r.Query("SELECT "+MetaCols+" FROM messages WHERE mailbox_id = $1 AND modseq > $2 ORDER BY uid", ref.MailboxID, int64(since))
		if err != nil {
			return err
		}
		if changed, err = Collect(rows, ScanMeta); err != nil {
			return err
		}
		rows, err = r.Query("SELECT uid FROM expunged WHERE mailbox_id = $1 AND modseq > $2 ORDER BY uid", ref.MailboxID, int64(since))
		if err != nil {
			return err
		}
		vanished, err = CollectUIDs(rows)
		return err
	})
	if err != nil {
		return nil, nil, 0, err
	}
	return changed, vanished, highest, nil
}
