package sqlcore

import (
	"context"
	"fmt"
	"time"

	"github.com/mailroom/mailroom/store"
	"github.com/mailroom/mailroom/store/internal/dircache"
)

const sieveCols = "id, account_id, name, active, updated"

func (c *Core) scanSieve(sc Row, withSource bool) (store.SieveScript, error) {
	var sc2 store.SieveScript
	var active, updated int64
	dest := []any{&sc2.ID, &sc2.AccountID, &sc2.Name, &active, &updated}
	if withSource {
		dest = append(dest, &sc2.Source)
	}
	if err := sc.Scan(dest...); err != nil {
		if c.d.IsNoRows(err) {
			return sc2, fmt.Errorf("%w: sieve script", store.ErrNotFound)
		}
		return sc2, err
	}
	sc2.Active = active != 0
	sc2.Updated = time.Unix(0, updated)
	if withSource && sc2.Source == nil {
		sc2.Source = []byte{}
	}
	return sc2, nil
}

// PutSieveScript implements store.Store.
func (c *Core) PutSieveScript(ctx context.Context, accountID int64, name string, src []byte) (store.SieveScript, error) {
	if err := store.CheckSieveScript(name, src); err != nil {
		return store.SieveScript{}, err
	}
	if src == nil {
		src = []byte{}
	}
	now := c.now()
	var out store.SieveScript
	err := c.write(ctx, func(tx Tx) error {
		var n int
		if err := tx.QueryRow("SELECT count(*) FROM accounts WHERE id = $1", accountID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("%w: account %d", store.ErrNotFound, accountID)
		}
		k, err := tx.Exec("UPDATE sieve_scripts SET source = $1, updated = $2 WHERE account_id = $3 AND name = $4", src, now, accountID, name)
		if err != nil {
			return err
		}
		if k == 0 {
			if err := tx.QueryRow("SELECT count(*) FROM sieve_scripts WHERE account_id = $1", accountID).Scan(&n); err != nil {
				return err
			}
			if n >= store.MaxSieveScripts {
				return fmt.Errorf("%w: at most %d sieve scripts per account", store.ErrInvalid, store.MaxSieveScripts)
			}
			if _, err := tx.Exec("INSERT INTO sieve_scripts(account_id, name, source, updated) VALUES ($1, $2, $3, $4)", accountID, name, src, now); err != nil {
				return err
			}
		}
		out, err = c.scanSieve(tx.QueryRow("SELECT "+sieveCols+", source FROM sieve_scripts WHERE account_id = $1 AND name = $2", accountID, name), true)
		tx.Invalidate(dircache.SieveKey(accountID)) // the active script's source may have changed
		return err
	})
	return out, err
}

// SieveScript implements store.Store.
func (c *Core) SieveScript(ctx context.Context, accountID int64, name string) (store.SieveScript, error) {
	return c.scanSieve(c.db.QueryRow(ctx, "SELECT "+sieveCols+", source FROM sieve_scripts WHERE account_id = $1 AND name = $2", accountID, name), true)
}

// ActiveSieveScript implements store.Store.
func (c *Core) ActiveSieveScript(ctx context.Context, accountID int64) (store.SieveScript, error) {
	return c.scanSieve(c.db.QueryRow(ctx, "SELECT "+sieveCols+", source FROM sieve_scripts WHERE account_id = $1 AND active = 1", accountID), true)
}

// SieveScripts implements store.Store.
func (c *Core) SieveScripts(ctx context.Context, accountID int64) ([]store.SieveScript, error) {
	rows, err := c.db.Query(ctx, "SELECT "+sieveCols+" FROM sieve_scripts WHERE account_id = $1 ORDER BY name", accountID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.SieveScript
	for rows.Next() {
		sc, err := c.scanSieve(rows, false)
		if err != nil {
			return nil, err
		}
		out = append(out, sc)
	}
	return out, rows.Err()
}

// ActivateSieveScript implements store.Store.
func (c *Core) ActivateSieveScript(ctx context.Context, accountID int64, name string) error {
	return c.write(ctx, func(tx Tx) error {
		if name != "" {
			var n int
			if err := tx.QueryRow("SELECT count(*) FROM sieve_scripts WHERE account_id = $1 AND name = $2", accountID, name).Scan(&n); err != nil {
				return err
			}
			if n == 0 {
				return fmt.Errorf("%w: sieve script %q", store.ErrNotFound, name)
			}
		}
		if _, err := tx.Exec("UPDATE sieve_scripts SET active = 0 WHERE account_id = $1 AND active = 1", accountID); err != nil {
			return err
		}
		tx.Invalidate(dircache.SieveKey(accountID))
		if name == "" {
			return nil
		}
		_, err := tx.Exec("UPDATE sieve_scripts SET active = 1 WHERE account_id = $1 AND name = $2", accountID, name)
		return err
	})
}

// DeleteSieveScript implements store.Store.
func (c *Core) DeleteSieveScript(ctx context.Context, accountID int64, name string) error {
	return c.write(ctx, func(tx Tx) error {
		n, err := tx.Exec("DELETE FROM sieve_scripts WHERE account_id = $1 AND name = $2", accountID, name)
		if err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("%w: sieve script %q", store.ErrNotFound, name)
		}
		tx.Invalidate(dircache.SieveKey(accountID))
		return nil
	})
}

// RenameSieveScript implements store.Store.
func (c *Core) RenameSieveScript(ctx context.Context, accountID int64, oldName, newName string) error {
	if err := store.CheckSieveName(newName); err != nil {
		return err
	}
	now := c.now()
	return c.write(ctx, func(tx Tx) error {
		var n int
		if err := tx.QueryRow("SELECT count(*) FROM sieve_scripts WHERE account_id = $1 AND name = $2", accountID, oldName).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("%w: sieve script %q", store.ErrNotFound, oldName)
		}
		if err := tx.QueryRow("SELECT count(*) FROM sieve_scripts WHERE account_id = $1 AND name = $2", accountID, newName).Scan(&n); err != nil {
			return err
		}
		if n != 0 {
			return fmt.Errorf("%w: sieve script %q", store.ErrExists, newName)
		}
		_, err := tx.Exec("UPDATE sieve_scripts SET name = $1, updated = $2 WHERE account_id = $3 AND name = $4", newName, now, accountID, oldName)
		tx.Invalidate(dircache.SieveKey(accountID))
		return err
	})
}

// SieveStateSeen implements store.Store.
func (c *Core) SieveStateSeen(ctx context.Context, accountID int64, kind, handle, key string, since time.Time) (bool, error) {
	var n int
	err := c.db.QueryRow(ctx, "SELECT count(*) FROM sieve_state WHERE account_id = $1 AND kind = $2 AND key = $3 AND at >= $4 AND expires > $5",
		accountID, kind, store.SieveStateKey(handle, key), since.UnixNano(), since.UnixNano()).Scan(&n)
	return n > 0, err
}

// RecordSieveState implements store.Store.
func (c *Core) RecordSieveState(ctx context.Context, accountID int64, kind, handle, key string, at, expires time.Time) error {
	return c.write(ctx, func(tx Tx) error {
		if _, err := tx.Exec("DELETE FROM sieve_state WHERE account_id = $1 AND expires <= $2", accountID, at.UnixNano()); err != nil {
			return err
		}
		_, err := tx.Exec(`INSERT INTO sieve_state(account_id, kind, key, at, expires) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (account_id, kind, key) DO UPDATE SET at = excluded.at, expires = excluded.expires`,
			accountID, kind, store.SieveStateKey(handle, key), at.UnixNano(), expires.UnixNano())
		return err
	})
}
