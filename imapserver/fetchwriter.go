package imapserver

import "github.com/mailroom/mailroom/store"

// fetchWriter writes one "* n FETCH (...)" response: FETCH itself, the
// responses to STORE and the flag changes sync reports all go through it,
// so the items come in one order (UID, FLAGS, MODSEQ, then the rest) and
// FLAGS carries \Recent the same way everywhere. Start it with
// conn.fetchResponse, add items, and End it; nothing is buffered.
type fetchWriter struct {
	c   *conn
	uid uint32
	sep bool
}

// fetchResponse starts the response for the message uid of the selected
// mailbox.
func (c *conn) fetchResponse(uid uint32) fetchWriter {
	c.untagged().Number(c.sel.seq(uid)).Raw(" FETCH (")
	return fetchWriter{c: c, uid: uid}
}

func (w *fetchWriter) next() {
	if w.sep {
		w.c.enc.SP()
	}
	w.sep = true
}

// UID writes "UID n".
func (w *fetchWriter) UID() {
	w.next()
	w.c.enc.Raw("UID ").Number(w.uid)
}

// Flags writes "FLAGS (...)", with \Recent for a message recent in this
// session (recent.go).
func (w *fetchWriter) Flags(flags []string) {
	w.next()
	w.c.writeFlags(flags, w.uid)
}

// ModSeq writes "MODSEQ (n)" (RFC 7162).
func (w *fetchWriter) ModSeq(modseq uint64) {
	w.next()
	w.c.enc.Raw("MODSEQ (").Number64(modseq).Raw(")")
}

// Item writes name and its value: data as IMAP syntax (lit 0), as a
// literal (1) or as a literal8 (8, RFC 3516).
func (w *fetchWriter) Item(name string, data []byte, lit int) {
	w.next()
	w.c.enc.Raw(name).SP()
	switch lit {
	case 0:
		w.c.enc.RawBytes(data)
	case 1:
		w.c.literal(data)
	case 8:
		w.c.enc.Byte('~') // literal8
		w.c.literal(data)
	}
}

// End closes the response.
func (w *fetchWriter) End() { w.c.enc.Raw(")\r\n") }

// writeFlagsFetch writes the response that reports m's flags (STORE,
// sync): with its UID, its flags and its modseq as asked.
func (c *conn) writeFlagsFetch(m store.MessageMeta, uid, flags, modseq bool) {
	w := c.fetchResponse(m.UID)
	if uid {
		w.UID()
	}
	if flags {
		w.Flags(m.Flags)
	}
	if modseq {
		w.ModSeq(m.ModSeq)
	}
	w.End()
}

// writeFlags writes "FLAGS (...)".
// \Recent is added for a message recent in this session (recent.go).
func (c *conn) writeFlags(flags []string, uid uint32) {
	c.enc.Raw("FLAGS (")
	for i, f := range flags {
		if i > 0 {
			c.enc.SP()
		}
		c.enc.Atom(f)
	}
	if c.sel != nil && c.sel.isRecent(uid) {
		if len(flags) > 0 {
			c.enc.SP()
		}
		c.enc.Raw(`\Recent`)
	}
	c.enc.Raw(")")
}
