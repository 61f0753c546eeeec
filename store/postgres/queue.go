package postgres

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

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
	raw := msg.Raw
	if raw == nil {
		raw = []byte{}
	}
	return preparedQueue{from: msg.From, created: created, raw: raw, rcpts: rcpts}, nil
}

// enqueueTx inserts q and its recipients and returns the new item's id.
func enqueueTx(tx *wtx, q *preparedQueue) (int64, error) {
	var id int64
	if err := tx.queryRow("INSERT INTO queue(sender, created, raw, size) VALUES ($1, $2, $3, $4) RETURNING id",
		q.from, q.created, q.raw, len(q.raw)).Scan(&id); err != nil {
		return 0, err
	}
	_, err := tx.exec(`INSERT INTO queue_rcpts(queue_id, idx, rcpt, status, next_attempt)
		SELECT $1, o - 1, r, $3, $4 FROM unnest($2::text[]) WITH ORDINALITY AS t(r, o)`,
		id, q.rcpts, store.RcptPending, q.created)
	return id, err
}

const queueItemCols = "q.id, q.sender, q.created, q.size, q.lease_owner, q.lease_until"

// queueItems runs query (selecting queueItemCols) and fills in the
// recipients of each item.
func (s *Store) queueItems(ctx context.Context, query string, args ...any) ([]store.QueueItem, error) {
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	items, err := pgx.CollectRows(rows, scanQueueItem)
	if err != nil {
		return nil, err
	}
	for i := range items {
		if items[i].Recipients, err = s.queueRecipients(ctx, items[i].ID); err != nil {
			return nil, err
		}
	}
	return items, nil
}

// scanQueueItem scans queueItemCols.
func scanQueueItem(r pgx.CollectableRow) (store.QueueItem, error) {
	var it store.QueueItem
	var created, until int64
	err := r.Scan(&it.ID, &it.From, &created, &it.Size, &it.LeaseOwner, &until)
	it.Created = time.Unix(0, created)
	if it.LeaseOwner != "" {
		it.LeaseUntil = time.Unix(0, until)
	}
	return it, err
}

func (s *Store) queueRecipients(ctx context.Context, id int64) ([]store.QueueRecipient, error) {
	rows, err := s.pool.Query(ctx, "SELECT rcpt, status, attempts, last_error, next_attempt FROM queue_rcpts WHERE queue_id = $1 ORDER BY idx", id)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.QueueRecipient, error) {
		var q store.QueueRecipient
		var next int64
		err := r.Scan(&q.Addr, &q.Status, &q.Attempts, &q.LastError, &next)
		q.NextAttempt = time.Unix(0, next)
		return q, err
	})
}

// DueQueue implements store.Store.
func (s *Store) DueQueue(ctx context.Context, now time.Time, limit int) ([]store.QueueItem, error) {
	if limit <= 0 {
		limit = 100
	}
	return s.queueItems(ctx, "SELECT "+queueItemCols+" FROM queue q WHERE q.id IN "+
		"(SELECT queue_id FROM queue_rcpts WHERE status = $1 AND next_attempt <= $2) ORDER BY q.id LIMIT $3",
		store.RcptPending, now.UnixNano(), limit)
}

// claimQuery leases the claimable items to $1 until $2 and returns them
// (queueItemCols). FOR UPDATE SKIP LOCKED makes a concurrent claim pass over the rows
// this one locked, and a row another claim updated and committed since
// this statement's snapshot is re-checked against its new lease, so two
// claims never return the same item. The arguments are owner, lease end,
// now, RcptPending, limit.
const claimQuery = `WITH c AS (
	SELECT q.id FROM queue q
	WHERE (q.lease_owner = '' OR q.lease_owner = $1 OR q.lease_until <= $3)
		AND (EXISTS (SELECT 1 FROM queue_rcpts r WHERE r.queue_id = q.id AND r.status = $4 AND r.next_attempt <= $3)
			OR NOT EXISTS (SELECT 1 FROM queue_rcpts r WHERE r.queue_id = q.id AND r.status = $4))
	ORDER BY q.id LIMIT $5
	FOR UPDATE SKIP LOCKED
)
UPDATE queue q SET lease_owner = $1, lease_until = $2 FROM c WHERE q.id = c.id
RETURNING ` + queueItemCols

// ClaimQueue implements store.Store.
func (s *Store) ClaimQueue(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]store.QueueItem, error) {
	if owner == "" || lease <= 0 {
		return nil, fmt.Errorf("%w: queue claim needs an owner and a lease", store.ErrInvalid)
	}
	if limit <= 0 {
		limit = 100
	}
	// The items come from the claiming statement itself and their
	// recipients from the same transaction: a re-read after the commit
	// missed items a worker deleted in between, and the runner, given
	// fewer items than it claimed, waited for the next poll with mail
	// due (issue 11 item 18).
	var items []store.QueueItem
	err := s.write(ctx, func(tx *wtx) error {
		rows, err := tx.query(claimQuery, owner, now.Add(lease).UnixNano(), now.UnixNano(), store.RcptPending, limit)
		if err != nil {
			return err
		}
		items, err = pgx.CollectRows(rows, scanQueueItem)
		if err != nil || len(items) == 0 {
			return err
		}
		slices.SortFunc(items, func(a, b store.QueueItem) int { return cmp.Compare(a.ID, b.ID) })
		ids := make([]int64, len(items))
		byID := make(map[int64]*store.QueueItem, len(items))
		for i := range items {
			ids[i] = items[i].ID
			byID[items[i].ID] = &items[i]
		}
		rows, err = tx.query("SELECT queue_id, rcpt, status, attempts, last_error, next_attempt FROM queue_rcpts WHERE queue_id = ANY($1) ORDER BY queue_id, idx", ids)
		if err != nil {
			return err
		}
		_, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (struct{}, error) {
			var id, next int64
			var q store.QueueRecipient
			if err := r.Scan(&id, &q.Addr, &q.Status, &q.Attempts, &q.LastError, &next); err != nil {
				return struct{}{}, err
			}
			q.NextAttempt = time.Unix(0, next)
			if it := byID[id]; it != nil {
				it.Recipients = append(it.Recipients, q)
			}
			return struct{}{}, nil
		})
		return err
	})
	if err != nil || len(items) == 0 {
		return nil, err
	}
	return items, nil
}

// ReleaseQueueItem implements store.Store.
func (s *Store) ReleaseQueueItem(ctx context.Context, id int64, owner string) error {
	return s.write(ctx, func(tx *wtx) error {
		_, err := tx.exec("UPDATE queue SET lease_owner = '', lease_until = 0 WHERE id = $1 AND lease_owner = $2", id, owner)
		return err
	})
}

// RenewQueueLeases implements store.Store. The UPDATE locks the rows it
// changes, so a concurrent ClaimQueue skips them (SKIP LOCKED); a row a
// claim took over first is re-checked after that claim commits and no
// longer matches lease_owner.
func (s *Store) RenewQueueLeases(ctx context.Context, owner string, ids []int64, until time.Time) ([]int64, error) {
	if owner == "" {
		return nil, fmt.Errorf("%w: lease renewal needs an owner", store.ErrInvalid)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	var renewed []int64
	err := s.write(ctx, func(tx *wtx) error {
		rows, err := tx.query("UPDATE queue SET lease_until = $3 WHERE lease_owner = $1 AND id = ANY($2) RETURNING id",
			owner, ids, until.UnixNano())
		if err != nil {
			return err
		}
		renewed, err = pgx.CollectRows(rows, pgx.RowTo[int64])
		return err
	})
	if err != nil {
		return nil, err
	}
	slices.Sort(renewed)
	return renewed, nil
}

// QueueItems implements store.Store.
func (s *Store) QueueItems(ctx context.Context) ([]store.QueueItem, error) {
	return s.queueItems(ctx, "SELECT "+queueItemCols+" FROM queue q ORDER BY q.id")
}

// QueueItem implements store.Store.
func (s *Store) QueueItem(ctx context.Context, id int64) (store.QueueItem, error) {
	items, err := s.queueItems(ctx, "SELECT "+queueItemCols+" FROM queue q WHERE q.id = $1", id)
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
	err := s.pool.QueryRow(ctx, "SELECT raw FROM queue WHERE id = $1", id).Scan(&raw)
	if isNoRows(err) {
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
			tag, err := tx.exec("UPDATE queue_rcpts SET status = $1, attempts = $2, last_error = $3, next_attempt = $4 WHERE queue_id = $5 AND lower(rcpt) = lower($6)",
				r.Status, r.Attempts, r.LastError, r.NextAttempt.UnixNano(), id, r.Addr)
			if err != nil {
				return err
			}
			if tag.RowsAffected() == 0 {
				return fmt.Errorf("%w: recipient %s of queue item %d", store.ErrNotFound, r.Addr, id)
			}
		}
		return nil
	})
}

// DeleteQueueItem implements store.Store.
func (s *Store) DeleteQueueItem(ctx context.Context, id int64) error {
	return s.write(ctx, func(tx *wtx) error {
		tag, err := tx.exec("DELETE FROM queue WHERE id = $1", id)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
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
			var ok bool
			if err := tx.queryRow("SELECT EXISTS (SELECT 1 FROM queue WHERE id = $1)", id).Scan(&ok); err != nil {
				return err
			}
			if !ok {
				return fmt.Errorf("%w: queue item %d", store.ErrNotFound, id)
			}
		}
		return tx.queryRow(`WITH u AS (UPDATE queue_rcpts SET next_attempt = $1 WHERE status = $2 AND ($3 = 0 OR queue_id = $3) RETURNING queue_id)
			SELECT count(DISTINCT queue_id) FROM u`, now.UnixNano(), store.RcptPending, id).Scan(&n)
	})
	return n, err
}
