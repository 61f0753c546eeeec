package postgres

import (
	"context"
	"fmt"

	"github.com/mailroom/mailroom/store"
	"github.com/mailroom/mailroom/store/internal/uidcheck"
)

// AppendUIDs implements store.Store.
func (s *Store) AppendUIDs(ctx context.Context, ref store.MailboxRef, msgs []store.NewMessage, uids []uint32) (uint32, error) {
	ps := make([]prepared, len(msgs))
	for i, m := range msgs {
		var err error
		if ps[i], err = s.prepare(m); err != nil {
			return 0, err
		}
	}
	var uidValidity uint32
	err := s.write(ctx, func(tx *wtx) error {
		m, err := txLockMailbox(tx, ref)
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
		if _, err := tx.exec("UPDATE mailboxes SET uidnext = $1, highestmodseq = highestmodseq + $2 WHERE id = $3",
			int64(uids[len(uids)-1])+1, len(ps), m.ID); err != nil {
			return err
		}
		for i := range ps {
			blobID, err := insertBlob(tx, &ps[i])
			if err != nil {
				return err
			}
			if _, err := tx.exec(insertMessageSQL, m.ID, int64(uids[i]), m.HighestModSeq+1+uint64(i), ps[i].sys, ps[i].keywords, ps[i].date, ps[i].tz, len(ps[i].raw), ps[i].wireSize, blobID); err != nil {
				return err
			}
		}
		tx.publish(m.AccountID, m.ID)
		return nil
	})
	if err != nil {
		return 0, err
	}
	return uidValidity, nil
}

// SetUIDValidity implements store.Store.
func (s *Store) SetUIDValidity(ctx context.Context, ref store.MailboxRef, v uint32) (store.Mailbox, error) {
	if v == 0 {
		return store.Mailbox{}, fmt.Errorf("%w: UIDVALIDITY 0", store.ErrInvalid)
	}
	var m store.Mailbox
	err := s.write(ctx, func(tx *wtx) error {
		var err error
		if m, err = txLockMailbox(tx, ref); err != nil {
			return err
		}
		if m.UIDNext != 1 {
			return fmt.Errorf("%w: mailbox %q has held messages (UIDNEXT %d)", store.ErrInvalid, m.Name, m.UIDNext)
		}
		if m.UIDValidity == v {
			return nil
		}
		if _, err := tx.exec("UPDATE mailboxes SET uidvalidity = $1 WHERE id = $2", int64(v), m.ID); err != nil {
			return err
		}
		// Sequences are not transactional: moved even if the
		// transaction is rolled back, which only skips values.
		if _, err := tx.exec("SELECT setval('uidvalidity_seq', $1::bigint) WHERE $1::bigint > (SELECT last_value FROM uidvalidity_seq)", int64(v)); err != nil {
			return err
		}
		m.UIDValidity = v
		tx.publish(m.AccountID, m.ID)
		tx.publish(m.AccountID, 0)
		return nil
	})
	return m, err
}
