package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/mailroom/mailroom/store"
)

const mailboxCols = "id, account_id, name, special_use, uidvalidity, uidnext, highestmodseq"

type scanner interface{ Scan(...any) error }

func scanMailbox(row scanner) (store.Mailbox, error) {
	var m store.Mailbox
	if err := row.Scan(&m.ID, &m.AccountID, &m.Name, &m.SpecialUse, &m.UIDValidity, &m.UIDNext, &m.HighestModSeq); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return m, store.ErrNotFound
		}
		return m, err
	}
	return m, nil
}

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

// nextUIDValidity takes the next value of the UIDVALIDITY counter, which is
// at least the current unix time in seconds: values are unique and
// increasing over the life of the database, even across deletions.
func nextUIDValidity(tx *wtx, nowNano int64) (uint32, error) {
	var v uint32
	err := tx.queryRow("UPDATE settings SET value = max(value + 1, ?) WHERE key = 'uidvalidity' RETURNING value",
		nowNano/1e9).Scan(&v)
	return v, err
}

func insertMailbox(tx *wtx, accountID int64, name, specialUse string, nowNano int64) (store.Mailbox, error) {
	v, err := nextUIDValidity(tx, nowNano)
	if err != nil {
		return store.Mailbox{}, err
	}
	m := store.Mailbox{AccountID: accountID, Name: name, SpecialUse: specialUse, UIDValidity: v, UIDNext: 1, HighestModSeq: 1}
	res, err := tx.exec("INSERT INTO mailboxes(account_id, name, special_use, uidvalidity, uidnext, highestmodseq) VALUES (?, ?, ?, ?, 1, 1)",
		accountID, name, specialUse, v)
	if err != nil {
		return m, err
	}
	m.ID, err = res.LastInsertId()
	return m, err
}

// createWithParents creates name and any missing superiors (RFC 9051
// §6.3.3). It returns ErrExists if name itself exists.
func createWithParents(tx *wtx, accountID int64, name, specialUse string, nowNano int64) (store.Mailbox, error) {
	if _, err := txMailboxByName(tx, accountID, name); err == nil {
		return store.Mailbox{}, fmt.Errorf("%w: mailbox %q", store.ErrExists, name)
	} else if !errors.Is(err, store.ErrNotFound) {
		return store.Mailbox{}, err
	}
	if err := createParents(tx, accountID, name, nowNano); err != nil {
		return store.Mailbox{}, err
	}
	return insertMailbox(tx, accountID, name, specialUse, nowNano)
}

func txMailboxByName(tx *wtx, accountID int64, name string) (store.Mailbox, error) {
	return scanMailbox(tx.queryRow("SELECT "+mailboxCols+" FROM mailboxes WHERE account_id = ? AND name = ?", accountID, name))
}

// refWhere selects the mailbox a store.MailboxRef names, only if its
// account owns it and (when given) its UIDVALIDITY matches; refArgs are
// its arguments.
const refWhere = "id = ? AND account_id = ? AND (? = 0 OR uidvalidity = ?)"

func refArgs(ref store.MailboxRef) []any {
	return []any{ref.MailboxID, ref.AccountID, ref.UIDValidity, ref.UIDValidity}
}

func refNotFound(ref store.MailboxRef) error {
	return fmt.Errorf("%w: mailbox %d of account %d", store.ErrNotFound, ref.MailboxID, ref.AccountID)
}

func txMailboxByRef(tx *wtx, ref store.MailboxRef) (store.Mailbox, error) {
	m, err := scanMailbox(tx.queryRow("SELECT "+mailboxCols+" FROM mailboxes WHERE "+refWhere, refArgs(ref)...))
	if errors.Is(err, store.ErrNotFound) {
		err = refNotFound(ref)
	}
	return m, err
}

func txAccountExists(tx *wtx, accountID int64) error {
	var n int
	if err := tx.queryRow("SELECT count(*) FROM accounts WHERE id = ?", accountID).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("%w: account %d", store.ErrNotFound, accountID)
	}
	return nil
}

// Mailboxes implements store.Store.
func (s *Store) Mailboxes(ctx context.Context, accountID int64) ([]store.Mailbox, error) {
	rows, err := s.rQuery(ctx, "SELECT "+mailboxCols+" FROM mailboxes WHERE account_id = ? ORDER BY name", accountID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Mailbox
	for rows.Next() {
		m, err := scanMailbox(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// MailboxByName implements store.Store.
func (s *Store) MailboxByName(ctx context.Context, accountID int64, name string) (store.Mailbox, error) {
	name = store.CanonicalMailboxName(name)
	m, err := scanMailbox(s.rQueryRow(ctx, "SELECT "+mailboxCols+" FROM mailboxes WHERE account_id = ? AND name = ?", accountID, name))
	if errors.Is(err, store.ErrNotFound) {
		err = fmt.Errorf("%w: mailbox %q", store.ErrNotFound, name)
	}
	return m, err
}

// MailboxByID implements store.Store.
func (s *Store) MailboxByID(ctx context.Context, ref store.MailboxRef) (store.Mailbox, error) {
	m, err := scanMailbox(s.rQueryRow(ctx, "SELECT "+mailboxCols+" FROM mailboxes WHERE "+refWhere, refArgs(ref)...))
	if errors.Is(err, store.ErrNotFound) {
		err = refNotFound(ref)
	}
	return m, err
}

// CreateMailbox implements store.Store. Missing superiors are created too.
func (s *Store) CreateMailbox(ctx context.Context, accountID int64, name, specialUse string) (store.Mailbox, error) {
	name = store.CanonicalMailboxName(name)
	if err := validName(name); err != nil {
		return store.Mailbox{}, err
	}
	var m store.Mailbox
	err := s.write(ctx, func(tx *wtx) error {
		if err := txAccountExists(tx, accountID); err != nil {
			return err
		}
		var err error
		if m, err = createWithParents(tx, accountID, name, specialUse, s.now()); err != nil {
			return err
		}
		tx.publish(accountID, 0)
		return nil
	})
	return m, err
}

// DeleteMailbox implements store.Store.
func (s *Store) DeleteMailbox(ctx context.Context, accountID int64, name string) error {
	name = store.CanonicalMailboxName(name)
	if name == store.Inbox {
		return fmt.Errorf("%w: cannot delete INBOX", store.ErrInvalid)
	}
	return s.write(ctx, func(tx *wtx) error {
		m, err := txMailboxByName(tx, accountID, name)
		if err != nil {
			return fmt.Errorf("mailbox %q: %w", name, err)
		}
		var children int
		lo, hi := inferiorRange(name)
		if err := tx.queryRow("SELECT count(*) FROM mailboxes WHERE account_id = ? AND name >= ? AND name < ?",
			accountID, lo, hi).Scan(&children); err != nil {
			return err
		}
		if children > 0 {
			return fmt.Errorf("%w: %q", store.ErrHasChildren, name)
		}
		if _, err := tx.exec("DELETE FROM mailboxes WHERE id = ?", m.ID); err != nil {
			return err
		}
		tx.publish(accountID, m.ID)
		tx.publish(accountID, 0)
		return nil
	})
}

// inferiorRange returns the bounds [lo, hi) of the names of name's
// inferiors under SQLite's BINARY (byte-wise) collation: every name that
// starts with name + Delimiter.
func inferiorRange(name string) (lo, hi string) {
	return name + string(store.Delimiter), name + string(store.Delimiter+1)
}
