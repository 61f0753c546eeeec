package postgres

import (
	"context"
	"fmt"

	"github.com/mailroom/mailroom/store"
)

// AccountUsage implements store.Store: one sum over the account's mailbox
// rows, whose counters the triggers of migration 3 keep.
func (s *Store) AccountUsage(ctx context.Context, accountID int64) (store.Usage, error) {
	var u store.Usage
	var exists bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM accounts WHERE id = $1),
		coalesce(sum(n_messages), 0)::bigint, coalesce(sum(total_size), 0)::bigint
		FROM mailboxes WHERE account_id = $1`, accountID).Scan(&exists, &u.Messages, &u.Bytes)
	if err != nil {
		return store.Usage{}, err
	}
	if !exists {
		return store.Usage{}, fmt.Errorf("account %d: %w", accountID, store.ErrNotFound)
	}
	return u, nil
}
