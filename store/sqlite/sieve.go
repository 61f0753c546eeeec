package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/mailroom/mailroom/store"
)

// DeliverBatch implements store.Store: every copy and queue entry is
// written by one job, so they commit together or not at all.
func (s *Store) DeliverBatch(ctx context.Context, copies []store.Copy, queued []store.QueuedMessage) ([]store.Delivered, []int64, error) {
	type group struct {
		targets []store.Target
		p       prepared
	}
	var groups []group
	for _, c := range copies {
		var uniq []store.Target
		for _, t := range c.Targets {
			if !slices.Contains(uniq, t) {
				uniq = append(uniq, t)
			}
		}
		if len(uniq) == 0 {
			continue
		}
		p, err := s.prepare(c.Message)
		if err != nil {
			return nil, nil, err
		}
		groups = append(groups, group{uniq, p})
	}
	qs := make([]preparedQueue, len(queued))
	for i, q := range queued {
		var err error
		if qs[i], err = s.prepareQueue(q); err != nil {
			return nil, nil, err
		}
	}
	if len(groups) == 0 && len(qs) == 0 {
		return nil, nil, fmt.Errorf("%w: delivery without targets", store.ErrInvalid)
	}
	var out []store.Delivered
	var qids []int64
	err := s.write(ctx, func(tx *wtx) error {
		out, qids = out[:0], qids[:0]
		for i := range qs {
			id, err := enqueueTx(tx, &qs[i])
			if err != nil {
				return err
			}
			qids = append(qids, id)
		}
		for i := range groups {
			var err error
			if out, err = deliverTx(tx, groups[i].targets, &groups[i].p, out); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return out, qids, nil
}

const sieveCols = "id, account_id, name, active, updated"

func scanSieve(sc interface{ Scan(...any) error }, withSource bool) (store.SieveScript, error) {
	var sc2 store.SieveScript
	var active, updated int64
	dest := []any{&sc2.ID, &sc2.AccountID, &sc2.Name, &active, &updated}
	if withSource {
		dest = append(dest, &sc2.Source)
	}
	if err := sc.Scan(dest...); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
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
func (s *Store) PutSieveScript(ctx context.Context, accountID int64, name string, src []byte) (store.SieveScript, error) {
	if err := store.CheckSieveScript(name, src); err != nil {
		return store.SieveScript{}, err
	}
	if src == nil {
		src = []byte{}
	}
	now := s.now()
	var out store.SieveScript
	err := s.write(ctx, func(tx *wtx) error {
		var n int
		if err := tx.queryRow("SELECT count(*) FROM accounts WHERE id = ?", accountID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("%w: account %d", store.ErrNotFound, accountID)
		}
		res, err := tx.exec("UPDATE sieve_scripts SET source = ?, updated = ? WHERE account_id = ? AND name = ?", src, now, accountID, name)
		if err != nil {
			return err
		}
		if k, _ := res.RowsAffected(); k == 0 {
			if err := tx.queryRow("SELECT count(*) FROM sieve_scripts WHERE account_id = ?", accountID).Scan(&n); err != nil {
				return err
			}
			if n >= store.MaxSieveScripts {
				return fmt.Errorf("%w: at most %d sieve scripts per account", store.ErrInvalid, store.MaxSieveScripts)
			}
			if _, err := tx.exec("INSERT INTO sieve_scripts(account_id, name, source, updated) VALUES (?, ?, ?, ?)", accountID, name, src, now); err != nil {
				return err
			}
		}
		out, err = scanSieve(tx.queryRow("SELECT "+sieveCols+", source FROM sieve_scripts WHERE account_id = ? AND name = ?", accountID, name), true)
		return err
	})
	return out, err
}

// SieveScript implements store.Store.
func (s *Store) SieveScript(ctx context.Context, accountID int64, name string) (store.SieveScript, error) {
	return scanSieve(s.rQueryRow(ctx, "SELECT "+sieveCols+", source FROM sieve_scripts WHERE account_id = ? AND name = ?", accountID, name), true)
}

// ActiveSieveScript implements store.Store.
func (s *Store) ActiveSieveScript(ctx context.Context, accountID int64) (store.SieveScript, error) {
	return scanSieve(s.rQueryRow(ctx, "SELECT "+sieveCols+", source FROM sieve_scripts WHERE account_id = ? AND active = 1", accountID), true)
}

// SieveScripts implements store.Store.
func (s *Store) SieveScripts(ctx context.Context, accountID int64) ([]store.SieveScript, error) {
	rows, err := s.rQuery(ctx, "SELECT "+sieveCols+" FROM sieve_scripts WHERE account_id = ? ORDER BY name", accountID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.SieveScript
	for rows.Next() {
		sc, err := scanSieve(rows, false)
		if err != nil {
			return nil, err
		}
		out = append(out, sc)
	}
	return out, rows.Err()
}

// ActivateSieveScript implements store.Store.
func (s *Store) ActivateSieveScript(ctx context.Context, accountID int64, name string) error {
	return s.write(ctx, func(tx *wtx) error {
		if name != "" {
			var n int
			if err := tx.queryRow("SELECT count(*) FROM sieve_scripts WHERE account_id = ? AND name = ?", accountID, name).Scan(&n); err != nil {
				return err
			}
			if n == 0 {
				return fmt.Errorf("%w: sieve script %q", store.ErrNotFound, name)
			}
		}
		if _, err := tx.exec("UPDATE sieve_scripts SET active = 0 WHERE account_id = ? AND active = 1", accountID); err != nil {
			return err
		}
		if name == "" {
			return nil
		}
		_, err := tx.exec("UPDATE sieve_scripts SET active = 1 WHERE account_id = ? AND name = ?", accountID, name)
		return err
	})
}

// DeleteSieveScript implements store.Store.
func (s *Store) DeleteSieveScript(ctx context.Context, accountID int64, name string) error {
	return s.write(ctx, func(tx *wtx) error {
		res, err := tx.exec("DELETE FROM sieve_scripts WHERE account_id = ? AND name = ?", accountID, name)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("%w: sieve script %q", store.ErrNotFound, name)
		}
		return nil
	})
}

// SieveStateSeen implements store.Store.
func (s *Store) SieveStateSeen(ctx context.Context, accountID int64, kind, handle, key string, since time.Time) (bool, error) {
	var n int
	err := s.rQueryRow(ctx, "SELECT count(*) FROM sieve_state WHERE account_id = ? AND kind = ? AND key = ? AND at >= ? AND expires > ?",
		accountID, kind, store.SieveStateKey(handle, key), since.UnixNano(), since.UnixNano()).Scan(&n)
	return n > 0, err
}

// RecordSieveState implements store.Store.
func (s *Store) RecordSieveState(ctx context.Context, accountID int64, kind, handle, key string, at, expires time.Time) error {
	return s.write(ctx, func(tx *wtx) error {
		if _, err := tx.exec("DELETE FROM sieve_state WHERE account_id = ? AND expires <= ?", accountID, at.UnixNano()); err != nil {
			return err
		}
		_, err := tx.exec(`INSERT INTO sieve_state(account_id, kind, key, at, expires) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (account_id, kind, key) DO UPDATE SET at = excluded.at, expires = excluded.expires`,
			accountID, kind, store.SieveStateKey(handle, key), at.UnixNano(), expires.UnixNano())
		return err
	})
}
