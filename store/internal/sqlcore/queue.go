package sqlcore

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/mailroom/mailroom/store"
)

// Enqueue implements store.Store.
func (c *Core) Enqueue(ctx context.Context, msg store.QueuedMessage) (int64, error) {
	q, err := c.prepareQueue(msg)
	if err != nil {
		return 0, err
	}
	var id int64
	err = c.write(ctx, func(tx Tx) error {
		var err error
		id, err = c.enqueueTx(tx, &q)
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
func (c *Core) prepareQueue(msg store.QueuedMessage) (preparedQueue, error) {
	created := msg.Created.UnixNano()
	if msg.Created.IsZero() {
		created = c.now()
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
func (c *Core) enqueueTx(tx Tx, q *preparedQueue) (int64, error) {
	var id int64
	if err := tx.QueryRow("INSERT INTO queue(sender, created, raw, size) VALUES ($1, $2, $3, $4) RETURNING id",
		q.from, q.created, q.raw, len(q.raw)).Scan(&id); err != nil {
		return 0, err
	}
	_, err := tx.Exec(`INSERT INTO queue_rcpts(queue_id, idx, rcpt, status, next_attempt)
		SELECT $1, o - 1, u, $3, $4 FROM `+c.d.Ordinal(2, "text"),
		id, c.d.Texts(q.rcpts), store.RcptPending, q.created)
	return id, err
}

// QueueItemCols are the columns of queue q that scanQueueItem reads.
const QueueItemCols = "q.id, q.sender, q.created, q.size, q.lease_owner, q.lease_until"

func scanQueueItem(r Row) (store.QueueItem, error) {
	var it store.QueueItem
	var created, until int64
	err := r.Scan(&it.ID, &it.From, &created, &it.Size, &it.LeaseOwner, &until)
	it.Created = time.Unix(0, created)
	if it.LeaseOwner != "" {
		it.LeaseUntil = time.Unix(0, until)
	}
	return it, err
}

// queueItems runs query (selecting QueueItemCols) and fills in the
// recipients of each item.
func (c *Core) queueItems(ctx context.Context, query string, args ...any) ([]store.QueueItem, error) {
	rows, err := c.db.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	items, err := Collect(rows, scanQueueItem)
	if err != nil {
		return nil, err
	}
	for i := range items {
		if items[i].Recipients, err = c.queueRecipients(ctx, items[i].ID); err != nil {
			return nil, err
		}
	}
	return items, nil
}

func (c *Core) queueRecipients(ctx context.Context, id int64) ([]store.QueueRecipient, error) {
	rows, err := c.db.Query(ctx, "SELECT rcpt, status, attempts, last_error, next_attempt FROM queue_rcpts WHERE queue_id = $1 ORDER BY idx", id)
	if err != nil {
		return nil, err
	}
	return Collect(rows, func(r Row) (store.QueueRecipient, error) {
		var q store.QueueRecipient
		var next int64
		err := r.Scan(&q.Addr, &q.Status, &q.Attempts, &q.LastError, &next)
		q.NextAttempt = time.Unix(0, next)
		return q, err
	})
}

// DueQueue implements store.Store.
func (c *Core) DueQueue(ctx context.Context, now time.Time, limit int) ([]store.QueueItem, error) {
	if limit <= 0 {
		limit = 100
	}
	return c.queueItems(ctx, "SELECT "+QueueItemCols+" FROM queue q WHERE q.id IN "+
		"(SELECT queue_id FROM queue_rcpts WHERE status = $1 AND next_attempt <= $2) ORDER BY q.id LIMIT $3",
		store.RcptPending, now.UnixNano(), limit)
}

// ClaimableWhere is the condition on queue q of the items ClaimQueue may
// lease: unleased, leased by the same owner or with an expired lease, and
// with a recipient due or none pending. Dialect.ClaimQueue's arguments:
// $1 owner, $2 lease end, $3 now, $4 store.RcptPending, $5 limit.
const ClaimableWhere = `(q.lease_owner = '' OR q.lease_owner = $1 OR q.lease_until <= $3)
	AND (EXISTS (SELECT 1 FROM queue_rcpts r WHERE r.queue_id = q.id AND r.status = $4 AND r.next_attempt <= $3)
		OR NOT EXISTS (SELECT 1 FROM queue_rcpts r WHERE r.queue_id = q.id AND r.status = $4))`

// ClaimQueue implements store.Store. The items come from the claiming
// statement itself and their recipients from the same transaction: a
// re-read after the commit missed items a worker deleted in between, and
// the runner, given fewer items than it claimed, waited for the next poll
// with mail due (issue 11 item 18).
func (c *Core) ClaimQueue(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]store.QueueItem, error) {
	if owner == "" || lease <= 0 {
		return nil, fmt.Errorf("%w: queue claim needs an owner and a lease", store.ErrInvalid)
	}
	if limit <= 0 {
		limit = 100
	}
	var items []store.QueueItem
	err := c.write(ctx, func(tx Tx) error {
		rows, err := tx.Query(c.d.ClaimQueue(), owner, now.Add(lease).UnixNano(), now.UnixNano(), store.RcptPending, limit)
		if err != nil {
			return err
		}
		items, err = Collect(rows, scanQueueItem)
		if err != nil || len(items) == 0 {
			return err
		}
		// RETURNING gives no order.
		slices.SortFunc(items, func(a, b store.QueueItem) int { return cmp.Compare(a.ID, b.ID) })
		return c.txQueueRecipients(tx, items)
	})
	if err != nil || len(items) == 0 {
		return nil, err
	}
	return items, nil
}

// txQueueRecipients fills in the recipients of items (ascending ids) in
// one query inside a write transaction.
func (c *Core) txQueueRecipients(tx Tx, items []store.QueueItem) error {
	ids := make([]int64, len(items))
	for i, it := range items {
		ids[i] = it.ID
	}
	rows, err := tx.Query("SELECT queue_id, rcpt, status, attempts, last_error, next_attempt FROM queue_rcpts WHERE "+
		c.d.In("queue_id", 1)+" ORDER BY queue_id, idx", c.d.IDs(ids))
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
func (c *Core) ReleaseQueueItem(ctx context.Context, id int64, owner string) error {
	return c.write(ctx, func(tx Tx) error {
		_, err := tx.Exec("UPDATE queue SET lease_owner = '', lease_until = 0 WHERE id = $1 AND lease_owner = $2", id, owner)
		return err
	})
}

// RenewQueueLeases implements store.Store. On PostgreSQL the UPDATE locks
// the rows it changes, so a concurrent ClaimQueue skips them (SKIP
// LOCKED); a row a claim took over first is re-checked after that claim
// commits and no longer matches lease_owner.
func (c *Core) RenewQueueLeases(ctx context.Context, owner string, ids []int64, until time.Time) ([]int64, error) {
	if owner == "" {
		return nil, fmt.Errorf("%w: lease renewal needs an owner", store.ErrInvalid)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	var renewed []int64
	err := c.write(ctx, func(tx Tx) error {
		rows, err := tx.Query("UPDATE queue SET lease_until = $3 WHERE lease_owner = $1 AND "+c.d.In("id", 2)+" RETURNING id",
			owner, c.d.IDs(ids), until.UnixNano())
		if err != nil {
			return err
		}
		renewed, err = Collect(rows, func(r Row) (int64, error) {
			var id int64
			err := r.Scan(&id)
			return id, err
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	slices.Sort(renewed)
	return renewed, nil
}

// QueueItems implements store.Store.
func (c *Core) QueueItems(ctx context.Context) ([]store.QueueItem, error) {
	return c.queueItems(ctx, "SELECT "+QueueItemCols+" FROM queue q ORDER BY q.id")
}

// QueueItem implements store.Store.
func (c *Core) QueueItem(ctx context.Context, id int64) (store.QueueItem, error) {
	items, err := c.queueItems(ctx, "SELECT "+QueueItemCols+" FROM queue q WHERE q.id = $1", id)
	if err != nil {
		return store.QueueItem{}, err
	}
	if len(items) == 0 {
		return store.QueueItem{}, fmt.Errorf("%w: queue item %d", store.ErrNotFound, id)
	}
	return items[0], nil
}

// QueueMessage implements store.Store.
func (c *Core) QueueMessage(ctx context.Context, id int64) ([]byte, error) {
	var raw []byte
	err := c.db.QueryRow(ctx, "SELECT raw FROM queue WHERE id = $1", id).Scan(&raw)
	if c.d.IsNoRows(err) {
		return nil, fmt.Errorf("%w: queue item %d", store.ErrNotFound, id)
	}
	return raw, err
}

// UpdateQueueRecipients implements store.Store.
func (c *Core) UpdateQueueRecipients(ctx context.Context, id int64, rcpts []store.QueueRecipient) error {
	for _, r := range rcpts {
		switch r.Status {
		case store.RcptPending, store.RcptDelivered, store.RcptFailed:
		default:
			return fmt.Errorf("%w: recipient status %q", store.ErrInvalid, r.Status)
		}
	}
	return c.write(ctx, func(tx Tx) error {
		for _, r := range rcpts {
			n, err := tx.Exec("UPDATE queue_rcpts SET status = $1, attempts = $2, last_error = $3, next_attempt = $4 WHERE queue_id = $5 AND lower(rcpt) = lower($6)",
				r.Status, r.Attempts, r.LastError, r.NextAttempt.UnixNano(), id, r.Addr)
			if err != nil {
				return err
			}
			if n == 0 {
				return fmt.Errorf("%w: recipient %s of queue item %d", store.ErrNotFound, r.Addr, id)
			}
		}
		return nil
	})
}

// DeleteQueueItem implements store.Store.
func (c *Core) DeleteQueueItem(ctx context.Context, id int64) error {
	return c.write(ctx, func(tx Tx) error {
		n, err := tx.Exec("DELETE FROM queue WHERE id = $1", id)
		if err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("%w: queue item %d", store.ErrNotFound, id)
		}
		return nil
	})
}

// RetryQueueItem implements store.Store.
func (c *Core) RetryQueueItem(ctx context.Context, id int64, now time.Time) (int, error) {
	var n int
	err := c.write(ctx, func(tx Tx) error {
		if id != 0 {
			var k int
			if err := tx.QueryRow("SELECT count(*) FROM queue WHERE id = $1", id).Scan(&k); err != nil {
				return err
			}
			if k == 0 {
				return fmt.Errorf("%w: queue item %d", store.ErrNotFound, id)
			}
		}
		rows, err := tx.Query(`UPDATE queue_rcpts SET next_attempt = $1 WHERE status = $2 AND (CAST($3 AS bigint) = 0 OR queue_id = $3) RETURNING queue_id`,
			now.UnixNano(), store.RcptPending, id)
		if err != nil {
			return err
		}
		ids, err := Collect(rows, func(r Row) (int64, error) {
			var id int64
			err := r.Scan(&id)
			return id, err
		})
		slices.Sort(ids)
		n = len(slices.Compact(ids))
		return err
	})
	return n, err
}
