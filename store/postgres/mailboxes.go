package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/mailroom/mailroom/store"
)

const mailboxCols = "id, account_id, name, special_use, uidvalidity, uidnext, highestmodseq"

func scanMailbox(row scanner) (store.Mailbox, error) {
	var m store.Mailbox
	if err := row.Scan(&m.ID, &m.AccountID, &m.Name, &m.SpecialUse, &m.UIDValidity, &m.UIDNext, &m.HighestModSeq); err != nil {
		if isNoRows(err) {
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

// insertMailbox creates a mailbox with a new UIDVALIDITY from
// uidvalidity_seq.
func insertMailbox(tx *wtx, accountID int64, name, specialUse string) (store.Mailbox, error) {
	return scanMailbox(tx.queryRow(`INSERT INTO mailboxes(account_id, name, special_use, uidvalidity, uidnext, highestmodseq)
		VALUES ($1, $2, $3, nextval('uidvalidity_seq'), 1, 1) RETURNING `+mailboxCols, accountID, name, specialUse))
}

// createWithParents creates name and any missing superiors (RFC 9051
// §6.3.3). It returns ErrExists if name itself exists.
func createWithParents(tx *wtx, accountID int64, name, specialUse string) (store.Mailbox, error) {
	if _, err := txMailboxByName(tx, accountID, name); err == nil {
		return store.Mailbox{}, fmt.Errorf("%w: mailbox %q", store.ErrExists, name)
	} else if !errors.Is(err, store.ErrNotFound) {
		return store.Mailbox{}, err
	}
	if err := createParents(tx, accountID, name); err != nil {
		return store.Mailbox{}, err
	}
	return insertMailbox(tx, accountID, name, specialUse)
}

// createParents creates the missing superiors of name.
func createParents(tx *wtx, accountID int64, name string) error {
	for _, p := range parents(name) {
		if _, err := tx.exec(`INSERT INTO mailboxes(account_id, name, special_use, uidvalidity, uidnext, highestmodseq)
			VALUES ($1, $2, '', nextval('uidvalidity_seq'), 1, 1) ON CONFLICT (account_id, name) DO NOTHING`, accountID, p); err != nil {
			return err
		}
	}
	return nil
}

func txMailboxByName(tx *wtx, accountID int64, name string) (store.Mailbox, error) {
	return scanMailbox(tx.queryRow("SELECT "+mailboxCols+" FROM mailboxes WHERE account_id = $1 AND name = $2", accountID, name))
}

// txLockMailbox reads a mailbox and locks its row until the transaction
// ends: the writer that holds it is the only one to change its counters.
func txLockMailbox(tx *wtx, ref store.MailboxRef) (store.Mailbox, error) {
	m, err := scanMailbox(tx.queryRow("SELECT "+mailboxCols+" FROM mailboxes WHERE "+refWhere+" FOR UPDATE", refArgs(ref)...))
	if errors.Is(err, store.ErrNotFound) {
		err = refNotFound(ref)
	}
	return m, err
}

// refWhere selects the mailbox a store.MailboxRef names ($1..$3 are
// refArgs), only if its account owns it and (when given) its UIDVALIDITY
// matches.
const refWhere = "id = $1 AND account_id = $2 AND ($3::bigint = 0 OR uidvalidity = $3::bigint)"

func refArgs(ref store.MailboxRef) []any {
	return []any{ref.MailboxID, ref.AccountID, int64(ref.UIDValidity)}
}

func refNotFound(ref store.MailboxRef) error {
	return fmt.Errorf("%w: mailbox %d of account %d", store.ErrNotFound, ref.MailboxID, ref.AccountID)
}

// txLockAccount locks an account row, serializing changes to its mailbox
// list across nodes (FOR NO KEY UPDATE does not block inserts that
// reference the account).
func txLockAccount(tx *wtx, accountID int64) error {
	var id int64
	err := tx.queryRow("SELECT id FROM accounts WHERE id = $1 FOR NO KEY UPDATE", accountID).Scan(&id)
	if isNoRows(err) {
		return fmt.Errorf("%w: account %d", store.ErrNotFound, accountID)
	}
	return err
}

// Mailboxes implements store.Store.
func (s *Store) Mailboxes(ctx context.Context, accountID int64) ([]store.Mailbox, error) {
	rows, err := s.pool.Query(ctx, "SELECT "+mailboxCols+" FROM mailboxes WHERE account_id = $1 ORDER BY name", accountID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Mailbox, error) { return scanMailbox(r) })
}

// MailboxByName implements store.Store.
func (s *Store) MailboxByName(ctx context.Context, accountID int64, name string) (store.Mailbox, error) {
	name = store.CanonicalMailboxName(name)
	m, err := scanMailbox(s.pool.QueryRow(ctx, "SELECT "+mailboxCols+" FROM mailboxes WHERE account_id = $1 AND name = $2", accountID, name))
	if errors.Is(err, store.ErrNotFound) {
		err = fmt.Errorf("%w: mailbox %q", store.ErrNotFound, name)
	}
	return m, err
}

// MailboxByID implements store.Store.
func (s *Store) MailboxByID(ctx context.Context, ref store.MailboxRef) (store.Mailbox, error) {
	m, err := scanMailbox(s.pool.QueryRow(ctx, "SELECT "+mailboxCols+" FROM mailboxes WHERE "+refWhere, refArgs(ref)...))
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
		if err := txLockAccount(tx, accountID); err != nil {
			return err
		}
		var err error
		if m, err = createWithParents(tx, accountID, name, specialUse); err != nil {
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
		if err := txLockAccount(tx, accountID); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("mailbox %q: %w", name, store.ErrNotFound)
			}
			return err
		}
		m, err := txMailboxByName(tx, accountID, name)
		if err != nil {
			return fmt.Errorf("mailbox %q: %w", name, err)
		}
		var children bool
		lo, hi := inferiorRange(name)
		if err := tx.queryRow("SELECT EXISTS (SELECT 1 FROM mailboxes WHERE account_id = $1 AND name >= $2 AND name < $3)",
			accountID, lo, hi).Scan(&children); err != nil {
			return err
		}
		if children {
			return fmt.Errorf("%w: %q", store.ErrHasChildren, name)
		}
		if _, err := tx.exec("DELETE FROM mailboxes WHERE id = $1", m.ID); err != nil {
			return err
		}
		tx.publish(accountID, m.ID)
		tx.publish(accountID, 0)
		return nil
	})
}

// inferiorRange returns the bounds [lo, hi) of the names of name's
// inferiors under byte-wise (COLLATE "C") order: every name that starts
// with name + Delimiter.
func inferiorRange(name string) (lo, hi string) {
	return name + string(store.Delimiter), name + string(store.Delimiter+1)
}
