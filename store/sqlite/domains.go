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

// AddDomain implements store.Store.
func (s *Store) AddDomain(ctx context.Context, name string) (store.Domain, error) {
	name, err := store.CheckDomain(name)
	if err != nil {
		return store.Domain{}, err
	}
	created := s.now()
	err = s.write(ctx, func(tx *wtx) error {
		res, err := tx.exec("INSERT OR IGNORE INTO domains(name, created) VALUES (?, ?)", name, created)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return fmt.Errorf("%w: domain %s", store.ErrExists, name)
		}
		return nil
	})
	if err != nil {
		return store.Domain{}, err
	}
	return store.Domain{Name: name, Created: time.Unix(0, created)}, nil
}

// DeleteDomain implements store.Store.
func (s *Store) DeleteDomain(ctx context.Context, name string) error {
	name = strings.ToLower(strings.TrimSpace(name))
	return s.write(ctx, func(tx *wtx) error {
		res, err := tx.exec("DELETE FROM domains WHERE name = ?", name)
		if err != nil {
			return err
		}
		return mustAffect(res, "domain "+name)
	})
}

// Domains implements store.Store.
func (s *Store) Domains(ctx context.Context) ([]store.Domain, error) {
	rows, err := s.rQuery(ctx, "SELECT name, created FROM domains ORDER BY name")
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
func (s *Store) AddAlias(ctx context.Context, address string, targets []string) (store.Alias, error) {
	key, targets, err := store.CheckAlias(address, targets)
	if err != nil {
		return store.Alias{}, err
	}
	created := s.now()
	err = s.write(ctx, func(tx *wtx) error {
		res, err := tx.exec("INSERT OR IGNORE INTO aliases(address, domain, targets, created) VALUES (?, ?, ?, ?)",
			key, store.AliasDomain(key), store.JoinTargets(targets), created)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return fmt.Errorf("%w: alias %s", store.ErrExists, key)
		}
		return nil
	})
	if err != nil {
		return store.Alias{}, err
	}
	return store.Alias{Address: key, Targets: targets, Created: time.Unix(0, created)}, nil
}

// DeleteAlias implements store.Store.
func (s *Store) DeleteAlias(ctx context.Context, address string) error {
	key := strings.ToLower(strings.TrimSpace(address))
	return s.write(ctx, func(tx *wtx) error {
		res, err := tx.exec("DELETE FROM aliases WHERE address = ?", key)
		if err != nil {
			return err
		}
		return mustAffect(res, "alias "+key)
	})
}

// Aliases implements store.Store.
func (s *Store) Aliases(ctx context.Context) ([]store.Alias, error) {
	rows, err := s.rQuery(ctx, "SELECT address, targets, created FROM aliases ORDER BY address")
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
func (s *Store) AliasTargets(ctx context.Context, address string) ([]string, error) {
	var targets string
	err := s.rQueryRow(ctx, "SELECT targets FROM aliases WHERE address = ?", strings.ToLower(address)).Scan(&targets)
	if err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("%w: alias %s", store.ErrNotFound, address)
		}
		return nil, err
	}
	return store.SplitTargets(targets), nil
}
