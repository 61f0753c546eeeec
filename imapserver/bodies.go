package imapserver

import (
	"context"

	"github.com/mailroom/mailroom/message"
	"github.com/mailroom/mailroom/store"
)

// Reading bytes in batches: FETCH of headers or bodies and SEARCH on text
// read the bytes of up to bodyBatchCount messages with one store call
// (Store.ListBodies) instead of one or two calls per message, and the
// MIME trees parsed at delivery with one more (Store.ListParts, partsFor)
// when an item needs a tree: nothing is parsed again. A batch holds at
// most bodyBatchBytes, so memory stays bounded whatever the mailbox holds;
// a message larger than bodyAloneSize is read on its own, only when an
// item needs it (FETCH ENVELOPE of a 40 MB message reads the stored tree,
// not 40 MB).
const (
	bodyBatchCount = 64
	bodyBatchBytes = 4 << 20
	bodyAloneSize  = 1 << 20
)

// bodyBatchLen returns how many messages at the start of metas form the
// next batch of bodies and their sizes' sum; 0 when the first is a large
// message, read on its own only when an item needs it.
func bodyBatchLen(metas []store.MessageMeta) (int, int64) {
	n, total := 0, int64(0)
	for n < len(metas) && n < bodyBatchCount && metas[n].Size <= bodyAloneSize && total+metas[n].Size <= bodyBatchBytes {
		total += metas[n].Size
		n++
	}
	return n, total
}

// bodyBatch returns how many messages at the start of metas form the next
// batch, and their bytes (raws[i] is nil for a message expunged meanwhile,
// or when the batch is a single large message read lazily).
func (c *conn) bodyBatch(mbox store.MailboxRef, metas []store.MessageMeta) (int, [][]byte, error) {
	n, _ := bodyBatchLen(metas)
	if n == 0 {
		return 1, nil, nil
	}
	raws, err := c.readBatch(c.srv.cfg.Store.ListBodies, mbox, metas[:n])
	return n, raws, err
}

// bodyBatchInto is bodyBatch with the bytes copied into *buf (from
// getBodyBuf) as the store reads them (Store.ReadBodies, which on SQLite
// makes no copy of its own: ListBodies made two of every message, the
// driver's and database/sql's, a fifth of FETCH BODY[]'s CPU with the
// garbage they left). The raws are valid until *buf is next used, so
// FETCH reads a batch into it only once the previous batch's responses
// are written. A batch of which nothing is found is read again with
// ListBodies, which tells a mailbox gone (store.ErrNotFound) from
// messages expunged.
func (c *conn) bodyBatchInto(mbox store.MailboxRef, metas []store.MessageMeta, buf *[]byte) (int, [][]byte, error) {
	n, total := bodyBatchLen(metas)
	if n == 0 {
		return 1, nil, nil
	}
	out, found, err := c.readInto(c.srv.cfg.Store.ReadBodies, mbox, metas[:n], total, buf)
	if err == nil && !found {
		return c.bodyBatch(mbox, metas)
	}
	return n, out, err
}

// readInto reads the bytes of metas (ascending UIDs) with read
// (Store.ReadBodies or Store.ReadHeaders), copied into *buf (at least
// size bytes long, or grown) as the store hands them; out[i] stays nil
// for a message the store no longer has, and found tells whether any
// was.
func (c *conn) readInto(read func(context.Context, store.MailboxRef, []uint32, func(int64, uint32, []byte) error) error, mbox store.MailboxRef, metas []store.MessageMeta, size int64, buf *[]byte) (out [][]byte, found bool, err error) {
	n := len(metas)
	uids := make([]uint32, n)
	for i := range uids {
		uids[i] = metas[i].UID
	}
	arena := (*buf)[:0]
	if int64(cap(arena)) < size || arena == nil {
		arena = make([]byte, 0, max(size, minBodyBuf))
	}
	out = make([][]byte, n)
	j := 0
	err = read(c.ctx, mbox, uids, func(id int64, uid uint32, raw []byte) error {
		for j < n && metas[j].UID < uid {
			j++
		}
		if j < n && metas[j].UID == uid && metas[j].ID == id {
			start := len(arena)
			arena = append(arena, raw...)
			out[j], found = arena[start:len(arena):len(arena)], true
		}
		return nil
	})
	*buf = arena
	return out, found, err
}

// readBatch reads the bytes of metas (ascending UIDs) with one list call
// (Store.ListBodies or Store.ListHeaders); out[i] stays nil for a message
// the store no longer has (expunged meanwhile, or a new copy with another
// id under the same UID).
func (c *conn) readBatch(list func(context.Context, store.MailboxRef, []uint32, func(store.MessageMeta, []byte) error) error, mbox store.MailboxRef, metas []store.MessageMeta) ([][]byte, error) {
	n := len(metas)
	uids := make([]uint32, n)
	for i := range metas {
		uids[i] = metas[i].UID
	}
	out := make([][]byte, n)
	j := 0
	err := list(c.ctx, mbox, uids, func(m store.MessageMeta, b []byte) error {
		for j < n && metas[j].UID < m.UID {
			j++
		}
		if j < n && metas[j].UID == m.UID && metas[j].ID == m.ID {
			out[j] = b
		}
		return nil
	})
	return out, err
}

// withBytes returns the msgData of meta with its bytes already read (raw
// from bodyBatch), or one that reads them when first needed; part, when
// not nil, is its stored tree (partsFor).
func (c *conn) withBytes(meta *store.MessageMeta, raw []byte, part *message.Part) msgData {
	if raw == nil {
		return msgData{c: c, meta: meta, part: part}
	}
	return msgData{c: c, meta: meta, raw: raw, haveRaw: true, part: part}
}

// Reading trees: FETCH BODYSTRUCTURE, BODY and ENVELOPE with no item that
// needs bytes read only the part trees the store keeps (Store.ListParts),
// up to partBatchCount messages whose sizes add up to at most
// partBatchBytes (a tree's size grows with its message's parts, so the
// sizes bound the memory; a larger message is read on its own).
const (
	partBatchCount = 256
	partBatchBytes = 4 << 20
)

// partBatch is bodyBatch for trees alone: it returns how many messages at
// the start of metas form the next batch, and their trees (parts[i] is nil
// for a message expunged meanwhile).
func (c *conn) partBatch(mbox store.MailboxRef, metas []store.MessageMeta) (int, []*message.Part, error) {
	n, total := 1, metas[0].Size
	for n < len(metas) && n < partBatchCount && total+metas[n].Size <= partBatchBytes {
		total += metas[n].Size
		n++
	}
	parts, err := c.partsFor(mbox, metas[:n])
	return n, parts, err
}

// partsFor reads the stored trees of metas (ascending UIDs) with one
// ListParts call; out[i] stays nil for a message the store no longer has.
func (c *conn) partsFor(mbox store.MailboxRef, metas []store.MessageMeta) ([]*message.Part, error) {
	n := len(metas)
	uids := make([]uint32, n)
	for i := range metas {
		uids[i] = metas[i].UID
	}
	out := make([]*message.Part, n)
	j := 0
	err := c.srv.cfg.Store.ListParts(c.ctx, mbox, uids, func(m store.MessageMeta, p *message.Part) error {
		for j < n && metas[j].UID < m.UID {
			j++
		}
		if j < n && metas[j].UID == m.UID && metas[j].ID == m.ID {
			out[j] = p
		}
		return nil
	})
	return out, err
}

// Reading headers: when every item of a FETCH that needs bytes needs only
// the top-level header (ENVELOPE, RFC822.HEADER, BODY[HEADER],
// BODY[HEADER.FIELDS (...)], BODY[HEADER.FIELDS.NOT (...)]), FETCH reads
// the headers the store keeps apart from the bodies (Store.ListHeaders):
// listing a mailbox of large attachments reads kilobytes, not megabytes.
// A batch is up to headerBatchCount messages whose sizes add up to at
// most Server.headerBatchBytes (defaultHeaderBatchBytes; a header is
// never larger than its message, so memory stays bounded; a larger
// message is read on its own).
const (
	headerBatchCount        = 256
	defaultHeaderBatchBytes = 32 << 20
)

// headerOnly reports whether a needs no more than the message's top-level
// header.
func (a fetchAtt) headerOnly() bool {
	return a.kind == attEnvelope || a.rootHeader()
}

// rootHeader reports whether a is a section of the top-level header
// (RFC822.HEADER, BODY[HEADER], BODY[HEADER.FIELDS (...)] or .NOT).
func (a fetchAtt) rootHeader() bool {
	return a.kind == attRFC822Header || (a.kind == attSection && a.section.RootHeader())
}

// headerBatchLen returns how many messages at the start of metas form
// the next batch of headers.
func (c *conn) headerBatchLen(metas []store.MessageMeta) int {
	n, total := 1, metas[0].Size
	for n < len(metas) && n < headerBatchCount && total+metas[n].Size <= c.srv.headerBatchBytes {
		total += metas[n].Size
		n++
	}
	return n
}

// headerBatch is bodyBatch for headers: it returns how many messages at
// the start of metas form the next batch, and their headers (hdrs[i] is
// nil for a message expunged meanwhile).
func (c *conn) headerBatch(mbox store.MailboxRef, metas []store.MessageMeta) (int, [][]byte, error) {
	n := c.headerBatchLen(metas)
	hdrs, err := c.readBatch(c.srv.cfg.Store.ListHeaders, mbox, metas[:n])
	return n, hdrs, err
}

// headerBatchInto is bodyBatchInto for headers (Store.ReadHeaders): no
// metadata read again and decoded, no copy of database/sql's, about a
// tenth of FETCH of header fields' CPU with the garbage it left. *buf
// grows as needed (a header's size is not known before).
func (c *conn) headerBatchInto(mbox store.MailboxRef, metas []store.MessageMeta, buf *[]byte) (int, [][]byte, error) {
	n := c.headerBatchLen(metas)
	hdrs, found, err := c.readInto(c.srv.cfg.Store.ReadHeaders, mbox, metas[:n], 0, buf)
	if err == nil && !found {
		return c.headerBatch(mbox, metas)
	}
	return n, hdrs, err
}

// withHeader returns the msgData of meta with its top-level header
// already read (hdr from headerBatch), or one that reads the whole
// message when first needed (hdr nil: the message was expunged, which
// that read reports).
func (c *conn) withHeader(meta *store.MessageMeta, hdr []byte, part *message.Part) msgData {
	if hdr == nil {
		return msgData{c: c, meta: meta, part: part}
	}
	return msgData{c: c, meta: meta, hdr: hdr, haveHdr: true, part: part}
}
