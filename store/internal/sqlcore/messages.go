package sqlcore

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/mailroom/mailroom/message"
	"github.com/mailroom/mailroom/store"
	"github.com/mailroom/mailroom/store/internal/flagset"
)

// Prepared is a NewMessage encoded for the database, computed before the
// write transaction starts (a write holds locks: do the work outside).
type Prepared struct {
	Raw      []byte
	Tree     []byte // message.Marshal of the message.Part
	Sys      int64
	Keywords string
	Date, TZ int64
	WireSize int64  // message.CRLFSize(Raw)
	Header   []byte // Raw[:Part.BodyStart], for ListHeaders
	// HdrText and BodyText are the blob's full-text index entry
	// (textindex.go), empty where the backend indexes later
	// (textpending.go).
	HdrText, BodyText string
}

// prepare encodes m. The part tree is the one the caller parsed (parsed
// here only when it gave none): the header's end is its root's body
// start, not a second parse.
func (c *Core) prepare(m store.NewMessage) (Prepared, error) {
	if err := flagset.Check(m.Flags); err != nil {
		return Prepared{}, err
	}
	p := Prepared{Raw: m.Raw, WireSize: message.CRLFSize(m.Raw)}
	if p.Raw == nil {
		p.Raw = []byte{}
	}
	part := m.Part
	if part == nil {
		part = message.Parse(p.Raw)
	}
	p.Tree = message.AppendTree(nil, part)
	if bs := part.BodyStart; part.BodyEnd == int64(len(p.Raw)) && bs >= 0 && bs <= part.BodyEnd {
		p.Header = p.Raw[:bs]
	} else {
		// A tree that is not this message's parse (tests build some by
		// hand): the header must still be the message's.
		p.Header = p.Raw[:message.BodyStart(p.Raw)]
	}
	if c.pending == nil {
		p.HdrText, p.BodyText = indexText(p.Raw, part)
	}
	p.Sys, p.Keywords = flagset.Encode(m.Flags)
	if m.InternalDate.IsZero() {
		p.Date = c.now()
	} else {
		p.Date, p.TZ = EncodeTime(m.InternalDate)
	}
	return p, nil
}

// Deliver implements store.Store. The bytes are stored once and shared by
// all copies.
func (c *Core) Deliver(ctx context.Context, targets []store.Target, msg store.NewMessage) ([]store.Delivered, error) {
	if len(targets) == 0 {
		return nil, fmt.Errorf("%w: delivery without targets", store.ErrInvalid)
	}
	out, _, err := c.DeliverAndEnqueue(ctx, targets, msg, nil)
	return out, err
}

// DeliverAndEnqueue implements store.Store: the local copies and the queue
// entry are written in one transaction, so they commit together or not at
// all.
func (c *Core) DeliverAndEnqueue(ctx context.Context, targets []store.Target, msg store.NewMessage, queued *store.QueuedMessage) ([]store.Delivered, int64, error) {
	if len(targets) == 0 && queued == nil {
		return nil, 0, fmt.Errorf("%w: delivery without targets", store.ErrInvalid)
	}
	var copies []store.Copy
	if len(targets) > 0 {
		copies = []store.Copy{{Targets: targets, Message: msg}}
	}
	var qs []store.QueuedMessage
	if queued != nil {
		qs = []store.QueuedMessage{*queued}
	}
	out, qids, err := c.DeliverBatch(ctx, copies, qs)
	if err != nil {
		return nil, 0, err
	}
	var qid int64
	if len(qids) > 0 {
		qid = qids[0]
	}
	return out, qid, nil
}

// DeliverBatch implements store.Store: every copy and queue entry is
// written by one transaction, so they commit together or not at all.
func (c *Core) DeliverBatch(ctx context.Context, copies []store.Copy, queued []store.QueuedMessage) ([]store.Delivered, []int64, error) {
	type group struct {
		targets []store.Target
		p       Prepared
	}
	var groups []group
	for _, cp := range copies {
		var uniq []store.Target
		for _, t := range cp.Targets {
			if !slices.Contains(uniq, t) {
				uniq = append(uniq, t)
			}
		}
		if len(uniq) == 0 {
			continue
		}
		p, err := c.prepare(cp.Message)
		if err != nil {
			return nil, nil, err
		}
		groups = append(groups, group{uniq, p})
	}
	qs := make([]preparedQueue, len(queued))
	for i, q := range queued {
		var err error
		if qs[i], err = c.prepareQueue(q); err != nil {
			return nil, nil, err
		}
	}
	if len(groups) == 0 && len(qs) == 0 {
		return nil, nil, fmt.Errorf("%w: delivery without targets", store.ErrInvalid)
	}
	if one, ok := c.d.(OneStatementDeliverer); ok && len(qs) == 0 && len(groups) == 1 && len(groups[0].targets) == 1 {
		out, err := c.deliverOne(ctx, one, groups[0].targets[0], &groups[0].p)
		return out, nil, err
	}
	var out []store.Delivered
	var qids []int64
	err := c.write(ctx, func(tx Tx) error {
		out, qids = out[:0], qids[:0]
		// The queue entries first: a local copy that fails after them
		// (an account deleted meanwhile) must take them back with it,
		// and the conformance suite checks exactly that.
		for i := range qs {
			id, err := c.enqueueTx(tx, &qs[i])
			if err != nil {
				return err
			}
			qids = append(qids, id)
		}
		for i := range groups {
			var err error
			if out, err = c.deliverTx(tx, groups[i].targets, &groups[i].p, out); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return out, qids, nil
}

// OneStatementDeliverer is a Dialect that stores a message for one
// target in a single statement: PostgreSQL, where every statement is a
// round trip to the server, does it with data-modifying CTEs; SQLite runs
// in process and has nothing to save. A delivery of one message to one
// target, alone, is a Statement (the backend's writer may pipeline it
// with other deliveries).
type OneStatementDeliverer interface {
	// DeliverOne returns the statement, and its arguments, that
	// allocates the next UID and modseq of the target mailbox
	// (t.MailboxID, or the account's INBOX if 0), stores p and adds the
	// message row. It returns no row, and writes nothing, if there is no
	// such mailbox. saveDate is the row's save_date (unix nanoseconds),
	// as InsertMessageSQL sets it.
	DeliverOne(t store.Target, p *Prepared, saveDate int64) (query string, args []any)
	// ScanDelivered reads the row of DeliverOne's statement, run in tx:
	// found is false if it returned none.
	ScanDelivered(tx Tx, t store.Target, row Row) (d store.Delivered, found bool, err error)
}

// deliverOne delivers p to t alone, in one Statement.
func (c *Core) deliverOne(ctx context.Context, one OneStatementDeliverer, t store.Target, p *Prepared) ([]store.Delivered, error) {
	q, args := one.DeliverOne(t, p, c.now())
	var out []store.Delivered
	err := c.stmt(ctx, Statement{Query: q, Args: args, Done: func(tx Tx, row Row) error {
		d, err := c.delivered(one, tx, t, row)
		out = []store.Delivered{d}
		return err
	}})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// delivered reads the outcome of one target's OneStatementDeliverer
// statement.
func (c *Core) delivered(one OneStatementDeliverer, tx Tx, t store.Target, row Row) (store.Delivered, error) {
	d, found, err := one.ScanDelivered(tx, t, row)
	switch {
	case err != nil:
		return d, err
	case !found && t.MailboxID == 0:
		return d, fmt.Errorf("%w: account %d", store.ErrNotFound, t.AccountID)
	case !found:
		return d, RefNotFound(store.MailboxRef{AccountID: t.AccountID, MailboxID: t.MailboxID})
	case uint64(d.UID)+1 > math.MaxUint32:
		return d, fmt.Errorf("%w: mailbox %d has run out of UIDs", store.ErrInvalid, d.MailboxID)
	}
	tx.Publish(d.AccountID, d.MailboxID)
	return d, nil
}

// deliverTx stores p once and adds one message row per target.
func (c *Core) deliverTx(tx Tx, targets []store.Target, p *Prepared, out []store.Delivered) ([]store.Delivered, error) {
	if one, ok := c.d.(OneStatementDeliverer); ok && len(targets) == 1 {
		q, args := one.DeliverOne(targets[0], p, c.now())
		d, err := c.delivered(one, tx, targets[0], tx.QueryRow(q, args...))
		if err != nil {
			return nil, err
		}
		return append(out, d), nil
	}
	ids := make([]int64, len(targets))
	for i, t := range targets {
		ids[i] = t.MailboxID
		if ids[i] != 0 {
			continue
		}
		if err := tx.QueryRow("SELECT id FROM mailboxes WHERE account_id = $1 AND name = $2", t.AccountID, store.Inbox).Scan(&ids[i]); err != nil {
			if c.d.IsNoRows(err) {
				return nil, fmt.Errorf("%w: account %d", store.ErrNotFound, t.AccountID)
			}
			return nil, err
		}
	}
	// One target needs no lock first: Allocate's UPDATE locks its row.
	// Several are locked in id order, so that two deliveries to the same
	// mailboxes cannot deadlock.
	if len(ids) > 1 {
		if err := c.LockMailboxes(tx, ids); err != nil {
			return nil, err
		}
	}
	blobID, err := c.insertBlob(tx, p)
	if err != nil {
		return nil, err
	}
	for i, t := range targets {
		m, err := c.Allocate(tx, store.MailboxRef{AccountID: t.AccountID, MailboxID: ids[i]}, 1)
		if err != nil {
			return nil, err
		}
		if _, err := tx.Exec(InsertMessageSQL, ids[i], m.UIDNext, m.HighestModSeq+1, p.Sys, p.Keywords, p.Date, p.TZ, len(p.Raw), p.WireSize, blobID, c.now()); err != nil {
			return nil, err
		}
		out = append(out, store.Delivered{AccountID: t.AccountID, MailboxID: ids[i], UIDValidity: m.UIDValidity, UID: m.UIDNext})
		tx.Publish(t.AccountID, ids[i])
	}
	return out, nil
}

// Append implements store.Store.
func (c *Core) Append(ctx context.Context, ref store.MailboxRef, msgs []store.NewMessage) (uint32, []uint32, error) {
	ps := make([]Prepared, len(msgs))
	for i, m := range msgs {
		var err error
		if ps[i], err = c.prepare(m); err != nil {
			return 0, nil, err
		}
	}
	var uidValidity uint32
	var uids []uint32
	err := c.write(ctx, func(tx Tx) error {
		uids = uids[:0]
		mailboxID := ref.MailboxID
		m, err := c.Allocate(tx, ref, len(ps))
		if err != nil {
			return err
		}
		uidValidity = m.UIDValidity
		for i := range ps {
			blobID, err := c.insertBlob(tx, &ps[i])
			if err != nil {
				return err
			}
			uid := m.UIDNext + uint32(i)
			if _, err := tx.Exec(InsertMessageSQL, mailboxID, uid, m.HighestModSeq+1+uint64(i), ps[i].Sys, ps[i].Keywords, ps[i].Date, ps[i].TZ, len(ps[i].Raw), ps[i].WireSize, blobID, c.now()); err != nil {
				return err
			}
			uids = append(uids, uid)
		}
		if len(ps) > 0 {
			tx.Publish(m.AccountID, mailboxID)
		}
		return nil
	})
	if err != nil {
		return 0, nil, err
	}
	return uidValidity, uids, nil
}

// messageInRef selects, on messages m, message id $4 only if it is in the
// mailbox a store.MailboxRef names ($1..$3 are RefArgs).
const messageInRef = " WHERE m.id = $4 AND m.mailbox_id IN (SELECT id FROM mailboxes WHERE " + RefWhere + ")"

// MessageBody implements store.Store.
func (c *Core) MessageBody(ctx context.Context, ref store.MailboxRef, messageID int64) ([]byte, error) {
	var raw []byte
	err := c.db.QueryRow(ctx, "SELECT b.raw FROM messages m JOIN blobs b ON b.id = m.blob_id"+messageInRef, append(RefArgs(ref), messageID)...).Scan(&raw)
	if c.d.IsNoRows(err) {
		return nil, fmt.Errorf("%w: message %d", store.ErrNotFound, messageID)
	}
	if raw == nil && err == nil {
		raw = []byte{}
	}
	return raw, err
}

// EmailIDs implements store.Store: one query for all of uids.
func (c *Core) EmailIDs(ctx context.Context, ref store.MailboxRef, uids []uint32) (map[uint32]int64, error) {
	out := make(map[uint32]int64, len(uids))
	err := c.scanByUID(ctx, ref, "coalesce(m.email_id, m.id)", uids, func(scan uidScanner) error {
		var id int64
		uid, err := scan(&id)
		out[uid] = id
		return err
	})
	return out, err
}

// SaveDates implements store.Store.
func (c *Core) SaveDates(ctx context.Context, ref store.MailboxRef, uids []uint32) (map[uint32]time.Time, error) {
	out := make(map[uint32]time.Time, len(uids))
	err := c.scanByUID(ctx, ref, "m.save_date, m.internal_date, m.tz_offset", uids, func(scan uidScanner) error {
		var date, tz int64
		var saved *int64
		uid, err := scan(&saved, &date, &tz)
		if err != nil {
			return err
		}
		if saved != nil {
			out[uid] = time.Unix(0, *saved).UTC()
		} else {
			// Saved before save dates were kept: RFC 8514 §3 has the
			// internal date stand in.
			out[uid] = DecodeTime(date, tz)
		}
		return nil
	})
	return out, err
}

// uidScanner reads a row of scanByUID into dest and returns its UID.
type uidScanner func(dest ...any) (uint32, error)

// scanByUID reads cols of the messages of uids in the mailbox ref names,
// in one query, and calls each for every row.
func (c *Core) scanByUID(ctx context.Context, ref store.MailboxRef, cols string, uids []uint32, each func(uidScanner) error) error {
	if len(uids) == 0 {
		return nil
	}
	rows, err := c.db.Query(ctx, "SELECT m.uid, "+cols+" FROM messages m"+
		" WHERE m.mailbox_id IN (SELECT id FROM mailboxes WHERE "+RefWhere+") AND "+c.d.In("m.uid", 4), append(RefArgs(ref), c.d.UIDs(uids))...)
	if err != nil {
		return err
	}
	defer rows.Close()
	scan := func(dest ...any) (uint32, error) {
		var uid int64
		err := rows.Scan(append([]any{&uid}, dest...)...)
		return uint32(uid), err
	}
	for rows.Next() {
		if err := each(scan); err != nil {
			return err
		}
	}
	return rows.Err()
}

// MessagePart implements store.Store.
func (c *Core) MessagePart(ctx context.Context, ref store.MailboxRef, messageID int64) (*message.Part, error) {
	var tree []byte
	var size int64
	err := c.db.QueryRow(ctx, "SELECT m.size, "+c.d.TreesFrom()+messageInRef, append(RefArgs(ref), messageID)...).Scan(&size, &tree)
	if c.d.IsNoRows(err) {
		return nil, fmt.Errorf("%w: message %d", store.ErrNotFound, messageID)
	}
	if err != nil {
		return nil, err
	}
	var builds []builtTree
	p, err := c.decodeTree(ctx, messageID, size, tree, &builds)
	if err != nil {
		return nil, err
	}
	c.saveTrees(ctx, builds)
	return p, nil
}

// treeChunk is how many part trees ListParts reads per query: a tree is
// small (a few hundred bytes for most messages).
const treeChunk = 256

// ListParts implements store.Store. A blob stored before part trees were
// (SQLite migration 15, PostgreSQL 13) has none: its bytes are parsed,
// and the tree saved, when it is first read.
func (c *Core) ListParts(ctx context.Context, ref store.MailboxRef, uids []uint32, fn func(store.MessageMeta, *message.Part) error) error {
	var builds []builtTree
	err := c.listBytes(ctx, "trees", "SELECT "+JoinedMetaCols+", "+c.d.TreesFrom(), treeChunk, ref, uids, func(m store.MessageMeta, tree []byte) error {
		p, err := c.decodeTree(ctx, m.ID, m.Size, tree, &builds)
		if errors.Is(err, store.ErrNotFound) {
			return nil // expunged since the tree was read
		}
		if err != nil {
			return err
		}
		return fn(m, p)
	})
	if err == nil {
		c.saveTrees(ctx, builds)
	}
	return err
}

// builtTree is a part tree built at read time, to be saved.
type builtTree struct {
	blobID int64
	tree   []byte
}

// decodeTree decodes the stored tree of message id (size bytes). Without
// one, or with one that does not fit the message (unreadable, or a root
// that does not span it), it parses the message's bytes and appends the
// tree to builds for saveTrees: the answer is always that of a parse.
func (c *Core) decodeTree(ctx context.Context, messageID, size int64, tree []byte, builds *[]builtTree) (*message.Part, error) {
	if len(tree) > 0 {
		if p, err := message.Unmarshal(tree); err == nil && p.BodyEnd == size {
			return p, nil
		}
	}
	var blobID int64
	var raw []byte
	err := c.db.QueryRow(ctx, "SELECT m.blob_id, b.raw FROM messages m JOIN blobs b ON b.id = m.blob_id WHERE m.id = $1", messageID).Scan(&blobID, &raw)
	if c.d.IsNoRows(err) {
		return nil, fmt.Errorf("%w: message %d", store.ErrNotFound, messageID)
	}
	if err != nil {
		return nil, fmt.Errorf("store: read message %d: %w", messageID, err)
	}
	p := message.Parse(raw)
	*builds = append(*builds, builtTree{blobID, message.AppendTree(nil, p)})
	return p, nil
}

// saveTrees stores the trees decodeTree built, in one write. It is a cache
// fill on a read: a failure (a full disk, the context ended) is left for
// the next read to try again, and does not fail the read whose answer is
// already right.
func (c *Core) saveTrees(ctx context.Context, builds []builtTree) {
	if len(builds) == 0 {
		return
	}
	_ = c.flags(ctx, func(tx Tx) error {
		for _, b := range builds {
			if err := c.d.SaveTree(tx, b.blobID, b.tree); err != nil {
				return err
			}
		}
		return nil
	})
}
