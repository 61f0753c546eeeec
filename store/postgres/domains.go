package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

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
		tag, err := tx.exec("INSERT INTO domains(name, created) VALUES ($1, $2) ON CONFLICT DO NOTHING", name, created)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
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
		tag, err := tx.exec("DELETE FROM domains WHERE name = $1", name)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("%w: domain %s", store.ErrNotFound, name)
		}
		return nil
	})
}

// Domains implements store.Store.
func (s *Store) Domains(ctx context.Context) ([]store.Domain, error) {
	rows, err := s.pool.Query(ctx, "SELECT name, created FROM domains ORDER BY name")
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Domain, error) {
		var d store.Domain
		var created int64
		err := r.Scan(&d.Name, &created)
		d.Created = time.Unix(0, created)
		return d, err
	})
}

// AddAlias implements store.Store.
func (s *Store) AddAlias(ctx context.Context, address string, targets []string) (store.Alias, error) {
	key, targets, err := store.CheckAlias(address, targets)
	if err != nil {
		return store.Alias{}, err
	}
	created := s.now()
	err = s.write(ctx, func(tx *wtx) error {
		tag, err := tx.exec("INSERT INTO aliases(address, domain, targets, created) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
			key, store.AliasDomain(key), store.JoinTargets(targets), created)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
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
		tag, err := tx.exec("DELETE FROM aliases WHERE address = $1", key)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("%w: alias %s", store.ErrNotFound, key)
		}
		return nil
	})
}

// Aliases implements store.Store.
func (s *Store) Aliases(ctx context.Context) ([]store.Alias, error) {
	rows, err := s.pool.Query(ctx, "SELECT address, targets, created FROM aliases ORDER BY address")
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Alias, error) {
		var a store.Alias
		var targets string
		var created int64
		err := r.Scan(&a.Address, &targets, &created)
		a.Targets = store.SplitTargets(targets)
		a.Created = time.Unix(0, created)
		return a, err
	})
}

// AliasTargets implements store.Store.
func (s *Store) AliasTargets(ctx context.Context, address string) ([]string, error) {
	var targets string
	err := s.pool.QueryRow(ctx, "SELECT targets FROM aliases WHERE address = $1", strings.ToLower(address)).Scan(&targets)
	if err != nil {
		if isNoRows(err) {
			return nil, fmt.Errorf("%w: alias %s", store.ErrNotFound, address)
		}
		return nil, err
	}
	return store.SplitTargets(targets), nil
}
