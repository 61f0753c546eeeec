package sqlcore

import (
	"context"
	"errors"
	"fmt"

	"github.com/mailroom/mailroom/store"
)

// Replace implements store.Store: Append of one message to dstRef and the
// expunge of uid in srcRef, in one transaction (IMAP REPLACE, RFC 8508).
func (c *Core) Replace(ctx context.Context, srcRef store.MailboxRef, uid uint32, dstRef store.MailboxRef, msg store.NewMessage) (uint32, uint32, error) {
	p, err := c.prepare(msg)
	if err != nil {
		return 0, 0, err
	}
	var uidValidity, newUID uint32
	err = c.write(ctx, func(tx Tx) error {
		if err := c.LockMailboxes(tx, []int64{dstRef.MailboxID, srcRef.MailboxID}); err != nil {
			return err
		}
		src, err := c.ScanMailbox(tx.QueryRow("SELECT "+MailboxCols+" FROM mailboxes WHERE "+RefWhere, RefArgs(srcRef)...))
		if errors.Is(err, store.ErrNotFound) {
			return RefNotFound(srcRef)
		}
		if err != nil {
			return fmt.Errorf("mailbox %d: %w", srcRef.MailboxID, err)
		}
		var n int64
		if err := tx.QueryRow("SELECT count(*) FROM messages WHERE mailbox_id = $1 AND uid = $2", src.ID, int64(uid)).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("%w: message %d of mailbox %d", store.ErrNotFound, uid, src.ID)
		}
		d, err := c.Allocate(tx, dstRef, 1)
		if err != nil {
			return err
		}
		uidValidity, newUID = d.UIDValidity, d.UIDNext
		blobID, err := c.insertBlob(tx, &p)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(InsertMessageSQL, d.ID, newUID, d.HighestModSeq+1, p.Sys, p.Keywords, p.Date, p.TZ, len(p.Raw), p.WireSize, blobID, c.now()); err != nil {
			return err
		}
		tx.Publish(d.AccountID, d.ID)
		if src.ID == d.ID { // Allocate moved the counters
			src = d
			src.HighestModSeq++
			src.UIDNext++
		}
		tx.Publish(src.AccountID, src.ID)
		return c.ExpungeUIDs(tx, src, []uint32{uid})
	})
	if err != nil {
		return 0, 0, err
	}
	return uidValidity, newUID, nil
}
