package postgres

import (
	"context"
	"errors"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/mailroom/mailroom/store"
)

// bitString writes a bitmap as PostgreSQL bit string text, most
// significant bit of each byte first.
func bitString(b []byte) string {
	var sb strings.Builder
	sb.Grow(store.OutboundBitmapBytes * 8)
	for i := range store.OutboundBitmapBytes {
		var v byte
		if i < len(b) {
			v = b[i]
		}
		for bit := 7; bit >= 0; bit-- {
			if v&(1<<bit) != 0 {
				sb.WriteByte('1')
			} else {
				sb.WriteByte('0')
			}
		}
	}
	return sb.String()
}

func parseBitString(s string) []byte {
	out := make([]byte, store.OutboundBitmapBytes)
	for i := 0; i < len(s) && i < len(out)*8; i++ {
		if s[i] == '1' {
			out[i/8] |= 1 << (7 - i%8)
		}
	}
	return out
}

// OutboundCounters implements store.Store.
func (s *Store) OutboundCounters(ctx context.Context, accountID, day int64) (store.OutboundCounters, error) {
	var c store.OutboundCounters
	var ext string
	err := s.pool.QueryRow(ctx, `SELECT hour, hour_messages, day_messages, day_recipients, day_failed, external::text, notified
		FROM outbound_usage WHERE account_id = $1 AND day = $2`, accountID, day).
		Scan(&c.Hour, &c.HourMessages, &c.DayMessages, &c.DayRecipients, &c.DayFailed, &ext, &c.Notified)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.OutboundCounters{}, nil
	}
	if err != nil {
		return store.OutboundCounters{}, err
	}
	c.External = parseBitString(ext)
	return c, nil
}

// AddOutbound implements store.Store: one upsert that ORs the bitmap
// under the row lock, so concurrent nodes lose no count; the same
// statement drops the account's rows older than yesterday.
func (s *Store) AddOutbound(ctx context.Context, accountID, day, hour, recipients int64, external []byte) error {
	_, err := s.pool.Exec(ctx, `WITH old AS (DELETE FROM outbound_usage WHERE account_id = $1 AND day < $2 - 1)
		INSERT INTO outbound_usage AS u (account_id, day, hour, hour_messages, day_messages, day_recipients, external)
		VALUES ($1, $2, $3, 1, 1, $4, $5::text::bit(8192))
		ON CONFLICT (account_id, day) DO UPDATE SET
			hour_messages = CASE WHEN u.hour = excluded.hour THEN u.hour_messages + 1 ELSE 1 END,
			hour = excluded.hour,
			day_messages = u.day_messages + 1,
			day_recipients = u.day_recipients + excluded.day_recipients,
			external = u.external | excluded.external`,
		accountID, day, hour, recipients, bitString(external))
	return err
}

// MarkOutboundNotified implements store.Store.
func (s *Store) MarkOutboundNotified(ctx context.Context, accountID, day int64) (bool, error) {
	tag, err := s.pool.Exec(ctx, `INSERT INTO outbound_usage AS u (account_id, day, hour, hour_messages, day_messages, day_recipients, external, notified)
		VALUES ($1, $2, 0, 0, 0, 0, $3::text::bit(8192), true)
		ON CONFLICT (account_id, day) DO UPDATE SET notified = true WHERE NOT u.notified`,
		accountID, day, bitString(nil))
	if err != nil {
		return false, err
	}
	return tag.RowsAffected() > 0, nil
}

// AddOutboundFailed implements store.Store: one upsert, safe against
// concurrent nodes (the row lock).
func (s *Store) AddOutboundFailed(ctx context.Context, accountID, day, n int64) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO outbound_usage AS u (account_id, day, hour, hour_messages, day_messages, day_recipients, external, day_failed)
		VALUES ($1, $2, 0, 0, 0, 0, $3::text::bit(8192), $4)
		ON CONFLICT (account_id, day) DO UPDATE SET day_failed = u.day_failed + excluded.day_failed`,
		accountID, day, bitString(nil), n)
	return err
}
