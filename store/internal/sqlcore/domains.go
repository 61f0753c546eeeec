package sqlcore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/mailroom/mailroom/store"
	"github.com/mailroom/mailroom/store/internal/dircache"
)

// AddDomain implements store.Store.
func (c *Core) AddDomain(ctx context.Context, name string) (store.Domain, error) {
	name, err := store.CheckDomain(name)
	if err != nil {
		return store.Domain{}, err
	}
	created := c.now()
	err = c.write(ctx, func(tx Tx) error {
		n, err := tx.Exec("INSERT INTO domains(name, created) VALUES ($1, $2) ON CONFLICT DO NOTHING", name, created)
		if err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("%w: domain %s", store.ErrExists, name)
		}
		tx.Invalidate(DomainKey(name))
		return nil
	})
	if err != nil {
		return store.Domain{}, err
	}
	return store.Domain{Name: name, Created: time.Unix(0, created)}, nil
}

// DeleteDomain implements store.Store.
func (c *Core) DeleteDomain(ctx context.Context, name string) error {
	name = normDomain(name)
	return c.write(ctx, func(tx Tx) error {
		n, err := tx.Exec("DELETE FROM domains WHERE name = $1", name)
		if err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("%w: domain %s", store.ErrNotFound, name)
		}
		tx.Invalidate(DomainKey(name))
		return nil
	})
}

// Domains implements store.Store.
func (c *Core) Domains(ctx context.Context) ([]store.Domain, error) {
	rows, err := c.db.Query(ctx, "SELECT name, created FROM domains ORDER BY name")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Domain
	for rows.Next() {
		var d store.Domain
		var created int64
		if err := rows.Scan(&d.Name, &created); err != nil {
			return nil, err
		}
		d.Created = time.Unix(0, created)
		out = append(out, d)
	}
	return out, rows.Err()
}

// AddAlias implements store.Store.
func (c *Core) AddAlias(ctx context.Context, address string, targets []string) (store.Alias, error) {
	key, targets, err := store.CheckAlias(address, targets)
	if err != nil {
		return store.Alias{}, err
	}
	created := c.now()
	err = c.write(ctx, func(tx Tx) error {
		n, err := tx.Exec("INSERT INTO aliases(address, domain, targets, created) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
			key, store.AliasDomain(key), store.JoinTargets(targets), created)
		if err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("%w: alias %s", store.ErrExists, key)
		}
		tx.Invalidate(aliasKeys(key)...)
		return nil
	})
	if err != nil {
		return store.Alias{}, err
	}
	return store.Alias{Address: key, Targets: targets, Created: time.Unix(0, created)}, nil
}

// DeleteAlias implements store.Store.
func (c *Core) DeleteAlias(ctx context.Context, address string) error {
	key := strings.ToLower(strings.TrimSpace(address))
	return c.write(ctx, func(tx Tx) error {
		n, err := tx.Exec("DELETE FROM aliases WHERE address = $1", key)
		if err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("%w: alias %s", store.ErrNotFound, key)
		}
		tx.Invalidate(aliasKeys(key)...)
		return nil
	})
}

// Aliases implements store.Store.
func (c *Core) Aliases(ctx context.Context) ([]store.Alias, error) {
	rows, err := c.db.Query(ctx, "SELECT address, targets, created FROM aliases ORDER BY address")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Alias
	for rows.Next() {
		var a store.Alias
		var targets string
		var created int64
		if err := rows.Scan(&a.Address, &targets, &created); err != nil {
			return nil, err
		}
		a.Targets = store.SplitTargets(targets)
		a.Created = time.Unix(0, created)
		out = append(out, a)
	}
	return out, rows.Err()
}

// AliasTargets implements store.Store.
func (c *Core) AliasTargets(ctx context.Context, address string) ([]string, error) {
	var targets string
	err := c.db.QueryRow(ctx, "SELECT targets FROM aliases WHERE address = $1", strings.ToLower(address)).Scan(&targets)
	if c.d.IsNoRows(err) {
		return nil, fmt.Errorf("%w: alias %s", store.ErrNotFound, address)
	}
	if err != nil {
		return nil, err
	}
	return store.SplitTargets(targets), nil
}

// aliasKeys are the lookups an alias key's row answers: its targets, and
// whether its domain is local (IsLocalDomain counts alias domains).
func aliasKeys(key string) []dircache.Key {
	return []dircache.Key{AliasKey(key), DomainKey(store.AliasDomain(key))}
}
