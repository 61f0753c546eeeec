package pop3server

import (
	"context"
	"errors"
	"fmt"

	"github.com/mailroom/mailroom/message"
	"github.com/mailroom/mailroom/store"
)

// maildrop is a session's view of the account's INBOX: the snapshot taken
// at login (RFC 1939 §4: message numbers are fixed for the session) and
// the messages marked deleted.
type maildrop struct {
	backend Backend
	mailbox store.Mailbox
	msgs    []*dropMessage // message n is msgs[n-1]
	ahead   ahead          // bodies RETR read ahead (readahead.go)
	batches *batchPool     // the server's, for read-ahead
}

type dropMessage struct {
	meta    store.MessageMeta
	deleted bool
	// size is the octet count RETR sends (line endings as CRLF, without
	// dot-stuffing): the WireSize the store computed at delivery, or -1
	// until it has been counted from the body (a message stored by an
	// older program, which left WireSize unknown).
	size int64
}

// openMaildrop snapshots the INBOX of accountID, from idx if not nil.
func openMaildrop(ctx context.Context, b Backend, idx MailboxIndex, accountID int64) (*maildrop, error) {
	mb, err := b.MailboxByName(ctx, accountID, store.Inbox)
	if err != nil {
		return nil, fmt.Errorf("open INBOX: %w", err)
	}
	d := &maildrop{backend: b, mailbox: mb}
	add := func(m store.MessageMeta) error {
		d.msgs = append(d.msgs, &dropMessage{meta: m, size: max(m.WireSize, -1)})
		return nil
	}
	if idx != nil {
		var metas []store.MessageMeta
		if metas, err = idx.List(ctx, mb); err == nil {
			d.msgs = make([]*dropMessage, 0, len(metas))
			for _, m := range metas {
				add(m)
			}
		}
	} else {
		err = b.ListMessages(ctx, mb.Ref(), nil, add)
	}
	if err != nil {
		return nil, fmt.Errorf("list INBOX: %w", err)
	}
	return d, nil
}

// message returns message number arg, which must exist and not be deleted.
func (d *maildrop) message(arg string) (int, *dropMessage, error) {
	n, err := parseNumber(arg)
	if err != nil {
		return 0, nil, err
	}
	if n < 1 || n > len(d.msgs) {
		return 0, nil, errNoSuchMessage
	}
	m := d.msgs[n-1]
	if m.deleted {
		return 0, nil, errorf("", "message %d already deleted", n)
	}
	return n, m, nil
}

// body reads a message's bytes and records its wire size.
func (d *maildrop) body(ctx context.Context, m *dropMessage) ([]byte, error) {
	raw, err := d.backend.MessageBody(ctx, d.mailbox.Ref(), m.meta.ID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errMessageGone
	}
	if err != nil {
		return nil, err
	}
	if m.size < 0 {
		m.size = message.CRLFSize(raw)
	}
	return raw, nil
}

// bodyInto reads m's bytes into buf (grown as needed; a pooled buffer of
// the session's server) and returns them: the store hands them over
// without a copy of its own and the row is released before anything is
// written to the client, so a slow client holds no store connection.
func (d *maildrop) bodyInto(ctx context.Context, m *dropMessage, buf []byte) ([]byte, error) {
	err := d.backend.ReadMessageBody(ctx, d.mailbox.Ref(), m.meta.ID, func(raw []byte) error {
		buf = append(buf[:0], raw...)
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, errMessageGone
	}
	if err != nil {
		return nil, err
	}
	if m.size < 0 {
		m.size = message.CRLFSize(buf)
	}
	return buf, nil
}

// size returns the octet count RETR of m sends. The stored bytes may use
// bare LFs, which go out as CRLF; the store counted them at delivery
// (MessageMeta.WireSize). Only when it did not is the size counted from
// the body, the first time it is needed, and remembered for the session.
func (d *maildrop) size(ctx context.Context, m *dropMessage) (int64, error) {
	if m.size < 0 {
		_, err := d.body(ctx, m)
		if errors.Is(err, errMessageGone) {
			// Expunged by another protocol since login: RETR will fail,
			// the listing keeps the stored size.
			m.size = m.meta.Size
		} else if err != nil {
			return 0, err
		}
	}
	return m.size, nil
}

// sizeAll computes the size of every message not deleted whose size is
// not known yet, reading the bodies in batches (one store query per batch
// rather than one per message). Usually every size is known from the
// metadata and it reads nothing.
func (d *maildrop) sizeAll(ctx context.Context) error {
	var uids []uint32
	byUID := make(map[uint32]*dropMessage)
	for _, m := range d.msgs {
		if !m.deleted && m.size < 0 {
			uids = append(uids, m.meta.UID)
			byUID[m.meta.UID] = m
		}
	}
	if len(uids) == 0 {
		return nil
	}
	err := d.backend.ListBodies(ctx, d.mailbox.Ref(), uids, func(meta store.MessageMeta, raw []byte) error {
		if m := byUID[meta.UID]; m != nil && m.meta.ID == meta.ID {
			m.size = message.CRLFSize(raw)
		}
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		err = nil // INBOX gone: every message is, see below
	}
	if err != nil {
		return err
	}
	for _, m := range byUID {
		if m.size < 0 {
			// Expunged by another protocol since login: RETR will fail,
			// the listing keeps the stored size.
			m.size = m.meta.Size
		}
	}
	return nil
}

// stat returns the number and total size of the messages not deleted.
func (d *maildrop) stat(ctx context.Context) (count int, total int64, err error) {
	if err := d.sizeAll(ctx); err != nil {
		return 0, 0, err
	}
	for _, m := range d.msgs {
		if m.deleted {
			continue
		}
		sz, err := d.size(ctx, m)
		if err != nil {
			return 0, 0, err
		}
		count++
		total += sz
	}
	return count, total, nil
}

// uidl is the unique-id listing of m (RFC 1939 §7): UIDVALIDITY and UID,
// so it stays stable across sessions and matches what IMAP sees. It is at
// most 21 characters in the range 0x21-0x7E.
func (d *maildrop) uidl(m *dropMessage) string {
	return fmt.Sprintf("%d.%d", d.mailbox.UIDValidity, m.meta.UID)
}

// reset unmarks every deleted message (RSET).
func (d *maildrop) reset() {
	for _, m := range d.msgs {
		m.deleted = false
	}
}

// commit expunges the messages marked deleted (the UPDATE state).
func (d *maildrop) commit(ctx context.Context) (int, error) {
	var uids []uint32
	for _, m := range d.msgs {
		if m.deleted {
			uids = append(uids, m.meta.UID)
		}
	}
	if len(uids) == 0 {
		return 0, nil
	}
	if _, _, err := d.backend.Expunge(ctx, d.mailbox.Ref(), uids, false); err != nil {
		return 0, err
	}
	return len(uids), nil
}
