package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// GreylistAttempt implements store.Store: one write job, the upsert
// deciding start-over, pass or refresh from the old row.
func (s *Store) GreylistAttempt(ctx context.Context, key string, now time.Time, delay, expire time.Duration) (int, error) {
	var passes int
	stale := now.Add(-expire).UnixNano()
	err := s.write(ctx, func(tx *wtx) error {
		if _, err := tx.exec("DELETE FROM greylist WHERE key IN (SELECT key FROM greylist WHERE last_seen < ? LIMIT 100)", stale); err != nil {
			return err
		}
		return tx.queryRow(`INSERT INTO greylist(key, first_seen, last_seen, passes) VALUES (?1, ?2, ?2, 0)
			ON CONFLICT (key) DO UPDATE SET
				first_seen = CASE WHEN greylist.last_seen < ?3 THEN ?2 ELSE greylist.first_seen END,
				passes = CASE WHEN greylist.last_seen < ?3 THEN 0
					WHEN ?2 >= greylist.first_seen + ?4 THEN greylist.passes + 1
					ELSE greylist.passes END,
				last_seen = ?2
			RETURNING passes`, key, now.UnixNano(), stale, delay.Nanoseconds()).Scan(&passes)
	})
	return passes, err
}

// GreylistPasses implements store.Store.
func (s *Store) GreylistPasses(ctx context.Context, key string, now time.Time, expire time.Duration) (int, error) {
	var passes int
	err := s.rQueryRow(ctx, "SELECT passes FROM greylist WHERE key = ? AND last_seen >= ?", key, now.Add(-expire).UnixNano()).Scan(&passes)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return passes, err
}
