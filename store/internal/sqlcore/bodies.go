package sqlcore

import (
	"context"
	"fmt"
	"slices"

	"github.com/mailroom/mailroom/store"
	"github.com/mailroom/mailroom/store/internal/batch"
	"github.com/mailroom/mailroom/store/internal/dircache"
	"github.com/mailroom/mailroom/store/internal/flagset"
)

// bodyChunk is how many messages ListBodies reads per query: bodies are
// larger than metadata, so few to keep memory bounded. headerChunk is the
// same for ListHeaders: headers are small.
const (
	bodyChunk   = 64
	headerChunk = 256
)

// JoinedMetaCols are MetaCols on messages m.
const JoinedMetaCols = "m.id, m.uid, m.modseq, m.sysflags, m.keywords, m.internal_date, m.tz_offset, m.size, m.wire_size"

// ListBodies implements store.Store.
func (c *Core) ListBodies(ctx context.Context, ref store.MailboxRef, uids []uint32, fn func(store.MessageMeta, []byte) error) error {
	const from = JoinedMetaCols + ", b.raw FROM messages m JOIN blobs b ON b.id = m.blob_id"
	return c.listBytes(ctx, "bodies", "SELECT "+from, bodyChunk, ref, uids, fn)
}

// ReadBodies implements store.Store with ListBodies's copy (PostgreSQL;
// store/sqlite reads without it).
func (c *Core) ReadBodies(ctx context.Context, ref store.MailboxRef, uids []uint32, fn func(id int64, uid uint32, raw []byte) error) error {
	return c.ListBodies(ctx, ref, uids, func(m store.MessageMeta, raw []byte) error { return fn(m.ID, m.UID, raw) })
}

// ReadHeaders implements store.Store with ListHeaders's copy (PostgreSQL;
// store/sqlite reads without it).
func (c *Core) ReadHeaders(ctx context.Context, ref store.MailboxRef, uids []uint32, fn func(id int64, uid uint32, hdr []byte) error) error {
	return c.ListHeaders(ctx, ref, uids, func(m store.MessageMeta, hdr []byte) error { return fn(m.ID, m.UID, hdr) })
}

// ListHeaders implements store.Store, reading where the dialect keeps
// headers apart from the raw message (Dialect.HeadersFrom).
func (c *Core) ListHeaders(ctx context.Context, ref store.MailboxRef, uids []uint32, fn func(store.MessageMeta, []byte) error) error {
	return c.listBytes(ctx, "headers", "SELECT "+JoinedMetaCols+", "+c.d.HeadersFrom(), headerChunk, ref, uids, fn)
}

// listBytes reads, chunk messages per query, the metadata and bytes that
// sel (SELECT ... FROM messages m ...) selects. Each query is scoped by
// the whole ref (account and UIDVALIDITY too, refScope), so that a read
// which finds messages needs no statement of its own to check the ref
// first (one statement per FETCH of bodies or headers, not two); only a
// read that finds nothing asks whether the mailbox exists, to tell
// store.ErrNotFound from an empty answer.
func (c *Core) listBytes(ctx context.Context, what, sel string, chunk int, ref store.MailboxRef, uids []uint32, fn func(store.MessageMeta, []byte) error) error {
	mailboxID, acct, validity := ref.MailboxID, ref.AccountID, int64(ref.UIDValidity)
	after := sel + " WHERE m.mailbox_id = $1 AND m.uid > $2 AND " + refScope(4) + " ORDER BY m.uid LIMIT $3"
	in := sel + " WHERE m.mailbox_id = $1 AND " + c.d.In("m.uid", 2) + " AND " + refScope(3) + " ORDER BY m.uid"
	found := false
	err := batch.Each(uids, chunk, batch.Queries{
		After: func(last uint32, n int) ([]batch.Row, error) {
			rows, err := c.readBytes(ctx, what, after, mailboxID, last, n, acct, validity)
			found = found || len(rows) > 0
			return rows, err
		},
		In: func(uids []uint32) ([]batch.Row, error) {
			rows, err := c.readBytes(ctx, what, in, mailboxID, c.d.UIDs(uids), acct, validity)
			found = found || len(rows) > 0
			return rows, err
		},
	}, fn)
	if err != nil || found {
		return err
	}
	_, err = c.MailboxByID(ctx, ref)
	return err
}

// refScope is RefWhere for the mailbox $1 of a query on messages m, with
// the account and UIDVALIDITY of the ref as parameters $n and $n+1: a
// condition on constants, which both databases evaluate once per query.
func refScope(n int) string {
	return fmt.Sprintf("EXISTS (SELECT 1 FROM mailboxes WHERE id = $1 AND account_id = $%d AND (CAST($%d AS bigint) = 0 OR uidvalidity = CAST($%d AS bigint)))", n, n+1, n+1)
}

func (c *Core) readBytes(ctx context.Context, what, query string, args ...any) ([]batch.Row, error) {
	rows, err := c.db.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("store: list %s: %w", what, err)
	}
	buf, err := Collect(rows, func(row Row) (batch.Row, error) {
		var r batch.Row
		var uid, modseq, sys, date, tz int64
		var kw string
		if err := row.Scan(&r.Meta.ID, &uid, &modseq, &sys, &kw, &date, &tz, &r.Meta.Size, &r.Meta.WireSize, &r.Raw); err != nil {
			return r, err
		}
		r.Meta.UID, r.Meta.ModSeq = uint32(uid), uint64(modseq)
		if r.Raw == nil {
			r.Raw = []byte{}
		}
		r.Meta.Flags = flagset.Decode(sys, kw)
		r.Meta.InternalDate = DecodeTime(date, tz)
		return r, nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: list %s: %w", what, err)
	}
	return buf, nil
}

// AccountUsage implements store.Store: one sum over the account's mailbox
// rows, whose counters triggers on messages keep.
func (c *Core) AccountUsage(ctx context.Context, accountID int64) (store.Usage, error) {
	var u store.Usage
	var exists int64
	err := c.db.QueryRow(ctx, `SELECT (SELECT count(*) FROM accounts WHERE id = $1),
		CAST(coalesce(sum(n_messages), 0) AS bigint), CAST(coalesce(sum(total_size), 0) AS bigint)
		FROM mailboxes WHERE account_id = $1`, accountID).Scan(&exists, &u.Messages, &u.Bytes)
	if err != nil {
		return store.Usage{}, err
	}
	if exists == 0 {
		return store.Usage{}, fmt.Errorf("account %d: %w", accountID, store.ErrNotFound)
	}
	return u, nil
}

// Pending collects the changes a write transaction announces once it has
// committed; a backend's Tx embeds it.
type Pending struct {
	Changes []store.Change
	Dir     []dircache.Key // Invalidate
}

// Invalidate implements Tx.
func (p *Pending) Invalidate(keys ...dircache.Key) {
	for _, k := range keys {
		if !slices.Contains(p.Dir, k) {
			p.Dir = append(p.Dir, k)
		}
	}
}

// Publish implements Tx: each mailbox once per transaction.
func (p *Pending) Publish(accountID, mailboxID int64) {
	for _, c := range p.Changes {
		if c.AccountID == accountID && c.MailboxID == mailboxID {
			return
		}
	}
	p.Changes = append(p.Changes, store.Change{AccountID: accountID, MailboxID: mailboxID})
}

// PublishMetadata implements Tx: the METADATA entries names of mailbox
// mailboxID (0: the server's) were set or removed.
func (p *Pending) PublishMetadata(accountID, mailboxID int64, names []string) {
	p.Changes = append(p.Changes, store.Change{AccountID: accountID, MailboxID: mailboxID, Metadata: slices.Clone(names)})
}
