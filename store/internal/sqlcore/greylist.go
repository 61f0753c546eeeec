package sqlcore

import (
	"context"
	"time"
)

// GreylistAttempt implements store.Store: one write, the upsert deciding
// start-over, pass or refresh from the old row under its lock, so that
// concurrent attempts on several nodes count each pass once. Up to 100
// expired rows go in the same write (skipping rows another node holds).
func (c *Core) GreylistAttempt(ctx context.Context, key string, now time.Time, delay, expire time.Duration) (int, error) {
	var passes int
	stale := now.Add(-expire).UnixNano()
	err := c.write(ctx, func(tx Tx) error {
		if _, err := tx.Exec("DELETE FROM greylist WHERE key IN (SELECT key FROM greylist WHERE last_seen < $1 LIMIT 100"+c.d.RowLock("UPDATE SKIP LOCKED")+")", stale); err != nil {
			return err
		}
		return tx.QueryRow(`INSERT INTO greylist(key, first_seen, last_seen, passes) VALUES ($1, $2, $2, 0)
			ON CONFLICT (key) DO UPDATE SET
				first_seen = CASE WHEN greylist.last_seen < $3 THEN $2 ELSE greylist.first_seen END,
				passes = CASE WHEN greylist.last_seen < $3 THEN 0
					WHEN $2 >= greylist.first_seen + $4 THEN greylist.passes + 1
					ELSE greylist.passes END,
				last_seen = $2
			RETURNING passes`, key, now.UnixNano(), stale, delay.Nanoseconds()).Scan(&passes)
	})
	return passes, err
}

// GreylistPasses implements store.Store.
func (c *Core) GreylistPasses(ctx context.Context, key string, now time.Time, expire time.Duration) (int, error) {
	var passes int
	err := c.db.QueryRow(ctx, "SELECT passes FROM greylist WHERE key = $1 AND last_seen >= $2", key, now.Add(-expire).UnixNano()).Scan(&passes)
	if c.d.IsNoRows(err) {
		return 0, nil
	}
	return passes, err
}
