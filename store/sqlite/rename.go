package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

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
		src, err := txMailboxByName(tx, accountID, from)
		if err != nil {
			return fmt.Errorf("mailbox %q: %w", from, err)
		}
		if from == store.Inbox {
			return renameInbox(tx, src, to, s.now())
		}
		// Names to rename: the mailbox and its inferiors.
		lo, hi := inferiorRange(from)
		rows, err := tx.query("SELECT id, name FROM mailboxes WHERE account_id = ? AND name >= ? AND name < ?", accountID, lo, hi)
		if err != nil {
			return err
		}
		type ren struct {
			id       int64
			old, new string
		}
		list := []ren{{src.ID, from, to}}
		for rows.Next() {
			var r ren
			if err := rows.Scan(&r.id, &r.old); err != nil {
				rows.Close()
				return err
			}
			r.new = to + r.old[len(from):]
			list = append(list, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
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
			if _, err := tx.exec("UPDATE mailboxes SET name = ? WHERE id = ?", r.new, r.id); err != nil {
				return err
			}
			if _, err := tx.exec("UPDATE OR REPLACE subscriptions SET name = ? WHERE account_id = ? AND name = ?", r.new, accountID, r.old); err != nil {
				return err
			}
		}
		if err := createParents(tx, accountID, to, s.now()); err != nil {
			return err
		}
		tx.publish(accountID, 0)
		return nil
	})
}

// renameInbox creates mailbox to and moves INBOX's messages into it with
// their UIDs (the new mailbox has a new UIDVALIDITY, so any UIDs would do).
// Sessions with INBOX selected learn of the move as expunges.
func renameInbox(tx *wtx, inbox store.Mailbox, to string, nowNano int64) error {
	dst, err := createWithParents(tx, inbox.AccountID, to, "", nowNano)
	if err != nil {
		return err
	}
	var n int64
	if err := tx.queryRow("SELECT count(*) FROM messages WHERE mailbox_id = ?", inbox.ID).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		modseq := inbox.HighestModSeq + 1
		if _, err := tx.exec("INSERT INTO expunged(mailbox_id, uid, modseq) SELECT mailbox_id, uid, ? FROM messages WHERE mailbox_id = ?", modseq, inbox.ID); err != nil {
			return err
		}
		if _, err := tx.exec("UPDATE messages SET mailbox_id = ? WHERE mailbox_id = ?", dst.ID, inbox.ID); err != nil {
			return err
		}
		if _, err := tx.exec("UPDATE mailboxes SET highestmodseq = ? WHERE id = ?", modseq, inbox.ID); err != nil {
			return err
		}
	}
	if _, err := tx.exec("UPDATE mailboxes SET uidnext = ?, highestmodseq = ? WHERE id = ?", inbox.UIDNext, inbox.HighestModSeq, dst.ID); err != nil {
		return err
	}
	tx.publish(inbox.AccountID, inbox.ID)
	tx.publish(inbox.AccountID, 0)
	return nil
}

// createParents creates the missing superiors of name.
func createParents(tx *wtx, accountID int64, name string, nowNano int64) error {
	for _, p := range parents(name) {
		if _, err := txMailboxByName(tx, accountID, p); err == nil {
			continue
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if _, err := insertMailbox(tx, accountID, p, "", nowNano); err != nil {
			return err
		}
	}
	return nil
}

// Subscriptions implements store.Store.
func (s *Store) Subscriptions(ctx context.Context, accountID int64) ([]string, error) {
	rows, err := s.rQuery(ctx, "SELECT name FROM subscriptions WHERE account_id = ? ORDER BY name", accountID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// SetSubscribed implements store.Store. The name need not exist as a
// mailbox.
func (s *Store) SetSubscribed(ctx context.Context, accountID int64, name string, subscribed bool) error {
	name = store.CanonicalMailboxName(name)
	if err := validName(name); err != nil {
		return err
	}
	return s.write(ctx, func(tx *wtx) error {
		if err := txAccountExists(tx, accountID); err != nil {
			return err
		}
		var err error
		if subscribed {
			_, err = tx.exec("INSERT OR IGNORE INTO subscriptions(account_id, name) VALUES (?, ?)", accountID, name)
		} else {
			_, err = tx.exec("DELETE FROM subscriptions WHERE account_id = ? AND name = ?", accountID, name)
		}
		if err == nil {
			tx.publish(accountID, 0)
		}
		return err
	})
}

// MailboxStatus implements store.Store. It reads the mailbox row alone: the
// counters are kept by triggers on messages (migration 4).
func (s *Store) MailboxStatus(ctx context.Context, ref store.MailboxRef) (store.MailboxStatus, error) {
	var st store.MailboxStatus
	err := s.rQueryRow(ctx, "SELECT uidnext, uidvalidity, highestmodseq, n_messages, n_unseen, n_deleted, total_size FROM mailboxes WHERE "+refWhere,
		refArgs(ref)...).Scan(&st.UIDNext, &st.UIDValidity, &st.HighestModSeq, &st.Messages, &st.Unseen, &st.Deleted, &st.Size)
	if errors.Is(err, sql.ErrNoRows) {
		return store.MailboxStatus{}, refNotFound(ref)
	}
	return st, err
}

// ClaimRecent implements store.Store.
func (s *Store) ClaimRecent(ctx context.Context, ref store.MailboxRef) (first, next uint32, err error) {
	// Nothing new (the usual case at SELECT): a read, not a write
	// through the one writer. Only a claim moves recent_uid, upwards, so
	// a message that arrives after this read is claimed by the next call.
	err = s.rQueryRow(ctx, "SELECT recent_uid, uidnext FROM mailboxes WHERE "+refWhere, refArgs(ref)...).Scan(&first, &next)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, 0, refNotFound(ref)
	}
	if err != nil {
		return 0, 0, err
	}
	if first >= next {
		return next, next, nil
	}
	err = s.write(ctx, func(tx *wtx) error {
		err := tx.queryRow("SELECT recent_uid, uidnext FROM mailboxes WHERE "+refWhere, refArgs(ref)...).Scan(&first, &next)
		if errors.Is(err, sql.ErrNoRows) {
			return refNotFound(ref)
		}
		if err != nil {
			return err
		}
		if first >= next {
			return nil
		}
		_, err = tx.exec("UPDATE mailboxes SET recent_uid = ? WHERE id = ?", next, ref.MailboxID)
		return err
	})
	first = min(max(first, 1), next) // 0: a mailbox created with the column's default
	return first, next, err
}

// RecentCount implements store.Store.
func (s *Store) RecentCount(ctx context.Context, ref store.MailboxRef) (first, count uint32, err error) {
	err = s.rQueryRow(ctx, "SELECT recent_uid, (SELECT count(*) FROM messages WHERE mailbox_id = mailboxes.id AND uid >= mailboxes.recent_uid) FROM mailboxes WHERE "+refWhere,
		refArgs(ref)...).Scan(&first, &count)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, 0, refNotFound(ref)
	}
	return first, count, err
}
