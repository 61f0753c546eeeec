package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mailroom/mailroom/store"
)

// CreateAccount implements store.Store.
func (s *Store) CreateAccount(ctx context.Context, email, passwordHash string) (store.Account, error) {
	email = normEmail(email)
	domain, ok := emailDomain(email)
	if !ok {
		return store.Account{}, fmt.Errorf("%w: bad email address %q", store.ErrInvalid, email)
	}
	created := s.now()
	acc := store.Account{Email: email, PasswordHash: passwordHash, Created: time.Unix(0, created)}
	err := s.write(ctx, func(tx *wtx) error {
		var exists bool
		if err := tx.queryRow("SELECT EXISTS (SELECT 1 FROM accounts WHERE email = $1)", email).Scan(&exists); err != nil {
			return err
		}
		if exists {
			return fmt.Errorf("%w: account %s", store.ErrExists, email)
		}
		if err := tx.queryRow("INSERT INTO accounts(email, domain, password_hash, created) VALUES ($1, $2, $3, $4) RETURNING id",
			email, domain, passwordHash, created).Scan(&acc.ID); err != nil {
			return err
		}
		for _, d := range store.DefaultMailboxes {
			if _, err := insertMailbox(tx, acc.ID, d.Name, d.SpecialUse); err != nil {
				return err
			}
			if _, err := tx.exec("INSERT INTO subscriptions(account_id, name) VALUES ($1, $2) ON CONFLICT DO NOTHING", acc.ID, d.Name); err != nil {
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

type scanner interface{ Scan(...any) error }

func scanAccount(row scanner) (store.Account, error) {
	var a store.Account
	var created int64
	if err := row.Scan(&a.ID, &a.Email, &a.PasswordHash, &created); err != nil {
		if isNoRows(err) {
			return a, store.ErrNotFound
		}
		return a, err
	}
	a.Created = time.Unix(0, created)
	return a, nil
}

// AccountByEmail implements store.Store.
func (s *Store) AccountByEmail(ctx context.Context, email string) (store.Account, error) {
	return scanAccount(s.pool.QueryRow(ctx, "SELECT "+accountCols+" FROM accounts WHERE email = $1", normEmail(email)))
}

// AccountByID implements store.Store.
func (s *Store) AccountByID(ctx context.Context, id int64) (store.Account, error) {
	return scanAccount(s.pool.QueryRow(ctx, "SELECT "+accountCols+" FROM accounts WHERE id = $1", id))
}

// Accounts implements store.Store.
func (s *Store) Accounts(ctx context.Context) ([]store.Account, error) {
	rows, err := s.pool.Query(ctx, "SELECT "+accountCols+" FROM accounts ORDER BY email")
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Account, error) { return scanAccount(r) })
}

// SetPassword implements store.Store.
func (s *Store) SetPassword(ctx context.Context, email, passwordHash string) error {
	email = normEmail(email)
	return s.write(ctx, func(tx *wtx) error {
		tag, err := tx.exec("UPDATE accounts SET password_hash = $1 WHERE email = $2", passwordHash, email)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("%w: account %s", store.ErrNotFound, email)
		}
		return nil
	})
}

// DeleteAccount implements store.Store. Mailboxes, messages, tombstones and
// subscriptions go by ON DELETE CASCADE, unshared blobs by trigger.
func (s *Store) DeleteAccount(ctx context.Context, email string) error {
	email = normEmail(email)
	return s.write(ctx, func(tx *wtx) error {
		var id int64
		if err := tx.queryRow("DELETE FROM accounts WHERE email = $1 RETURNING id", email).Scan(&id); err != nil {
			if isNoRows(err) {
				return fmt.Errorf("%w: account %s", store.ErrNotFound, email)
			}
			return err
		}
		tx.publish(id, 0)
		return nil
	})
}

// IsLocalDomain implements store.Store.
func (s *Store) IsLocalDomain(ctx context.Context, domain string) (bool, error) {
	var ok bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM accounts WHERE domain = $1)
		OR EXISTS (SELECT 1 FROM domains WHERE name = $1)
		OR EXISTS (SELECT 1 FROM aliases WHERE domain = $1)`,
		strings.ToLower(strings.TrimSpace(domain))).Scan(&ok)
	return ok, err
}

func normEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }
