package sqlcore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/mailroom/mailroom/store"
)

// validName checks a canonical mailbox name.
func validName(name string) error {
	if name == "" || !utf8.ValidString(name) || strings.ContainsAny(name, "*%\r\n\x00") ||
		name[0] == byte(store.Delimiter) || strings.Contains(name, string([]rune{store.Delimiter, store.Delimiter})) {
		return fmt.Errorf("%w: mailbox name %q", store.ErrInvalid, name)
	}
	return nil
}

// parents returns the superior names of name, outermost first: "a/b/c"
// gives "a", "a/b".
func parents(name string) []string {
	var out []string
	for i := 0; i < len(name); i++ {
		if name[i] == byte(store.Delimiter) {
			out = append(out, name[:i])
		}
	}
	return out
}

// createWithParents creates name and any missing superiors (RFC 9051
// §6.3.3). It returns ErrExists if name itself exists.
func (c *Core) createWithParents(tx Tx, accountID int64, name, specialUse string) (store.Mailbox, error) {
	if _, err := c.txMailboxByName(tx, accountID, name); err == nil {
		return store.Mailbox{}, fmt.Errorf("%w: mailbox %q", store.ErrExists, name)
	} else if !errors.Is(err, store.ErrNotFound) {
		return store.Mailbox{}, err
	}
	if err := c.createParents(tx, accountID, name); err != nil {
		return store.Mailbox{}, err
	}
	return c.d.InsertMailbox(tx, accountID, name, specialUse, c.now())
}

// createParents creates the missing superiors of name.
func (c *Core) createParents(tx Tx, accountID int64, name string) error {
	for _, p := range parents(name) {
		if _, err := c.txMailboxByName(tx, accountID, p); err == nil {
			continue
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if _, err := c.d.InsertMailbox(tx, accountID, p, "", c.now()); err != nil {
			return err
		}
	}
	return nil
}

func (c *Core) txMailboxByName(tx Tx, accountID int64, name string) (store.Mailbox, error) {
	return c.ScanMailbox(tx.QueryRow("SELECT "+MailboxCols+" FROM mailboxes WHERE account_id = $1 AND name = $2", accountID, name))
}

// lockAccount checks that an account exists and locks its row,
// serializing changes to its mailbox list across nodes (FOR NO KEY UPDATE
// does not block inserts that reference the account).
func (c *Core) lockAccount(tx Tx, accountID int64) error {
	var id int64
	err := tx.QueryRow("SELECT id FROM accounts WHERE id = $1"+c.d.RowLock("NO KEY UPDATE"), accountID).Scan(&id)
	if c.d.IsNoRows(err) {
		return fmt.Errorf("%w: account %d", store.ErrNotFound, accountID)
	}
	return err
}

// Mailboxes implements store.Store.
func (c *Core) Mailboxes(ctx context.Context, accountID int64) ([]store.Mailbox, error) {
	rows, err := c.db.Query(ctx, "SELECT "+MailboxCols+" FROM mailboxes WHERE account_id = $1 ORDER BY name", accountID)
	if err != nil {
		return nil, err
	}
	return Collect(rows, c.ScanMailbox)
}

// MailboxByName implements store.Store.
func (c *Core) MailboxByName(ctx context.Context, accountID int64, name string) (store.Mailbox, error) {
	name = store.CanonicalMailboxName(name)
	m, err := c.ScanMailbox(c.db.QueryRow(ctx, "SELECT "+MailboxCols+" FROM mailboxes WHERE account_id = $1 AND name = $2", accountID, name))
	if errors.Is(err, store.ErrNotFound) {
		err = fmt.Errorf("%w: mailbox %q", store.ErrNotFound, name)
	}
	return m, err
}

// MailboxStatusByName implements store.Store: MailboxByName and
// MailboxStatus in one statement (one round trip on PostgreSQL).
func (c *Core) MailboxStatusByName(ctx context.Context, accountID int64, name string) (store.Mailbox, store.MailboxStatus, error) {
	name = store.CanonicalMailboxName(name)
	var m store.Mailbox
	var st store.MailboxStatus
	err := c.db.QueryRow(ctx, "SELECT "+MailboxCols+", n_messages, n_unseen, n_deleted, total_size FROM mailboxes WHERE account_id = $1 AND name = $2", accountID, name).
		Scan(&m.ID, &m.AccountID, &m.Name, &m.SpecialUse, &m.UIDValidity, &m.UIDNext, &m.HighestModSeq, &st.Messages, &st.Unseen, &st.Deleted, &st.Size)
	if c.d.IsNoRows(err) {
		return store.Mailbox{}, store.MailboxStatus{}, fmt.Errorf("%w: mailbox %q", store.ErrNotFound, name)
	}
	if err != nil {
		return store.Mailbox{}, store.MailboxStatus{}, err
	}
	st.UIDNext, st.UIDValidity, st.HighestModSeq = m.UIDNext, m.UIDValidity, m.HighestModSeq
	return m, st, nil
}

// MailboxByID implements store.Store.
func (c *Core) MailboxByID(ctx context.Context, ref store.MailboxRef) (store.Mailbox, error) {
	m, err := c.ScanMailbox(c.db.QueryRow(ctx, "SELECT "+MailboxCols+" FROM mailboxes WHERE "+RefWhere, RefArgs(ref)...))
	if errors.Is(err, store.ErrNotFound) {
		err = RefNotFound(ref)
	}
	return m, err
}

// CreateMailbox implements store.Store. Missing superiors are created too.
func (c *Core) CreateMailbox(ctx context.Context, accountID int64, name, specialUse string) (store.Mailbox, error) {
	name = store.CanonicalMailboxName(name)
	if err := validName(name); err != nil {
		return store.Mailbox{}, err
	}
	var m store.Mailbox
	err := c.write(ctx, func(tx Tx) error {
		if err := c.lockAccount(tx, accountID); err != nil {
			return err
		}
		var err error
		if m, err = c.createWithParents(tx, accountID, name, specialUse); err != nil {
			return err
		}
		tx.Publish(accountID, 0)
		return nil
	})
	return m, err
}

// DeleteMailbox implements store.Store.
func (c *Core) DeleteMailbox(ctx context.Context, accountID int64, name string) error {
	name = store.CanonicalMailboxName(name)
	if name == store.Inbox {
		return fmt.Errorf("%w: cannot delete INBOX", store.ErrInvalid)
	}
	return c.write(ctx, func(tx Tx) error {
		if err := c.lockAccount(tx, accountID); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("mailbox %q: %w", name, store.ErrNotFound)
			}
			return err
		}
		m, err := c.txMailboxByName(tx, accountID, name)
		if err != nil {
			return fmt.Errorf("mailbox %q: %w", name, err)
		}
		var children int
		lo, hi := inferiorRange(name)
		if err := tx.QueryRow("SELECT count(*) FROM (SELECT 1 FROM mailboxes WHERE account_id = $1 AND name >= $2 AND name < $3 LIMIT 1) AS t",
			accountID, lo, hi).Scan(&children); err != nil {
			return err
		}
		if children > 0 {
			return fmt.Errorf("%w: %q", store.ErrHasChildren, name)
		}
		if _, err := tx.Exec("DELETE FROM mailboxes WHERE id = $1", m.ID); err != nil {
			return err
		}
		if err := deleteMailboxAnnotations(tx, accountID, m.ID); err != nil {
			return err
		}
		tx.Publish(accountID, m.ID)
		tx.Publish(accountID, 0)
		return nil
	})
}

// inferiorRange returns the bounds [lo, hi) of the names of name's
// inferiors under byte-wise order (SQLite's BINARY, PostgreSQL's COLLATE
// "C"): every name that starts
// with name + Delimiter.
func inferiorRange(name string) (lo, hi string) {
	return name + string(store.Delimiter), name + string(store.Delimiter+1)
}
