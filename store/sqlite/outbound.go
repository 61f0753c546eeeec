package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/mailroom/mailroom/store"
)

// OutboundCounters implements store.Store.
func (s *Store) OutboundCounters(ctx context.Context, accountID, day int64) (store.OutboundCounters, error) {
	var c store.OutboundCounters
	var notified int
	err := s.rQueryRow(ctx, `SELECT hour, hour_messages, day_messages, day_recipients, day_failed, external, notified
		FROM outbound_usage WHERE account_id = ? AND day = ?`, accountID, day).
		Scan(&c.Hour, &c.HourMessages, &c.DayMessages, &c.DayRecipients, &c.DayFailed, &c.External, &notified)
	if errors.Is(err, sql.ErrNoRows) {
		return store.OutboundCounters{}, nil
	}
	c.Notified = notified != 0
	return c, err
}

// AddOutbound implements store.Store. SQLite has no OR of blobs, so
// the bitmap is merged in Go inside the one writer's transaction (a
// read of the row, then the upsert). Rows older than yesterday go.
func (s *Store) AddOutbound(ctx context.Context, accountID, day, hour, recipients int64, external []byte) error {
	return s.write(ctx, func(tx *wtx) error {
		if _, err := tx.exec("DELETE FROM outbound_usage WHERE account_id = ? AND day < ?", accountID, day-1); err != nil {
			return err
		}
		var old []byte
		err := tx.queryRow("SELECT external FROM outbound_usage WHERE account_id = ? AND day = ?", accountID, day).Scan(&old)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		_, err = tx.exec(`INSERT INTO outbound_usage(account_id, day, hour, hour_messages, day_messages, day_recipients, external)
			VALUES (?, ?, ?, 1, 1, ?, ?)
			ON CONFLICT (account_id, day) DO UPDATE SET
				hour_messages = CASE WHEN hour = excluded.hour THEN hour_messages + 1 ELSE 1 END,
				hour = excluded.hour,
				day_messages = day_messages + 1,
				day_recipients = day_recipients + excluded.day_recipients,
				external = excluded.external`,
			accountID, day, hour, recipients, store.OrBitmaps(old, external))
		return err
	})
}

// MarkOutboundNotified implements store.Store.
func (s *Store) MarkOutboundNotified(ctx context.Context, accountID, day int64) (bool, error) {
	var set bool
	err := s.write(ctx, func(tx *wtx) error {
		res, err := tx.exec(`INSERT INTO outbound_usage(account_id, day, hour, hour_messages, day_messages, day_recipients, external, notified)
			VALUES (?, ?, 0, 0, 0, 0, ?, 1)
			ON CONFLICT (account_id, day) DO UPDATE SET notified = 1 WHERE notified = 0`,
			accountID, day, make([]byte, store.OutboundBitmapBytes))
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		set = n > 0
		return err
	})
	return set, err
}

// AddOutboundFailed implements store.Store: one upsert.
func (s *Store) AddOutboundFailed(ctx context.Context, accountID, day, n int64) error {
	return s.write(ctx, func(tx *wtx) error {
		_, err := tx.exec(`INSERT INTO outbound_usage(account_id, day, hour, hour_messages, day_messages, day_recipients, external, day_failed)
			VALUES (?, ?, 0, 0, 0, 0, ?, ?)
			ON CONFLICT (account_id, day) DO UPDATE SET day_failed = day_failed + excluded.day_failed`,
			accountID, day, make([]byte, store.OutboundBitmapBytes), n)
		return err
	})
}
