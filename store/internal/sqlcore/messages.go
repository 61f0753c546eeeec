package sqlcore

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/mailroom/mailroom/message"
	"github.com/mailroom/mailroom/store"
	"github.com/mailroom/mailroom/store/internal/flagset"
)

// Prepared is a NewMessage encoded for the database, computed before the
// write transaction starts (a write holds locks: do the work outside).
type Prepared struct {
	Raw      []byte
	Part     string // the JSON of the message.Part
	Sys      int64
	Keywords string
	Date, TZ int64
	WireSize int64  // message.CRLFSize(Raw)
	Header   []byte // Raw[:message.ParseTop(Raw).BodyStart], for ListHeaders
	// HdrText and BodyText are the blob's full-text index entry
	// (textindex.go).
	HdrText, BodyText string
}

func (c *Core) prepare(m store.NewMessage) (Prepared, error) {
	if err := flagset.Check(m.Flags); err != nil {
		return Prepared{}, err
	}
	part, err := json.Marshal(m.Part)
	if err != nil {
		return Prepared{}, fmt.Errorf("store: encode message part: %w", err)
	}
	p := Prepared{Raw: m.Raw, Part: string(part), WireSize: message.CRLFSize(m.Raw)}
	if p.Raw == nil {
		p.Raw = []byte{}
	}
	p.Header = p.Raw[:message.ParseTop(p.Raw).BodyStart]
	p.HdrText, p.BodyText = indexText(p.Raw, m.Part)
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

// deliverTx stores p once and adds one message row per target.
func (c *Core) deliverTx(tx Tx, targets []store.Target, p *Prepared, out []store.Delivered) ([]store.Delivered, error) {
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
	if err := c.LockMailboxes(tx, ids); err != nil {
		return nil, err
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
		if _, err := tx.Exec(InsertMessageSQL, ids[i], m.UIDNext, m.HighestModSeq+1, p.Sys, p.Keywords, p.Date, p.TZ, len(p.Raw), p.WireSize, blobID); err != nil {
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
			if _, err := tx.Exec(InsertMessageSQL, mailboxID, uid, m.HighestModSeq+1+uint64(i), ps[i].Sys, ps[i].Keywords, ps[i].Date, ps[i].TZ, len(ps[i].Raw), ps[i].WireSize, blobID); err != nil {
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

// MessageEmailID implements store.Store.
func (c *Core) MessageEmailID(ctx context.Context, ref store.MailboxRef, messageID int64) (int64, error) {
	var id int64
	err := c.db.QueryRow(ctx, "SELECT coalesce(m.email_id, m.id) FROM messages m"+messageInRef, append(RefArgs(ref), messageID)...).Scan(&id)
	if c.d.IsNoRows(err) {
		return 0, fmt.Errorf("%w: message %d", store.ErrNotFound, messageID)
	}
	return id, err
}

// MessagePart implements store.Store.
func (c *Core) MessagePart(ctx context.Context, ref store.MailboxRef, messageID int64) (*message.Part, error) {
	var js string
	err := c.db.QueryRow(ctx, "SELECT b.part FROM messages m JOIN blobs b ON b.id = m.blob_id"+messageInRef, append(RefArgs(ref), messageID)...).Scan(&js)
	if c.d.IsNoRows(err) {
		return nil, fmt.Errorf("%w: message %d", store.ErrNotFound, messageID)
	}
	if err != nil {
		return nil, err
	}
	var p *message.Part
	if err := json.Unmarshal([]byte(js), &p); err != nil {
		return nil, fmt.Errorf("store: decode part of message %d: %w", messageID, err)
	}
	return p, nil
}
