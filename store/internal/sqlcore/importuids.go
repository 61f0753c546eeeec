package sqlcore

import (
	"context"
	"fmt"

	"github.com/mailroom/mailroom/store"
	"github.com/mailroom/mailroom/store/internal/uidcheck"
)

// AppendUIDs implements store.Store: msgs stored under the given UIDs
// (strictly ascending, the first at least UIDNEXT; uidcheck.Check).
func (c *Core) AppendUIDs(ctx context.Context, ref store.MailboxRef, msgs []store.NewMessage, uids []uint32) (uint32, error) {
	ps := make([]Prepared, len(msgs))
	for i, m := range msgs {
		var err error
		if ps[i], err = c.prepare(m); err != nil {
			return 0, err
		}
	}
	var uidValidity uint32
	err := c.write(ctx, func(tx Tx) error {
		m, err := c.LockMailbox(tx, ref)
		if err != nil {
			return err
		}
		if err := uidcheck.Check(m, len(ps), uids); err != nil {
			return err
		}
		uidValidity = m.UIDValidity
		if len(ps) == 0 {
			return nil
		}
		if _, err := tx.Exec("UPDATE mailboxes SET uidnext = $1, highestmodseq = highestmodseq + $2 WHERE id = $3",
			int64(uids[len(uids)-1])+1, len(ps), m.ID); err != nil {
			return err
		}
		for i := range ps {
			blobID, err := c.insertBlob(tx, &ps[i])
			if err != nil {
				return err
			}
			if _, err := tx.Exec(InsertMessageSQL, m.ID, int64(uids[i]), m.HighestModSeq+1+uint64(i), ps[i].Sys, ps[i].Keywords, ps[i].Date, ps[i].TZ, len(ps[i].Raw), ps[i].WireSize, blobID, c.now()); err != nil {
				return err
			}
		}
		tx.Publish(m.AccountID, m.ID)
		return nil
	})
	if err != nil {
		return 0, err
	}
	return uidValidity, nil
}

// SetUIDValidity implements store.Store: only for a mailbox that never held
// a message; the store's UIDVALIDITY counter moves past v so that no later
// mailbox gets it.
func (c *Core) SetUIDValidity(ctx context.Context, ref store.MailboxRef, v uint32) (store.Mailbox, error) {
	if v == 0 {
		return store.Mailbox{}, fmt.Errorf("%w: UIDVALIDITY 0", store.ErrInvalid)
	}
	var m store.Mailbox
	err := c.write(ctx, func(tx Tx) error {
		var err error
		if m, err = c.LockMailbox(tx, ref); err != nil {
			return err
		}
		if m.UIDNext != 1 {
			return fmt.Errorf("%w: mailbox %q has held messages (UIDNEXT %d)", store.ErrInvalid, m.Name, m.UIDNext)
		}
		if m.UIDValidity == v {
			return nil
		}
		if _, err := tx.Exec("UPDATE mailboxes SET uidvalidity = $1 WHERE id = $2", int64(v), m.ID); err != nil {
			return err
		}
		if err := c.d.RaiseUIDValidity(tx, v); err != nil {
			return err
		}
		m.UIDValidity = v
		tx.Publish(m.AccountID, m.ID)
		tx.Publish(m.AccountID, 0)
		return nil
	})
	return m, err
}
