package imapserver

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/mailroom/mailroom/imapserver/imapmsg"
	"github.com/mailroom/mailroom/message"
	"github.com/mailroom/mailroom/store"
)

// cmdFetch: FETCH and UID FETCH (RFC 9051 §6.4.5, BINARY RFC 3516,
// CHANGEDSINCE/VANISHED RFC 7162). Metadata is read a chunk at a time and
// each message's bytes only when an item needs them.
func cmdFetch(c *conn, cmd *command) error {
	if err := c.dec.SP(); err != nil {
		return err
	}
	set, err := c.numSetArg()
	if err != nil {
		return err
	}
	if err := c.dec.SP(); err != nil {
		return err
	}
	atts, err := c.fetchAtts()
	if err != nil {
		return err
	}
	var mods fetchModifiers
	if !c.dec.AtEOL() {
		if err := c.dec.SP(); err != nil {
			return err
		}
		if mods, err = c.fetchModifiersArg(cmd); err != nil {
			return err
		}
	}
	if err := c.endArgs(); err != nil {
		return err
	}
	v := c.sel
	uids, err := v.resolve(set, cmd.uid)
	if err != nil {
		return err
	}
	if mods.vanished {
		if err := c.fetchVanished(set, mods.changedSince); err != nil {
			return err
		}
	}
	return c.fetchMessages(cmd, uids, atts, mods)
}

// fetchMessages writes the FETCH responses of uids of the selected
// mailbox: FETCH itself, and NOTIFY's fetch attributes after MessageNew
// (notify.go).
func (c *conn) fetchMessages(cmd *command, uids []uint32, atts []fetchAtt, mods fetchModifiers) error {
	v := c.sel
	// Bytes are read when an item needs them (only the headers when
	// that is all they need); trees are the ones stored at delivery,
	// read when an item needs more than the top-level header, or
	// ENVELOPE without bytes to take it from (ParseTop of a header in
	// hand is as cheap as a second store call).
	setsSeen, needsBytes, headerOnly, needsTree, envelope := false, false, true, false, false
	for _, a := range atts {
		setsSeen = setsSeen || a.setsSeen()
		needsBytes = needsBytes || a.needsBody()
		headerOnly = headerOnly && (!a.needsBody() || a.headerOnly())
		needsTree = needsTree || a.needsTree()
		envelope = envelope || a.kind == attEnvelope
	}
	needsTree = needsTree || (envelope && !needsBytes)
	setsSeen = setsSeen && !v.readOnly && v.may("s") // RFC 4314 §4
	vanished := false
	idx, err := c.index()
	if err != nil {
		return err
	}
	mb, metas := c.getMetas(min(len(uids), fetchChunk))
	defer c.putMetas(mb)
	var bodyBuf *[]byte
	if needsBytes {
		bodyBuf = c.getBodyBuf()
		defer c.putBodyBuf(bodyBuf)
	}
	for len(uids) > 0 {
		n := min(len(uids), fetchChunk)
		batch := uids[:n]
		uids = uids[n:]
		// Messages expunged by another session are not in the index any
		// more and get no response (announced at the next sync).
		metas = idx.Lookup(metas[:0], batch)
		seenNow := map[uint32]bool{}
		var seen *seenWrite
		if setsSeen {
			seen = c.startSeen(metas)
			defer seen.wait() // an error return leaves no write behind
		}
		if mods.changedSince > 0 {
			if err := c.finishSeen(&seen, metas, seenNow); err != nil {
				return err
			}
			metas = slices.DeleteFunc(metas, func(m store.MessageMeta) bool { return m.ModSeq <= mods.changedSince })
		}
		extras, err := c.loadRowExtras(atts, metas)
		if err != nil {
			return err
		}
		for rest := metas; len(rest) > 0; {
			n, raws, parts := len(rest), [][]byte(nil), []*message.Part(nil)
			switch {
			case needsBytes && headerOnly:
				// Into bodyBuf, as bodies below.
				n, raws, err = c.headerBatchInto(v.mbox.Ref(), rest, bodyBuf)
			case needsBytes:
				// Into bodyBuf: the previous batch's responses are
				// written.
				n, raws, err = c.bodyBatchInto(v.mbox.Ref(), rest, bodyBuf)
			case needsTree:
				n, parts, err = c.partBatch(v.mbox.Ref(), rest)
			}
			if err == nil && needsBytes && needsTree && raws != nil {
				parts, err = c.partsFor(v.mbox.Ref(), rest[:n])
			}
			if err == nil {
				// The chunk's first bytes were read while \Seen was
				// written; its responses wait for the commit.
				err = c.finishSeen(&seen, metas, seenNow)
			}
			if err != nil {
				return err
			}
			for i := range n {
				m := &rest[i]
				var raw []byte
				if raws != nil {
					raw = raws[i]
				}
				var part *message.Part
				if parts != nil {
					part = parts[i]
				}
				d := c.withBytes(m, raw, part)
				if needsBytes && headerOnly {
					d = c.withHeader(m, raw, part)
				}
				if err := c.writeFetch(cmd, d, atts, &extras, seenNow[m.UID], mods.changedSince > 0); err != nil {
					if !errors.Is(err, store.ErrNotFound) {
						return err
					}
					// Another session expunged it after the metadata was
					// read; send the rest, then say so (RFC 9051 §7.1
					// EXPUNGEISSUED). The EXPUNGE is announced at the next
					// sync.
					vanished = true
				}
			}
			rest = rest[n:]
			if err := c.enc.Err(); err != nil {
				return err
			}
		}
	}
	if vanished {
		return nof(codeExpungeIssued, "some of the requested messages no longer exist")
	}
	return nil
}

// seenWrite is FETCH's implicit \Seen (RFC 9051 §6.4.5) of a chunk's
// unseen messages, in flight while the chunk's bytes are read: the store
// write and the read overlap instead of adding up. Nothing of the chunk
// is sent before the write has returned, so each response carries the
// committed FLAGS and MODSEQ, as when the write came first.
type seenWrite struct {
	mark    feedMark
	done    chan struct{}
	changed []store.MessageMeta
	err     error
}

// startSeen starts setting \Seen on the messages of metas that lack it;
// nil when all have it.
func (c *conn) startSeen(metas []store.MessageMeta) *seenWrite {
	var unseen []uint32
	for i := range metas {
		if !metas[i].HasFlag(store.FlagSeen) {
			unseen = append(unseen, metas[i].UID)
		}
	}
	if len(unseen) == 0 {
		return nil
	}
	w := &seenWrite{mark: c.markFeed(), done: make(chan struct{})}
	ctx, st, ref := c.ctx, c.srv.cfg.Store, c.sel.mbox.Ref()
	go func() {
		defer close(w.done)
		defer func() {
			if r := recover(); r != nil {
				w.err = fmt.Errorf("FETCH \\Seen: panic: %v", r)
			}
		}()
		w.changed, _, w.err = st.UpdateFlags(ctx, ref, unseen, store.FlagsAdd, []string{store.FlagSeen}, 0)
	}()
	return w
}

// wait waits for the write, if any, to return.
func (w *seenWrite) wait() {
	if w != nil {
		<-w.done
	}
}

// finishSeen waits for the write *wp started, if any, and takes its result
// into metas (and the session's view); *wp is nil after.
func (c *conn) finishSeen(wp **seenWrite, metas []store.MessageMeta, seenNow map[uint32]bool) error {
	w := *wp
	if w == nil {
		return nil
	}
	*wp = nil
	w.wait()
	if w.err != nil {
		return w.err
	}
	c.tookOwnWrite(w.mark, w.changed)
	byUID := map[uint32]store.MessageMeta{}
	for _, m := range w.changed {
		byUID[m.UID] = m
	}
	for i := range metas {
		if m, ok := byUID[metas[i].UID]; ok {
			metas[i].Flags, metas[i].ModSeq = m.Flags, m.ModSeq
			seenNow[m.UID] = true
			c.markReported(m)
		}
	}
	return nil
}

func (c *conn) markReported(m store.MessageMeta) {
	if c.sel.reported == nil {
		c.sel.reported = map[uint32]uint64{}
	}
	c.sel.reported[m.UID] = m.ModSeq
}

// fetchVanished sends "* VANISHED (EARLIER)" for UIDs of set expunged after
// modseq (RFC 7162 §3.2.6).
func (c *conn) fetchVanished(set imapmsg.NumSet, since uint64) error {
	_, vanished, _, err := c.srv.cfg.Store.Changes(c.ctx, c.sel.mbox.Ref(), since)
	if err != nil {
		return err
	}
	var out []uint32
	for _, u := range vanished {
		if set.Contains(u, c.sel.maxUID()) {
			out = append(out, u)
		}
	}
	if len(out) > 0 {
		c.untagged().Raw("VANISHED (EARLIER) ").Raw(imapmsg.NumSetFromNums(out).String()).CRLF()
	}
	return nil
}

// rowExtras holds what FETCH items read from the messages' rows besides
// their metadata (EMAILID, SAVEDATE), loaded for a chunk of messages in
// one store call each rather than one per message.
type rowExtras struct {
	emailIDs  map[uint32]int64
	saveDates map[uint32]time.Time
}

// loadRowExtras reads the row data of metas that atts ask for.
func (c *conn) loadRowExtras(atts []fetchAtt, metas []store.MessageMeta) (rowExtras, error) {
	var x rowExtras
	var uids []uint32
	var err error
	for _, a := range atts {
		if (a.kind != attEmailID && a.kind != attSaveDate) || len(metas) == 0 {
			continue
		}
		if uids == nil {
			uids = make([]uint32, len(metas))
			for i := range metas {
				uids[i] = metas[i].UID
			}
		}
		switch {
		case a.kind == attEmailID && x.emailIDs == nil:
			x.emailIDs, err = c.srv.cfg.Store.EmailIDs(c.ctx, c.sel.mbox.Ref(), uids)
		case a.kind == attSaveDate && x.saveDates == nil:
			x.saveDates, err = c.srv.cfg.Store.SaveDates(c.ctx, c.sel.mbox.Ref(), uids)
		}
		if err != nil {
			return x, err
		}
	}
	return x, nil
}

// msgData loads a message's bytes and structure on first use. A caller
// that already read the bytes (through ListBodies) sets raw and haveRaw,
// and part to the tree stored at delivery when it read that too
// (ListParts); Part reads the stored tree when it was not. A FETCH whose
// items need only the top-level header (fetchAtt.headerOnly) sets hdr and
// haveHdr instead of raw: Head and Top then serve them from the header
// alone, and nothing else but Part may be asked of that msgData.
type msgData struct {
	c       *conn
	meta    *store.MessageMeta
	raw     []byte
	haveRaw bool
	hdr     []byte
	haveHdr bool
	part    *message.Part
	top     *message.Part // message.ParseTop of raw or hdr, when the tree is not needed
}

func (d *msgData) Raw() ([]byte, error) {
	if !d.haveRaw {
		b, err := d.c.srv.cfg.Store.MessageBody(d.c.ctx, d.c.sel.mbox.Ref(), d.meta.ID)
		if err != nil {
			return nil, err
		}
		d.raw, d.haveRaw = b, true
	}
	return d.raw, nil
}

// Part returns the message's MIME tree as stored at delivery.
func (d *msgData) Part() (*message.Part, error) {
	if d.part == nil {
		p, err := d.c.srv.cfg.Store.MessagePart(d.c.ctx, d.c.sel.mbox.Ref(), d.meta.ID)
		if err != nil {
			return nil, err
		}
		d.part = p
	}
	return d.part, nil
}

// Top returns a root part good for the root's sections and ENVELOPE: the
// whole tree when already loaded, else the top-level header parsed from
// the bytes (which it reads if needed).
func (d *msgData) Top() (*message.Part, error) {
	if d.part != nil {
		return d.part, nil
	}
	if d.top == nil {
		// The header ends where the message's header does: ParseTop of it
		// gives the same Envelope and header span (BodyStart = len(hdr)).
		raw, err := d.Head()
		if err != nil {
			return nil, err
		}
		d.top = message.ParseTop(raw)
	}
	return d.top, nil
}

// Head returns bytes that start with the message's top-level header: the
// header alone when that is what was read, else the whole message.
func (d *msgData) Head() ([]byte, error) {
	if d.haveHdr {
		return d.hdr, nil
	}
	return d.Raw()
}

// writeFetch writes one "* n FETCH (...)" response. The message's bytes
// are loaded before anything is written, so a store error leaves no
// half-written response.
func (c *conn) writeFetch(cmd *command, d msgData, atts []fetchAtt, extras *rowExtras, seenNow, withModSeq bool) error {
	m := d.meta
	type item struct {
		name string
		data []byte // rendered value
		lit  int    // 0: data is raw syntax; 1: literal; 8: literal8
	}
	// Room for the usual few items without growing (FETCH 1:* of a
	// mailbox writes one response per message).
	items := make([]item, 0, 4)
	add := func(name string, data []byte, lit int) { items = append(items, item{name, data, lit}) }
	hasFlags, hasUID, hasModSeq := false, false, false
	for _, a := range atts {
		var part *message.Part
		var raw []byte
		var err error
		switch {
		case a.needsTree() || (a.kind == attEnvelope && !d.haveRaw && !d.haveHdr):
			// ENVELOPE of a message whose bytes are not at hand (a large
			// one) comes from the stored tree rather than reading them.
			if part, err = d.Part(); err != nil {
				return err
			}
		case d.part == nil && d.top == nil && a.rootHeader():
			// Header fields are cut from the header without parsing
			// it (imapmsg.SectionBytes with no tree).
		case a.needsPart():
			if part, err = d.Top(); err != nil {
				return err
			}
		}
		switch {
		case a.needsBody() && a.headerOnly():
			if raw, err = d.Head(); err != nil {
				return err
			}
		case a.needsBody():
			if raw, err = d.Raw(); err != nil {
				return err
			}
		}
		switch a.kind {
		case attFlags:
			hasFlags = true
		case attUID:
			hasUID = true
		case attModSeq:
			hasModSeq = true
		case attInternalDate:
			add("INTERNALDATE", imapmsg.AppendString(nil, imapmsg.FormatInternalDate(m.InternalDate)), 0)
		case attSize:
			add("RFC822.SIZE", strconv.AppendInt(nil, m.Size, 10), 0)
		case attEnvelope:
			add("ENVELOPE", imapmsg.AppendEnvelope(nil, part.Envelope), 0)
		case attBody:
			add("BODY", imapmsg.AppendBodyStructure(nil, part, false), 0)
		case attBodyStructure:
			add("BODYSTRUCTURE", imapmsg.AppendBodyStructure(nil, part, true), 0)
		case attRFC822:
			add("RFC822", raw, 1)
		case attRFC822Header:
			b, err := imapmsg.SectionBytes(raw, part, imapmsg.Section{Specifier: imapmsg.SpecHeader})
			if err != nil {
				return err
			}
			add("RFC822.HEADER", b, 1)
		case attRFC822Text:
			b, err := imapmsg.SectionBytes(raw, part, imapmsg.Section{Specifier: imapmsg.SpecText})
			if err != nil {
				return err
			}
			add("RFC822.TEXT", b, 1)
		case attSection:
			b := raw // BODY[]: the whole message, as SectionBytes gives it
			if !a.wholeMessage() {
				b, err = imapmsg.SectionBytes(raw, part, a.section)
			}
			if errors.Is(err, imapmsg.ErrNoSuchPart) {
				b, err = []byte{}, nil
			}
			if err != nil {
				return err
			}
			add(a.name, imapmsg.ApplyPartial(b, a.section.Partial), 1)
		case attBinary:
			b, err := imapmsg.BinaryBytes(raw, part, a.section.Part)
			if errors.Is(err, imapmsg.ErrNoSuchPart) {
				return nof(codeNonExistent, "no such body part")
			}
			if err != nil {
				return err
			}
			lit := 1
			if bytes.IndexByte(b, 0) >= 0 {
				lit = 8
			}
			add(a.name, imapmsg.ApplyPartial(b, a.section.Partial), lit)
		case attBinarySize:
			n, err := imapmsg.BinarySize(raw, part, a.section.Part)
			if errors.Is(err, imapmsg.ErrNoSuchPart) {
				return nof(codeNonExistent, "no such body part")
			}
			if err != nil {
				return err
			}
			add(a.name, strconv.AppendInt(nil, n, 10), 0)
		case attPreview:
			b, lit, err := c.fetchPreview(&d)
			if err != nil {
				return err
			}
			add("PREVIEW", b, lit)
		case attSaveDate:
			b, err := extras.saveDate(m.UID)
			if err != nil {
				return err
			}
			add("SAVEDATE", b, 0)
		case attEmailID, attThreadID:
			name, b, err := extras.objectID(a, m.UID)
			if err != nil {
				return err
			}
			add(name, b, 0)
		}
	}
	if hasFlags || seenNow {
		c.announceKeywords(m.Flags)
	}
	w := c.fetchResponse(m.UID)
	if hasUID || cmd.uid {
		w.UID()
	}
	if hasFlags || seenNow {
		w.Flags(m.Flags)
	}
	if hasModSeq || withModSeq || (seenNow && c.condstore) {
		w.ModSeq(m.ModSeq)
	}
	for _, it := range items {
		w.Item(it.name, it.data, it.lit)
	}
	w.End()
	return nil
}

func uitoa64(n int64) string { return strconv.FormatInt(n, 10) }
