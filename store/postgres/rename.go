package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/mailroom/mailroom/store"
)

// RenameMailbox implements store.Store. Inferiors are renamed with the
// mailbox and keep their UIDVALIDITY; subscriptions follow the rename.
// Missing superiors of the new name are created. Renaming INBOX moves its
// messages into a new mailbox and leaves INBOX empty (RFC 9051 §6.3.6).
func (s *Store) RenameMailbox(ctx context.Context, accountID int64, from, to string) error {
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
	return s.write(ctx, func(tx *wtx) error {
		if err := txLockAccount(tx, accountID); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("mailbox %q: %w", from, store.ErrNotFound)
			}
			return err
		}
		src, err := txMailboxByName(tx, accountID, from)
		if err != nil {
			return fmt.Errorf("mailbox %q: %w", from, err)
		}
		if from == store.Inbox {
			return renameInbox(tx, src, to)
		}
		// Names to rename: the mailbox and its inferiors.
		lo, hi := inferiorRange(from)
		rows, err := tx.query("SELECT id, name FROM mailboxes WHERE account_id = $1 AND name >= $2 AND name < $3", accountID, lo, hi)
		if err != nil {
			return err
		}
		type ren struct {
			id       int64
			old, new string
		}
		list := []ren{{src.ID, from, to}}
		var r ren
		if _, err := pgx.ForEachRow(rows, []any{&r.id, &r.old}, func() error {
			list = append(list, ren{r.id, r.old, to + r.old[len(from):]})
			return nil
		}); err != nil {
			return err
		}
		for _, r := range list {
			if _, err := txMailboxByName(tx, accountID, r.new); err == nil {
				return fmt.Errorf("%w: mailbox %q", store.ErrExists, r.new)
			} else if !errors.Is(err, store.ErrNotFound) {
				return err
			}
		}
		for _, r := range list {
			if _, err := tx.exec("UPDATE mailboxes SET name = $1 WHERE id = $2", r.new, r.id); err != nil {
				return err
			}
			// Move the subscription, replacing one of the new name.
			if _, err := tx.exec(`WITH old AS (DELETE FROM subscriptions WHERE account_id = $1 AND name = $2 RETURNING account_id)
				INSERT INTO subscriptions(account_id, name) SELECT account_id, $3 FROM old ON CONFLICT DO NOTHING`, accountID, r.old, r.new); err != nil {
				return err
			}
		}
		if err := createParents(tx, accountID, to); err != nil {
			return err
		}
		tx.publish(accountID, 0)
		return nil
	})
}

// renameInbox creates mailbox to and moves INBOX's messages into it with
// their UIDs (the new mailbox has a new UIDVALIDITY, so any UIDs would do).
// Sessions with INBOX selected learn of the move as expunges.
func renameInbox(tx *wtx, inbox store.Mailbox, to string) error {
	inbox, err := txLockMailbox(tx, inbox.Ref())
	if err != nil {
		return err
	}
	dst, err := createWithParents(tx, inbox.AccountID, to, "")
	if err != nil {
		return err
	}
	tag, err := tx.exec("INSERT INTO expunged(mailbox_id, uid, modseq) SELECT mailbox_id, uid, $1 FROM messages WHERE mailbox_id = $2 ON CONFLICT (mailbox_id, uid) DO UPDATE SET modseq = EXCLUDED.modseq",
		inbox.HighestModSeq+1, inbox.ID)
	if err != nil {
		return err
	}
	if tag.RowsAffected() > 0 {
		if _, err := tx.exec("UPDATE messages SET mailbox_id = $1 WHERE mailbox_id = $2", dst.ID, inbox.ID); err != nil {
			return err
		}
		if _, err := tx.exec("UPDATE mailboxes SET highestmodseq = $1 WHERE id = $2", inbox.HighestModSeq+1, inbox.ID); err != nil {
			return err
		}
	}
	if _, err := tx.exec("UPDATE mailboxes SET uidnext = $1, highestmodseq = $2 WHERE id = $3", inbox.UIDNext, inbox.HighestModSeq, dst.ID); err != nil {
		return err
	}
	tx.publish(inbox.AccountID, inbox.ID)
	tx.publish(inbox.AccountID, 0)
	return nil
}

// Subscriptions implements store.Store.
func (s *Store) Subscriptions(ctx context.Context, accountID int64) ([]string, error) {
	rows, err := s.pool.Query(ctx, "SELECT name FROM subscriptions WHERE account_id = $1 ORDER BY name", accountID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// SetSubscribed implements store.Store. The name need not exist as a
// mailbox.
func (s *Store) SetSubscribed(ctx context.Context, accountID int64, name string, subscribed bool) error {
	name = store.CanonicalMailboxName(name)
	if err := validName(name); err != nil {
		return err
	}
	return s.write(ctx, func(tx *wtx) error {
		if err := txLockAccount(tx, accountID); err != nil {
			return err
		}
		var err error
		if subscribed {
			_, err = tx.exec("INSERT INTO subscriptions(account_id, name) VALUES ($1, $2) ON CONFLICT DO NOTHING", accountID, name)
		} else {
			_, err = tx.exec("DELETE FROM subscriptions WHERE account_id = $1 AND name = $2", accountID, name)
		}
		if err == nil {
			tx.publish(accountID, 0)
		}
		return err
	})
}

// MailboxStatus implements store.Store. It reads the mailbox row alone: the
// counters are kept by triggers on messages (migration 3).
func (s *Store) MailboxStatus(ctx context.Context, ref store.MailboxRef) (store.MailboxStatus, error) {
	var st store.MailboxStatus
	err := s.pool.QueryRow(ctx, `SELECT uidnext, uidvalidity, highestmodseq, n_messages, n_unseen, n_deleted, total_size
		FROM mailboxes WHERE `+refWhere, refArgs(ref)...).
		Scan(&st.UIDNext, &st.UIDValidity, &st.HighestModSeq, &st.Messages, &st.Unseen, &st.Deleted, &st.Size)
	if isNoRows(err) {
		return st, refNotFound(ref)
	}
	return st, err
}

// ClaimRecent implements store.Store. One UPDATE takes the range: the
// row lock makes concurrent claims, from any node, take turns.
func (s *Store) ClaimRecent(ctx context.Context, ref store.MailboxRef) (first, next uint32, err error) {
	var f, n int64
	err = s.pool.QueryRow(ctx, `UPDATE mailboxes m SET recent_uid = m.uidnext
		FROM (SELECT id, recent_uid FROM mailboxes WHERE `+refWhere+` AND recent_uid < uidnext FOR UPDATE) old
		WHERE m.id = old.id AND m.recent_uid < m.uidnext RETURNING old.recent_uid, m.uidnext`, refArgs(ref)...).Scan(&f, &n)
	if isNoRows(err) {
		// Nothing to take (no row version written), or no such mailbox.
		err = s.pool.QueryRow(ctx, "SELECT uidnext FROM mailboxes WHERE "+refWhere, refArgs(ref)...).Scan(&n)
		if isNoRows(err) {
			return 0, 0, refNotFound(ref)
		}
		return uint32(n), uint32(n), err
	}
	if err != nil {
		return 0, 0, err
	}
	return uint32(min(max(f, 1), n)), uint32(n), nil // 0: the column's default
}

// RecentCount implements store.Store.
func (s *Store) RecentCount(ctx context.Context, ref store.MailboxRef) (first, count uint32, err error) {
	var f, c int64
	err = s.pool.QueryRow(ctx, `SELECT recent_uid, (SELECT count(*) FROM messages WHERE mailbox_id = mailboxes.id AND uid >= mailboxes.recent_uid)
		FROM mailboxes WHERE `+refWhere, refArgs(ref)...).Scan(&f, &c)
	if isNoRows(err) {
		return 0, 0, refNotFound(ref)
	}
	return uint32(f), uint32(c), err
}
