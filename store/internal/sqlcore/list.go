package sqlcore

import (
	"context"
	"fmt"
	"slices"

	"github.com/mailroom/mailroom/store"
)

// ListChunk is how many rows ListMessages reads per query. Reading in
// chunks keeps memory bounded and never holds a read transaction (or a
// connection) while the callback runs (it may write to a slow network
// peer).
const ListChunk = 1024

// MetaReader is a DB that reads rows of MetaCols faster than Query and
// ScanMeta do (SQLite: as one packed text value).
type MetaReader interface {
	// ReadMetas appends the rows query selects, in UID order, to buf.
	ReadMetas(ctx context.Context, buf []store.MessageMeta, query string, args ...any) ([]store.MessageMeta, error)
}

// ListMessages implements store.Store.
func (c *Core) ListMessages(ctx context.Context, ref store.MailboxRef, uids []uint32, fn func(store.MessageMeta) error) error {
	// Checked apart from the reads: safe because mailbox ids are never
	// reused (see listBytes).
	if _, err := c.MailboxByID(ctx, ref); err != nil {
		return err
	}
	mailboxID := ref.MailboxID
	if uids != nil && !slices.IsSorted(uids) {
		uids = slices.Clone(uids)
		slices.Sort(uids)
	}
	buf := make([]store.MessageMeta, 0, ListChunk)
	var last uint32
	for {
		buf = buf[:0]
		var err error
		if uids == nil {
			buf, err = c.readMetas(ctx, buf, "SELECT "+MetaCols+" FROM messages WHERE mailbox_id = $1 AND uid > $2 ORDER BY uid LIMIT $3", mailboxID, last, ListChunk)
		} else {
			if len(uids) == 0 {
				return nil
			}
			n := min(len(uids), ListChunk)
			buf, err = c.readChunk(ctx, buf, mailboxID, uids[:n])
			uids = uids[n:]
		}
		if err != nil {
			return err
		}
		for _, m := range buf {
			if err := fn(m); err != nil {
				return err
			}
		}
		if uids == nil {
			if len(buf) < ListChunk {
				return nil
			}
			last = buf[len(buf)-1].UID
		}
	}
}

// readChunk reads the metadata of the messages in uids (sorted, at most
// ListChunk). When the UIDs are dense (FETCH 1:* on a mailbox with few
// holes), one range scan of the (mailbox_id, uid) index filtered here is
// several times cheaper than one index seek per UID through the list.
func (c *Core) readChunk(ctx context.Context, buf []store.MessageMeta, mailboxID int64, uids []uint32) ([]store.MessageMeta, error) {
	first, last := uids[0], uids[len(uids)-1]
	if uint64(last-first) >= 2*uint64(len(uids)) {
		return c.readMetas(ctx, buf, "SELECT "+MetaCols+" FROM messages WHERE mailbox_id = $1 AND "+c.d.In("uid", 2)+" ORDER BY uid", mailboxID, c.d.UIDs(uids))
	}
	start := len(buf)
	buf, err := c.readMetas(ctx, buf, "SELECT "+MetaCols+" FROM messages WHERE mailbox_id = $1 AND uid BETWEEN $2 AND $3 ORDER BY uid", mailboxID, first, last)
	if err != nil {
		return buf, err
	}
	// Keep the rows whose UID was asked for (both lists ascending).
	kept, i := buf[:start], 0
	for _, m := range buf[start:] {
		for i < len(uids) && uids[i] < m.UID {
			i++
		}
		if i < len(uids) && uids[i] == m.UID {
			kept = append(kept, m)
		}
	}
	return kept, nil
}

func (c *Core) readMetas(ctx context.Context, buf []store.MessageMeta, query string, args ...any) ([]store.MessageMeta, error) {
	if r, ok := c.db.(MetaReader); ok {
		return r.ReadMetas(ctx, buf, query, args...)
	}
	rows, err := c.db.Query(ctx, query, args...)
	if err != nil {
		return buf, fmt.Errorf("store: list messages: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		m, err := ScanMeta(rows)
		if err != nil {
			return buf, fmt.Errorf("store: list messages: %w", err)
		}
		buf = append(buf, m)
	}
	return buf, rows.Err()
}
