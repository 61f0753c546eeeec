package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mailroom/mailroom/store"
)

// Enqueue implements store.Store.
func (s *Store) Enqueue(ctx context.Context, msg store.QueuedMessage) (int64, error) {
	q, err := s.prepareQueue(msg)
	if err != nil {
		return 0, err
	}
	var id int64
	err = s.write(ctx, func(tx *wtx) error {
		var err error
		id, err = enqueueTx(tx, &q)
		return err
	})
	return id, err
}

// preparedQueue is a QueuedMessage checked and encoded for the database.
type preparedQueue struct {
	from    string
	created int64
	raw     []byte
	rcpts   []string
}

// prepareQueue drops empty and duplicate (case-insensitive) recipients;
// a message left without any is ErrInvalid.
func (s *Store) prepareQueue(msg store.QueuedMessage) (preparedQueue, error) {
	created := msg.Created.UnixNano()
	if msg.Created.IsZero() {
		created = s.now()
	}
	var rcpts []string
	seen := map[string]bool{}
	for _, r := range msg.Recipients {
		k := strings.ToLower(r)
		if r == "" || seen[k] {
			continue
		}
		seen[k] = true
		rcpts = append(rcpts, r)
	}
	if len(rcpts) == 0 {
		return preparedQueue{}, fmt.Errorf("%w: queued message without recipients", store.ErrInvalid)
	}
	return preparedQueue{from: msg.From, created: created, raw: msg.Raw, rcpts: rcpts}, nil
}

// enqueueTx inserts q and its recipients and returns the new item's id.
func enqueueTx(tx *wtx, q *preparedQueue) (int64, error) {
	res, err := tx.exec("INSERT INTO queue(sender, created, raw, size) VALUES (?, ?, ?, ?)",
		q.from, q.created, q.raw, len(q.raw))
	if err != nil {
		return 0, err
	}
	id, err := res.LastInsertId()
	if err != nil {
		return 0, err
	}
	for i, r := range q.rcpts {
		if _, err := tx.exec("INSERT INTO queue_rcpts(queue_id, idx, rcpt, status, next_attempt) VALUES (?, ?, ?, ?, ?)",
			id, i, r, store.RcptPending, q.created); err != nil {
			return 0, err
		}
	}
	return id, nil
}

const queueItemCols = "q.id, q.sender, q.created, q.size, q.lease_owner, q.lease_until"

// queueItems runs query (selecting queueItemCols) and fills in the
// recipients of each item.
func (s *Store) queueItems(ctx context.Context, query string, args ...any) ([]store.QueueItem, error) {
	rows, err := s.rQuery(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	var items []store.QueueItem
	for rows.Next() {
		var it store.QueueItem
		var created, until int64
		if err := rows.Scan(&it.ID, &it.From, &created, &it.Size, &it.LeaseOwner, &until); err != nil {
			rows.Close()
			return nil, err
		}
		it.Created = time.Unix(0, created)
		if it.LeaseOwner != "" {
			it.LeaseUntil = time.Unix(0, until)
		}
		items = append(items, it)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range items {
		if items[i].Recipients, err = s.queueRecipients(ctx, items[i].ID); err != nil {
			return nil, err
		}
	}
	return items, nil
}

func (s *Store) queueRecipients(ctx context.Context, id int64) ([]store.QueueRecipient, error) {
	rows, err := s.rQuery(ctx, "SELECT rcpt, status, attempts, last_error, next_attempt FROM queue_rcpts WHERE queue_id = ? ORDER BY idx", id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.QueueRecipient
	for rows.Next() {
		var r store.QueueRecipient
		var next int64
		if err := rows.Scan(&r.Addr, &r.Status, &r.Attempts, &r.LastError, &next); err != nil {
			return nil, err
		}
		r.NextAttempt = time.Unix(0, next)
		out = append(out, r)
	}
	return out, rows.Err()
}

// DueQueue implements store.Store.
func (s *Store) DueQueue(ctx context.Context, now time.Time, limit int) ([]store.QueueItem, error) {
	if limit <= 0 {
		limit = 100
	}
	return s.queueItems(ctx, "SELECT "+queueItemCols+" FROM queue q WHERE q.id IN "+
		"(SELECT queue_id FROM queue_rcpts WHERE status = ? AND next_attempt <= ?) ORDER BY q.id LIMIT ?",
		store.RcptPending, now.UnixNano(), limit)
}

// claimable is the condition ClaimQueue puts on queue q; its arguments
// are owner, now, RcptPending, now, RcptPending.
const claimable = `(q.lease_owner = '' OR q.lease_owner = ? OR q.lease_until <= ?)
	AND (EXISTS (SELECT 1 FROM queue_rcpts r WHERE r.queue_id = q.id AND r.status = ? AND r.next_attempt <= ?)
		OR NOT EXISTS (SELECT 1 FROM queue_rcpts r WHERE r.queue_id = q.id AND r.status = ?))`

// ClaimQueue implements store.Store. The single writer makes the select
// and the update one atomic step. The items come back from the claiming
// statement itself (RETURNING) and their recipients from the same
// transaction: a re-read after the commit could miss items deleted in
// between (issue 11 item 18), so the caller got fewer items than it
// claimed.
func (s *Store) ClaimQueue(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]store.QueueItem, error) {
	if owner == "" || lease <= 0 {
		return nil, fmt.Errorf("%w: queue claim needs an owner and a lease", store.ErrInvalid)
	}
	if limit <= 0 {
		limit = 100
	}
	var items []store.QueueItem
	err := s.write(ctx, func(tx *wtx) error {
		items = items[:0]
		rows, err := tx.query(`UPDATE queue SET lease_owner = ?, lease_until = ?
			WHERE id IN (SELECT q.id FROM queue q WHERE `+claimable+` ORDER BY q.id LIMIT ?)
			RETURNING id, sender, created, size, lease_owner, lease_until`,
			owner, now.Add(lease).UnixNano(),
			owner, now.UnixNano(), store.RcptPending, now.UnixNano(), store.RcptPending, limit)
		if err != nil {
			return err
		}
		for rows.Next() {
			var it store.QueueItem
			var created, until int64
			if err := rows.Scan(&it.ID, &it.From, &created, &it.Size, &it.LeaseOwner, &until); err != nil {
				rows.Close()
				return err
			}
			it.Created, it.LeaseUntil = time.Unix(0, created), time.Unix(0, until)
			items = append(items, it)
		}
		rows.Close()
		if err := rows.Err(); err != nil || len(items) == 0 {
			return err
		}
		// RETURNING gives no order.
		slices.SortFunc(items, func(a, b store.QueueItem) int { return cmp.Compare(a.ID, b.ID) })
		return txQueueRecipients(tx, items)
	})
	if err != nil || len(items) == 0 {
		return nil, err
	}
	return items, nil
}

// txQueueRecipients fills in the recipients of items (ascending ids) in
// one query inside a write transaction.
func txQueueRecipients(tx *wtx, items []store.QueueItem) error {
	idList := make([]byte, 0, len(items)*8+2)
	idList = append(idList, '[')
	for i, it := range items {
		if i > 0 {
			idList = append(idList, ',')
		}
		idList = strconv.AppendInt(idList, it.ID, 10)
	}
	idList = append(idList, ']')
	rows, err := tx.query("SELECT queue_id, rcpt, status, attempts, last_error, next_attempt FROM queue_rcpts WHERE queue_id IN (SELECT value FROM json_each(?)) ORDER BY queue_id, idx", string(idList))
	if err != nil {
		return err
	}
	defer rows.Close()
	i := 0
	for rows.Next() {
		var id, next int64
		var r store.QueueRecipient
		if err := rows.Scan(&id, &r.Addr, &r.Status, &r.Attempts, &r.LastError, &next); err != nil {
			return err
		}
		r.NextAttempt = time.Unix(0, next)
		for i < len(items) && items[i].ID < id {
			i++
		}
		if i < len(items) && items[i].ID == id {
			items[i].Recipients = append(items[i].Recipients, r)
		}
	}
	return rows.Err()
}

// ReleaseQueueItem implements store.Store.
func (s *Store) ReleaseQueueItem(ctx context.Context, id int64, owner string) error {
	return s.write(ctx, func(tx *wtx) error {
		_, err := tx.exec("UPDATE queue SET lease_owner = '', lease_until = 0 WHERE id = ? AND lease_owner = ?", id, owner)
		return err
	})
}

// RenewQueueLeases implements store.Store: one statement per id (the
// writer caches it) in one write transaction.
func (s *Store) RenewQueueLeases(ctx context.Context, owner string, ids []int64, until time.Time) ([]int64, error) {
	if owner == "" {
		return nil, fmt.Errorf("%w: lease renewal needs an owner", store.ErrInvalid)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	ids = slices.Clone(ids)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	var renewed []int64
	err := s.write(ctx, func(tx *wtx) error {
		renewed = renewed[:0]
		for _, id := range ids {
			res, err := tx.exec("UPDATE queue SET lease_until = ? WHERE id = ? AND lease_owner = ?",
				until.UnixNano(), id, owner)
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			if n > 0 {
				renewed = append(renewed, id)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return renewed, nil
}

// QueueItems implements store.Store.
func (s *Store) QueueItems(ctx context.Context) ([]store.QueueItem, error) {
	return s.queueItems(ctx, "SELECT "+queueItemCols+" FROM queue q ORDER BY q.id")
}

// QueueItem implements store.Store.
func (s *Store) QueueItem(ctx context.Context, id int64) (store.QueueItem, error) {
	items, err := s.queueItems(ctx, "SELECT "+queueItemCols+" FROM queue q WHERE q.id = ?", id)
	if err != nil {
		return store.QueueItem{}, err
	}
	if len(items) == 0 {
		return store.QueueItem{}, fmt.Errorf("%w: queue item %d", store.ErrNotFound, id)
	}
	return items[0], nil
}

// QueueMessage implements store.Store.
func (s *Store) QueueMessage(ctx context.Context, id int64) ([]byte, error) {
	var raw []byte
	err := s.rQueryRow(ctx, "SELECT raw FROM queue WHERE id = ?", id).Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: queue item %d", store.ErrNotFound, id)
	}
	return raw, err
}

// UpdateQueueRecipients implements store.Store.
func (s *Store) UpdateQueueRecipients(ctx context.Context, id int64, rcpts []store.QueueRecipient) error {
	for _, r := range rcpts {
		switch r.Status {
		case store.RcptPending, store.RcptDelivered, store.RcptFailed:
		default:
			return fmt.Errorf("%w: recipient status %q", store.ErrInvalid, r.Status)
		}
	}
	return s.write(ctx, func(tx *wtx) error {
		for _, r := range rcpts {
			res, err := tx.exec("UPDATE queue_rcpts SET status = ?, attempts = ?, last_error = ?, next_attempt = ? WHERE queue_id = ? AND rcpt = ?",
				r.Status, r.Attempts, r.LastError, r.NextAttempt.UnixNano(), id, r.Addr)
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil {
				return err
			} else if n == 0 {
				return fmt.Errorf("%w: recipient %s of queue item %d", store.ErrNotFound, r.Addr, id)
			}
		}
		return nil
	})
}

// DeleteQueueItem implements store.Store.
func (s *Store) DeleteQueueItem(ctx context.Context, id int64) error {
	return s.write(ctx, func(tx *wtx) error {
		res, err := tx.exec("DELETE FROM queue WHERE id = ?", id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return fmt.Errorf("%w: queue item %d", store.ErrNotFound, id)
		}
		return nil
	})
}

// RetryQueueItem implements store.Store.
func (s *Store) RetryQueueItem(ctx context.Context, id int64, now time.Time) (int, error) {
	var n int
	err := s.write(ctx, func(tx *wtx) error {
		if id != 0 {
			var c int
			if err := tx.queryRow("SELECT count(*) FROM queue WHERE id = ?", id).Scan(&c); err != nil {
				return err
			}
			if c == 0 {
				return fmt.Errorf("%w: queue item %d", store.ErrNotFound, id)
			}
		}
		if err := tx.queryRow("SELECT count(DISTINCT queue_id) FROM queue_rcpts WHERE status = ? AND (? = 0 OR queue_id = ?)",
			store.RcptPending, id, id).Scan(&n); err != nil {
			return err
		}
		_, err := tx.exec("UPDATE queue_rcpts SET next_attempt = ? WHERE status = ? AND (? = 0 OR queue_id = ?)",
			now.UnixNano(), store.RcptPending, id, id)
		return err
	})
	return n, err
}
