package sqlcore

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/mailroom/mailroom/store"
)

// RenameMailbox implements store.Store. Inferiors are renamed with the
// mailbox and keep their UIDVALIDITY; subscriptions follow the rename.
// Missing superiors of the new name are created. Renaming INBOX moves its
// messages into a new mailbox and leaves INBOX empty (RFC 9051 §6.3.6).
func (c *Core) RenameMailbox(ctx context.Context, accountID int64, from, to string) error {
	from = store.CanonicalMailboxName(from)
	to = store.CanonicalMailboxName(to)
	if err := validName(to); err != nil {
		return err
	}
	if to == store.Inbox {
		return fmt.Errorf("%w: cannot rename onto INBOX", store.ErrInvalid)
	}
	if from != store.Inbox && strings.HasPrefix(to, from+string(store.Delimiter)) {
		return fmt.Errorf("%w: cannot rename %q into itself", store.ErrInvalid, from)
	}
	return c.write(ctx, func(tx Tx) error {
		if err := c.lockAccount(tx, accountID); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("mailbox %q: %w", from, store.ErrNotFound)
			}
			return err
		}
		src, err := c.txMailboxByName(tx, accountID, from)
		if err != nil {
			return fmt.Errorf("mailbox %q: %w", from, err)
		}
		if from == store.Inbox {
			return c.renameInbox(tx, src, to)
		}
		// Names to rename: the mailbox and its inferiors.
		lo, hi := inferiorRange(from)
		rows, err := tx.Query("SELECT id, name FROM mailboxes WHERE account_id = $1 AND name >= $2 AND name < $3", accountID, lo, hi)
		if err != nil {
			return err
		}
		type ren struct {
			id       int64
			old, new string
		}
		list := []ren{{src.ID, from, to}}
		inferiors, err := Collect(rows, func(rw Row) (ren, error) {
			var r ren
			err := rw.Scan(&r.id, &r.old)
			r.new = to + r.old[len(from):]
			return r, err
		})
		if err != nil {
			return err
		}
		list = append(list, inferiors...)
		for _, r := range list {
			if _, err := c.txMailboxByName(tx, accountID, r.new); err == nil {
				return fmt.Errorf("%w: mailbox %q", store.ErrExists, r.new)
			} else if !errors.Is(err, store.ErrNotFound) {
				return err
			}
		}
		for _, r := range list {
			if _, err := tx.Exec("UPDATE mailboxes SET name = $1 WHERE id = $2", r.new, r.id); err != nil {
				return err
			}
			// Move the subscription, replacing one of the new name.
			if _, err := tx.Exec(`UPDATE subscriptions SET name = $3 WHERE account_id = $1 AND name = $2
				AND NOT EXISTS (SELECT 1 FROM subscriptions WHERE account_id = $1 AND name = $3)`, accountID, r.old, r.new); err != nil {
				return err
			}
			if _, err := tx.Exec("DELETE FROM subscriptions WHERE account_id = $1 AND name = $2", accountID, r.old); err != nil {
				return err
			}
		}
		if err := c.createParents(tx, accountID, to); err != nil {
			return err
		}
		tx.Publish(accountID, 0)
		return nil
	})
}

// renameInbox creates mailbox to and moves INBOX's messages into it with
// their UIDs (the new mailbox has a new UIDVALIDITY, so any UIDs would do).
// Sessions with INBOX selected learn of the move as expunges.
func (c *Core) renameInbox(tx Tx, inbox store.Mailbox, to string) error {
	inbox, err := c.LockMailbox(tx, inbox.Ref())
	if err != nil {
		return err
	}
	dst, err := c.createWithParents(tx, inbox.AccountID, to, "")
	if err != nil {
		return err
	}
	n, err := tx.Exec("INSERT INTO expunged(mailbox_id, uid, modseq) SELECT mailbox_id, uid, $1 FROM messages WHERE mailbox_id = $2 ON CONFLICT (mailbox_id, uid) DO UPDATE SET modseq = EXCLUDED.modseq",
		inbox.HighestModSeq+1, inbox.ID)
	if err != nil {
		return err
	}
	if n > 0 {
		if _, err := tx.Exec("UPDATE messages SET mailbox_id = $1 WHERE mailbox_id = $2", dst.ID, inbox.ID); err != nil {
			return err
		}
		if _, err := tx.Exec("UPDATE mailboxes SET highestmodseq = $1 WHERE id = $2", inbox.HighestModSeq+1, inbox.ID); err != nil {
			return err
		}
	}
	if _, err := tx.Exec("UPDATE mailboxes SET uidnext = $1, highestmodseq = $2 WHERE id = $3", inbox.UIDNext, inbox.HighestModSeq, dst.ID); err != nil {
		return err
	}
	tx.Publish(inbox.AccountID, inbox.ID)
	tx.Publish(inbox.AccountID, 0)
	return nil
}

// Subscriptions implements store.Store.
func (c *Core) Subscriptions(ctx context.Context, accountID int64) ([]string, error) {
	rows, err := c.db.Query(ctx, "SELECT name FROM subscriptions WHERE account_id = $1 ORDER BY name", accountID)
	if err != nil {
		return nil, err
	}
	return Collect(rows, func(r Row) (string, error) {
		var name string
		err := r.Scan(&name)
		return name, err
	})
}

// SetSubscribed implements store.Store. The name need not exist as a
// mailbox.
func (c *Core) SetSubscribed(ctx context.Context, accountID int64, name string, subscribed bool) error {
	name = store.CanonicalMailboxName(name)
	if err := validName(name); err != nil {
		return err
	}
	return c.write(ctx, func(tx Tx) error {
		if err := c.lockAccount(tx, accountID); err != nil {
			return err
		}
		var err error
		if subscribed {
			_, err = tx.Exec("INSERT INTO subscriptions(account_id, name) VALUES ($1, $2) ON CONFLICT DO NOTHING", accountID, name)
		} else {
			_, err = tx.Exec("DELETE FROM subscriptions WHERE account_id = $1 AND name = $2", accountID, name)
		}
		if err == nil {
			tx.Publish(accountID, 0)
		}
		return err
	})
}

// MailboxStatus implements store.Store. It reads the mailbox row alone: the
// counters are kept by triggers on messages (migration 3).
func (c *Core) MailboxStatus(ctx context.Context, ref store.MailboxRef) (store.MailboxStatus, error) {
	var st store.MailboxStatus
	err := c.db.QueryRow(ctx, `SELECT uidnext, uidvalidity, highestmodseq, n_messages, n_unseen, n_deleted, total_size
		FROM mailboxes WHERE `+RefWhere, RefArgs(ref)...).
		Scan(&st.UIDNext, &st.UIDValidity, &st.HighestModSeq, &st.Messages, &st.Unseen, &st.Deleted, &st.Size)
	if c.d.IsNoRows(err) {
		return st, RefNotFound(ref)
	}
	return st, err
}

// RecentCount implements store.Store.
func (c *Core) RecentCount(ctx context.Context, ref store.MailboxRef) (first, count uint32, err error) {
	var f, n int64
	err = c.db.QueryRow(ctx, `SELECT recent_uid, (SELECT count(*) FROM messages WHERE mailbox_id = mailboxes.id AND uid >= mailboxes.recent_uid)
		FROM mailboxes WHERE `+RefWhere, RefArgs(ref)...).Scan(&f, &n)
	if c.d.IsNoRows(err) {
		return 0, 0, RefNotFound(ref)
	}
	return uint32(f), uint32(n), err
}
