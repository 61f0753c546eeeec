package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mailroom/mailroom/store"
)

// CreateAccount implements store.Store.
func (s *Store) CreateAccount(ctx context.Context, email, passwordHash string) (store.Account, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	domain, ok := emailDomain(email)
	if !ok {
		return store.Account{}, fmt.Errorf("%w: bad email address %q", store.ErrInvalid, email)
	}
	created := s.now()
	acc := store.Account{Email: email, PasswordHash: passwordHash, Created: time.Unix(0, created)}
	err := s.write(ctx, func(tx *wtx) error {
		var n int
		if err := tx.queryRow("SELECT count(*) FROM accounts WHERE email = ?", email).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("%w: account %s", store.ErrExists, email)
		}
		res, err := tx.exec("INSERT INTO accounts(email, domain, password_hash, created) VALUES (?, ?, ?, ?)",
			email, domain, passwordHash, created)
		if err != nil {
			return err
		}
		if acc.ID, err = res.LastInsertId(); err != nil {
			return err
		}
		for _, d := range store.DefaultMailboxes {
			if _, err := insertMailbox(tx, acc.ID, d.Name, d.SpecialUse, s.now()); err != nil {
				return err
			}
			if _, err := tx.exec("INSERT OR IGNORE INTO subscriptions(account_id, name) VALUES (?, ?)", acc.ID, d.Name); err != nil {
				return err
			}
		}
		tx.publish(acc.ID, 0)
		return nil
	})
	if err != nil {
		return store.Account{}, err
	}
	return acc, nil
}

func emailDomain(email string) (string, bool) {
	at := strings.LastIndexByte(email, '@')
	if at <= 0 || at == len(email)-1 || strings.ContainsAny(email, " \t\r\n") {
		return "", false
	}
	return email[at+1:], true
}

const accountCols = "id, email, password_hash, created"

func scanAccount(row interface{ Scan(...any) error }) (store.Account, error) {
	var a store.Account
	var created int64
	if err := row.Scan(&a.ID, &a.Email, &a.PasswordHash, &created); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return a, store.ErrNotFound
		}
		return a, err
	}
	a.Created = time.Unix(0, created)
	return a, nil
}

// AccountByEmail implements store.Store.
func (s *Store) AccountByEmail(ctx context.Context, email string) (store.Account, error) {
	return scanAccount(s.rQueryRow(ctx, "SELECT "+accountCols+" FROM accounts WHERE email = ?", normEmail(email)))
}

// AccountByID implements store.Store.
func (s *Store) AccountByID(ctx context.Context, id int64) (store.Account, error) {
	return scanAccount(s.rQueryRow(ctx, "SELECT "+accountCols+" FROM accounts WHERE id = ?", id))
}

// Accounts implements store.Store.
func (s *Store) Accounts(ctx context.Context) ([]store.Account, error) {
	rows, err := s.rQuery(ctx, "SELECT "+accountCols+" FROM accounts ORDER BY email")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Account
	for rows.Next() {
		a, err := scanAccount(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// SetPassword implements store.Store.
func (s *Store) SetPassword(ctx context.Context, email, passwordHash string) error {
	email = normEmail(email)
	return s.write(ctx, func(tx *wtx) error {
		res, err := tx.exec("UPDATE accounts SET password_hash = ? WHERE email = ?", passwordHash, email)
		if err != nil {
			return err
		}
		return mustAffect(res, "account "+email)
	})
}

// DeleteAccount implements store.Store. Mailboxes, messages, tombstones and
// subscriptions go by ON DELETE CASCADE, unshared blobs by trigger.
func (s *Store) DeleteAccount(ctx context.Context, email string) error {
	email = normEmail(email)
	return s.write(ctx, func(tx *wtx) error {
		var id int64
		if err := tx.queryRow("SELECT id FROM accounts WHERE email = ?", email).Scan(&id); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("%w: account %s", store.ErrNotFound, email)
			}
			return err
		}
		if _, err := tx.exec("DELETE FROM accounts WHERE id = ?", id); err != nil {
			return err
		}
		tx.publish(id, 0)
		return nil
	})
}

// IsLocalDomain implements store.Store.
func (s *Store) IsLocalDomain(ctx context.Context, domain string) (bool, error) {
	var n int
	domain = strings.ToLower(strings.TrimSpace(domain))
	err := s.rQueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM accounts WHERE domain = ?1)
		OR EXISTS (SELECT 1 FROM domains WHERE name = ?1)
		OR EXISTS (SELECT 1 FROM aliases WHERE domain = ?1)`, domain).Scan(&n)
	return n > 0, err
}

func mustAffect(res sql.Result, what string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("%w: %s", store.ErrNotFound, what)
	}
	return nil
}

func normEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }
