package sqlcore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/mailroom/mailroom/store"
	"github.com/mailroom/mailroom/store/internal/dircache"
)

// CreateAccount implements store.Store.
func (c *Core) CreateAccount(ctx context.Context, email, passwordHash string) (store.Account, error) {
	email = normEmail(email)
	domain, ok := emailDomain(email)
	if !ok {
		return store.Account{}, fmt.Errorf("%w: bad email address %q", store.ErrInvalid, email)
	}
	created := c.now()
	acc := store.Account{Email: email, PasswordHash: passwordHash, Created: time.Unix(0, created)}
	err := c.write(ctx, func(tx Tx) error {
		var n int
		if err := tx.QueryRow("SELECT count(*) FROM accounts WHERE email = $1", email).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("%w: account %s", store.ErrExists, email)
		}
		if err := tx.QueryRow("INSERT INTO accounts(email, domain, password_hash, created) VALUES ($1, $2, $3, $4) RETURNING id",
			email, domain, passwordHash, created).Scan(&acc.ID); err != nil {
			return err
		}
		for _, d := range store.DefaultMailboxes {
			if _, err := c.d.InsertMailbox(tx, acc.ID, d.Name, d.SpecialUse, created); err != nil {
				return err
			}
			if _, err := tx.Exec("INSERT INTO subscriptions(account_id, name) VALUES ($1, $2) ON CONFLICT DO NOTHING", acc.ID, d.Name); err != nil {
				return err
			}
		}
		tx.Publish(acc.ID, 0)
		tx.Invalidate(AccountKey(email), DomainKey(domain))
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

func (c *Core) scanAccount(row Row) (store.Account, error) {
	var a store.Account
	var created int64
	if err := row.Scan(&a.ID, &a.Email, &a.PasswordHash, &created); err != nil {
		if c.d.IsNoRows(err) {
			return a, store.ErrNotFound
		}
		return a, err
	}
	a.Created = time.Unix(0, created)
	return a, nil
}

// AccountByEmail implements store.Store.
func (c *Core) AccountByEmail(ctx context.Context, email string) (store.Account, error) {
	return c.scanAccount(c.db.QueryRow(ctx, "SELECT "+accountCols+" FROM accounts WHERE email = $1", normEmail(email)))
}

// AccountByID implements store.Store.
func (c *Core) AccountByID(ctx context.Context, id int64) (store.Account, error) {
	return c.scanAccount(c.db.QueryRow(ctx, "SELECT "+accountCols+" FROM accounts WHERE id = $1", id))
}

// Accounts implements store.Store.
func (c *Core) Accounts(ctx context.Context) ([]store.Account, error) {
	rows, err := c.db.Query(ctx, "SELECT "+accountCols+" FROM accounts ORDER BY email")
	if err != nil {
		return nil, err
	}
	return Collect(rows, c.scanAccount)
}

// SetPassword implements store.Store.
func (c *Core) SetPassword(ctx context.Context, email, passwordHash string) error {
	email = normEmail(email)
	return c.write(ctx, func(tx Tx) error {
		n, err := tx.Exec("UPDATE accounts SET password_hash = $1 WHERE email = $2", passwordHash, email)
		if err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("%w: account %s", store.ErrNotFound, email)
		}
		tx.Invalidate(AccountKey(email))
		return nil
	})
}

// DeleteAccount implements store.Store. Mailboxes, messages, tombstones and
// subscriptions (and the ACLs of its mailboxes) go by ON DELETE CASCADE,
// unshared blobs by trigger.
func (c *Core) DeleteAccount(ctx context.Context, email string) error {
	email = normEmail(email)
	return c.write(ctx, func(tx Tx) error {
		var id int64
		if err := tx.QueryRow("DELETE FROM accounts WHERE email = $1 RETURNING id", email).Scan(&id); err != nil {
			if c.d.IsNoRows(err) {
				return fmt.Errorf("%w: account %s", store.ErrNotFound, email)
			}
			return err
		}
		// Grants to the address go too (store.ACLs): a new account
		// under it must not inherit them.
		if _, err := tx.Exec("DELETE FROM mailbox_acl WHERE identifier = $1", email); err != nil {
			return err
		}
		tx.Publish(id, 0)
		domain, _ := emailDomain(email)
		tx.Invalidate(AccountKey(email), DomainKey(domain), dircache.SieveKey(id))
		return nil
	})
}

// IsLocalDomain implements store.Store.
// A domain is local when an account, an added domain or a store alias is
// in it (the [aliases] table is consulted by delivery, not here).
func (c *Core) IsLocalDomain(ctx context.Context, domain string) (bool, error) {
	var n int
	err := c.db.QueryRow(ctx, `SELECT (SELECT count(*) FROM (SELECT 1 FROM accounts WHERE domain = $1 LIMIT 1) AS a)
		+ (SELECT count(*) FROM (SELECT 1 FROM domains WHERE name = $1 LIMIT 1) AS d)
		+ (SELECT count(*) FROM (SELECT 1 FROM aliases WHERE domain = $1 LIMIT 1) AS l)`,
		normDomain(domain)).Scan(&n)
	return n > 0, err
}

func normEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }
