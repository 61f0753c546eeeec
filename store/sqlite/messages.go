package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/mailroom/mailroom/store/internal/flagset"

	"github.com/mailroom/mailroom/message"
	"github.com/mailroom/mailroom/store"
)

// prepared is a NewMessage encoded for the database, computed before the
// write transaction starts.
type prepared struct {
	raw      []byte
	part     string
	sys      int64
	keywords string
	date, tz int64
	wireSize int64  // message.CRLFSize(raw)
	header   []byte // raw[:message.ParseTop(raw).BodyStart], for ListHeaders
	blobID   int64  // set inside the transaction
}

func (s *Store) prepare(m store.NewMessage) (prepared, error) {
	if err := flagset.Check(m.Flags); err != nil {
		return prepared{}, err
	}
	part, err := json.Marshal(m.Part)
	if err != nil {
		return prepared{}, fmt.Errorf("sqlite: encode message part: %w", err)
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

func insertBlob(tx *wtx, p *prepared) error {
	res, err := tx.exec("INSERT INTO blobs(raw, part, size) VALUES (?, ?, ?)", p.raw, p.part, len(p.raw))
	if err != nil {
		return err
	}
	if p.blobID, err = res.LastInsertId(); err != nil {
		return err
	}
	_, err = tx.exec("INSERT INTO headers(blob_id, header) VALUES (?, ?)", p.blobID, p.header)
	return err
}

// allocate reserves n UIDs and n modseqs in a mailbox and returns the
// mailbox as it was before, so the new UIDs are m.UIDNext.. and the new
// modseqs m.HighestModSeq+1...
func allocate(tx *wtx, ref store.MailboxRef, n int) (store.Mailbox, error) {
	mailboxID := ref.MailboxID
	m, err := txMailboxByRef(tx, ref)
	if err != nil {
		return m, err
	}
	if uint64(m.UIDNext)+uint64(n) > math.MaxUint32 {
		return m, fmt.Errorf("%w: mailbox %q has run out of UIDs", store.ErrInvalid, m.Name)
	}
	_, err = tx.exec("UPDATE mailboxes SET uidnext = uidnext + ?, highestmodseq = highestmodseq + ? WHERE id = ?", n, n, mailboxID)
	return m, err
}

const insertMessageSQL = `INSERT INTO messages(mailbox_id, uid, modseq, sysflags, keywords, internal_date, tz_offset, size, wire_size, blob_id)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

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
// entry are written by one job, so they commit (and are fsynced) together
// or not at all.
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
	if err := insertBlob(tx, p); err != nil {
		return nil, err
	}
	for _, t := range targets {
		mbID := t.MailboxID
		if mbID == 0 {
			if err := tx.queryRow("SELECT id FROM mailboxes WHERE account_id = ? AND name = ?", t.AccountID, store.Inbox).Scan(&mbID); err != nil {
				if errors.Is(err, sql.ErrNoRows) {
					return nil, fmt.Errorf("%w: account %d", store.ErrNotFound, t.AccountID)
				}
				return nil, err
			}
		}
		m, err := allocate(tx, store.MailboxRef{AccountID: t.AccountID, MailboxID: mbID}, 1)
		if err != nil {
			return nil, err
		}
		if _, err := tx.exec(insertMessageSQL, mbID, m.UIDNext, m.HighestModSeq+1, p.sys, p.keywords, p.date, p.tz, len(p.raw), p.wireSize, p.blobID); err != nil {
			return nil, err
		}
		out = append(out, store.Delivered{AccountID: t.AccountID, MailboxID: mbID, UIDValidity: m.UIDValidity, UID: m.UIDNext})
		tx.publish(t.AccountID, mbID)
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
		m, err := allocate(tx, ref, len(ps))
		mailboxID := ref.MailboxID
		if err != nil {
			return err
		}
		uidValidity = m.UIDValidity
		for i := range ps {
			if err := insertBlob(tx, &ps[i]); err != nil {
				return err
			}
			uid := m.UIDNext + uint32(i)
			if _, err := tx.exec(insertMessageSQL, mailboxID, uid, m.HighestModSeq+1+uint64(i), ps[i].sys, ps[i].keywords, ps[i].date, ps[i].tz, len(ps[i].raw), ps[i].wireSize, ps[i].blobID); err != nil {
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
	// One row with all UIDs as text is much faster to move through
	// database/sql than one row per UID.
	var list sql.NullString
	var n int
	err := s.rQueryRow(ctx, `SELECT count(*), (SELECT group_concat(uid) FROM (SELECT uid FROM messages WHERE mailbox_id = ? ORDER BY uid))
		FROM mailboxes WHERE `+refWhere, append([]any{ref.MailboxID}, refArgs(ref)...)...).Scan(&n, &list)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, refNotFound(ref)
	}
	if !list.Valid || list.String == "" {
		return []uint32{}, nil
	}
	str := list.String
	uids := make([]uint32, 0, strings.Count(str, ",")+1)
	for str != "" {
		var f string
		f, str, _ = strings.Cut(str, ",")
		u, err := strconv.ParseUint(f, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("sqlite: bad uid %q: %w", f, err)
		}
		uids = append(uids, uint32(u))
	}
	return uids, nil
}

// messageInRef joins messages m to the mailbox a store.MailboxRef names
// and selects message id ? only if it is in that mailbox (args: the
// message id, then refArgs).
const messageInRef = " WHERE m.id = ? AND m.mailbox_id IN (SELECT id FROM mailboxes WHERE " + refWhere + ")"

// MessageBody implements store.Store.
func (s *Store) MessageBody(ctx context.Context, ref store.MailboxRef, messageID int64) ([]byte, error) {
	var raw []byte
	err := s.rQueryRow(ctx, "SELECT b.raw FROM messages m JOIN blobs b ON b.id = m.blob_id"+messageInRef,
		append([]any{messageID}, refArgs(ref)...)...).Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: message %d", store.ErrNotFound, messageID)
	}
	if raw == nil && err == nil {
		raw = []byte{}
	}
	return raw, err
}

// ReadMessageBody implements store.Store: the blob is read into the
// driver's buffer and handed to fn as sql.RawBytes, without the copy
// Scan into []byte makes.
func (s *Store) ReadMessageBody(ctx context.Context, ref store.MailboxRef, messageID int64, fn func(raw []byte) error) error {
	rows, err := s.rQuery(ctx, "SELECT b.raw FROM messages m JOIN blobs b ON b.id = m.blob_id"+messageInRef,
		append([]any{messageID}, refArgs(ref)...)...)
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
	var raw sql.RawBytes
	if err := rows.Scan(&raw); err != nil {
		return err
	}
	if raw == nil {
		raw = sql.RawBytes{}
	}
	return fn(raw)
}

// MessagePart implements store.Store.
func (s *Store) MessagePart(ctx context.Context, ref store.MailboxRef, messageID int64) (*message.Part, error) {
	var js string
	err := s.rQueryRow(ctx, "SELECT b.part FROM messages m JOIN blobs b ON b.id = m.blob_id"+messageInRef,
		append([]any{messageID}, refArgs(ref)...)...).Scan(&js)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: message %d", store.ErrNotFound, messageID)
	}
	if err != nil {
		return nil, err
	}
	var p *message.Part
	if err := json.Unmarshal([]byte(js), &p); err != nil {
		return nil, fmt.Errorf("sqlite: decode part of message %d: %w", messageID, err)
	}
	return p, nil
}
