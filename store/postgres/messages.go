package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"

	"github.com/mailroom/mailroom/store/internal/flagset"

	"github.com/jackc/pgx/v5"

	"github.com/mailroom/mailroom/message"
	"github.com/mailroom/mailroom/store"
)

// prepared is a NewMessage encoded for the database, computed before the
// transaction starts.
type prepared struct {
	raw      []byte
	part     string
	sys      int64
	keywords string
	date, tz int64
	wireSize int64  // message.CRLFSize(raw)
	header   []byte // raw[:message.ParseTop(raw).BodyStart], for ListHeaders
}

func (s *Store) prepare(m store.NewMessage) (prepared, error) {
	if err := flagset.Check(m.Flags); err != nil {
		return prepared{}, err
	}
	part, err := json.Marshal(m.Part)
	if err != nil {
		return prepared{}, fmt.Errorf("postgres: encode message part: %w", err)
	}
	p := prepared{raw: m.Raw, part: string(part), wireSize: message.CRLFSize(m.Raw)}
	if p.raw == nil {
		p.raw = []byte{}
	}
	p.header = p.raw[:message.ParseTop(p.raw).BodyStart]
	p.sys, p.keywords = flagset.Encode(m.Flags)
	if m.InternalDate.IsZero() {
		p.date = s.now()
	} else {
		p.date, p.tz = encodeTime(m.InternalDate)
	}
	return p, nil
}

func insertBlob(tx *wtx, p *prepared) (int64, error) {
	var id int64
	err := tx.queryRow("INSERT INTO blobs(raw, part, size, header) VALUES ($1, $2, $3, $4) RETURNING id", p.raw, p.part, len(p.raw), p.header).Scan(&id)
	return id, err
}

// allocate reserves n UIDs and n modseqs in a mailbox and returns the
// mailbox as it was before, so the new UIDs are m.UIDNext.. and the new
// modseqs m.HighestModSeq+1... The UPDATE locks the mailbox row until the
// transaction ends, so concurrent writers on any node queue up behind it.
func allocate(tx *wtx, ref store.MailboxRef, n int) (store.Mailbox, error) {
	m, err := scanMailbox(tx.queryRow(`UPDATE mailboxes SET uidnext = uidnext + $4, highestmodseq = highestmodseq + $4 WHERE `+refWhere+`
		RETURNING id, account_id, name, special_use, uidvalidity, uidnext - $4, highestmodseq - $4`, append(refArgs(ref), n)...))
	if err != nil {
		if isNoRows(err) || err == store.ErrNotFound {
			return m, refNotFound(ref)
		}
		return m, err
	}
	if uint64(m.UIDNext)+uint64(n) > math.MaxUint32 {
		return m, fmt.Errorf("%w: mailbox %q has run out of UIDs", store.ErrInvalid, m.Name)
	}
	return m, nil
}

const insertMessageSQL = `INSERT INTO messages(mailbox_id, uid, modseq, sysflags, keywords, internal_date, tz_offset, size, wire_size, blob_id)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`

// Deliver implements store.Store. The bytes are stored once and shared by
// all copies.
func (s *Store) Deliver(ctx context.Context, targets []store.Target, msg store.NewMessage) ([]store.Delivered, error) {
	if len(targets) == 0 {
		return nil, fmt.Errorf("%w: delivery without targets", store.ErrInvalid)
	}
	out, _, err := s.DeliverAndEnqueue(ctx, targets, msg, nil)
	return out, err
}

// DeliverAndEnqueue implements store.Store: the local copies and the queue
// entry are written in one transaction, so they commit together or not at
// all.
func (s *Store) DeliverAndEnqueue(ctx context.Context, targets []store.Target, msg store.NewMessage, queued *store.QueuedMessage) ([]store.Delivered, int64, error) {
	if len(targets) == 0 && queued == nil {
		return nil, 0, fmt.Errorf("%w: delivery without targets", store.ErrInvalid)
	}
	uniq := make([]store.Target, 0, len(targets))
	for _, t := range targets {
		if !slices.Contains(uniq, t) {
			uniq = append(uniq, t)
		}
	}
	var p prepared
	if len(uniq) > 0 {
		var err error
		if p, err = s.prepare(msg); err != nil {
			return nil, 0, err
		}
	}
	var q preparedQueue
	if queued != nil {
		var err error
		if q, err = s.prepareQueue(*queued); err != nil {
			return nil, 0, err
		}
	}
	var out []store.Delivered
	var qid int64
	err := s.write(ctx, func(tx *wtx) error {
		out = out[:0]
		// The queue entry first: a local copy that fails after it (an
		// account deleted meanwhile) must take it back with it, and
		// the conformance suite checks exactly that.
		if queued != nil {
			var err error
			if qid, err = enqueueTx(tx, &q); err != nil {
				return err
			}
		}
		if len(uniq) > 0 {
			var err error
			if out, err = deliverTx(tx, uniq, &p, out); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	return out, qid, nil
}

// deliverTx stores p once and adds one message row per target.
func deliverTx(tx *wtx, targets []store.Target, p *prepared, out []store.Delivered) ([]store.Delivered, error) {
	ids := make([]int64, len(targets))
	for i, t := range targets {
		ids[i] = t.MailboxID
		if ids[i] != 0 {
			continue
		}
		if err := tx.queryRow("SELECT id FROM mailboxes WHERE account_id = $1 AND name = $2", t.AccountID, store.Inbox).Scan(&ids[i]); err != nil {
			if isNoRows(err) {
				return nil, fmt.Errorf("%w: account %d", store.ErrNotFound, t.AccountID)
			}
			return nil, err
		}
	}
	// Lock the mailboxes in id order so that deliveries to the same
	// mailboxes in another order cannot deadlock.
	if _, err := tx.exec("SELECT id FROM mailboxes WHERE id = ANY($1) ORDER BY id FOR UPDATE", ids); err != nil {
		return nil, err
	}
	blobID, err := insertBlob(tx, p)
	if err != nil {
		return nil, err
	}
	for i, t := range targets {
		m, err := allocate(tx, store.MailboxRef{AccountID: t.AccountID, MailboxID: ids[i]}, 1)
		if err != nil {
			return nil, err
		}
		if _, err := tx.exec(insertMessageSQL, ids[i], m.UIDNext, m.HighestModSeq+1, p.sys, p.keywords, p.date, p.tz, len(p.raw), p.wireSize, blobID); err != nil {
			return nil, err
		}
		out = append(out, store.Delivered{AccountID: t.AccountID, MailboxID: ids[i], UIDValidity: m.UIDValidity, UID: m.UIDNext})
		tx.publish(t.AccountID, ids[i])
	}
	return out, nil
}

// Append implements store.Store.
func (s *Store) Append(ctx context.Context, ref store.MailboxRef, msgs []store.NewMessage) (uint32, []uint32, error) {
	ps := make([]prepared, len(msgs))
	for i, m := range msgs {
		var err error
		if ps[i], err = s.prepare(m); err != nil {
			return 0, nil, err
		}
	}
	var uidValidity uint32
	var uids []uint32
	err := s.write(ctx, func(tx *wtx) error {
		uids = uids[:0]
		mailboxID := ref.MailboxID
		m, err := allocate(tx, ref, len(ps))
		if err != nil {
			return err
		}
		uidValidity = m.UIDValidity
		for i := range ps {
			blobID, err := insertBlob(tx, &ps[i])
			if err != nil {
				return err
			}
			uid := m.UIDNext + uint32(i)
			if _, err := tx.exec(insertMessageSQL, mailboxID, uid, m.HighestModSeq+1+uint64(i), ps[i].sys, ps[i].keywords, ps[i].date, ps[i].tz, len(ps[i].raw), ps[i].wireSize, blobID); err != nil {
				return err
			}
			uids = append(uids, uid)
		}
		if len(ps) > 0 {
			tx.publish(m.AccountID, mailboxID)
		}
		return nil
	})
	if err != nil {
		return 0, nil, err
	}
	return uidValidity, uids, nil
}

// MessageUIDs implements store.Store.
func (s *Store) MessageUIDs(ctx context.Context, ref store.MailboxRef) ([]uint32, error) {
	var uids []int64
	err := s.pool.QueryRow(ctx, `SELECT coalesce((SELECT array_agg(uid ORDER BY uid) FROM messages WHERE mailbox_id = $1), '{}')
		FROM mailboxes WHERE `+refWhere, refArgs(ref)...).Scan(&uids)
	if isNoRows(err) {
		return nil, refNotFound(ref)
	}
	if err != nil {
		return nil, err
	}
	out := make([]uint32, len(uids))
	for i, u := range uids {
		out[i] = uint32(u)
	}
	return out, nil
}

// messageInRef selects, on messages m, message id $4 only if it is in the
// mailbox a store.MailboxRef names ($1..$3 are refArgs).
const messageInRef = " WHERE m.id = $4 AND m.mailbox_id IN (SELECT id FROM mailboxes WHERE " + refWhere + ")"

// MessageBody implements store.Store.
func (s *Store) MessageBody(ctx context.Context, ref store.MailboxRef, messageID int64) ([]byte, error) {
	var raw []byte
	err := s.pool.QueryRow(ctx, "SELECT b.raw FROM messages m JOIN blobs b ON b.id = m.blob_id"+messageInRef, append(refArgs(ref), messageID)...).Scan(&raw)
	if isNoRows(err) {
		return nil, fmt.Errorf("%w: message %d", store.ErrNotFound, messageID)
	}
	if raw == nil && err == nil {
		raw = []byte{}
	}
	return raw, err
}

// ReadMessageBody implements store.Store: fn gets the bytea value in
// pgx's read buffer (binary format: the raw bytes), without a copy.
func (s *Store) ReadMessageBody(ctx context.Context, ref store.MailboxRef, messageID int64, fn func(raw []byte) error) error {
	rows, err := s.pool.Query(ctx, "SELECT b.raw FROM messages m JOIN blobs b ON b.id = m.blob_id"+messageInRef, append(refArgs(ref), messageID)...)
	if err != nil {
		return err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return err
		}
		return fmt.Errorf("%w: message %d", store.ErrNotFound, messageID)
	}
	var raw []byte
	if rows.FieldDescriptions()[0].Format == pgx.BinaryFormatCode {
		raw = rows.RawValues()[0]
	} else if err := rows.Scan(&raw); err != nil {
		return err
	}
	if raw == nil {
		raw = []byte{}
	}
	if err := fn(raw); err != nil {
		return err
	}
	rows.Close()
	return rows.Err()
}

// MessagePart implements store.Store.
func (s *Store) MessagePart(ctx context.Context, ref store.MailboxRef, messageID int64) (*message.Part, error) {
	var js string
	err := s.pool.QueryRow(ctx, "SELECT b.part FROM messages m JOIN blobs b ON b.id = m.blob_id"+messageInRef, append(refArgs(ref), messageID)...).Scan(&js)
	if isNoRows(err) {
		return nil, fmt.Errorf("%w: message %d", store.ErrNotFound, messageID)
	}
	if err != nil {
		return nil, err
	}
	var p *message.Part
	if err := json.Unmarshal([]byte(js), &p); err != nil {
		return nil, fmt.Errorf("postgres: decode part of message %d: %w", messageID, err)
	}
	return p, nil
}

// collectUIDs reads a one-column result of UIDs.
func collectUIDs(rows pgx.Rows) ([]uint32, error) {
	return pgx.CollectRows(rows, pgx.RowTo[uint32])
}
