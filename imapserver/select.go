package imapserver

import (
	"slices"
	"strings"

	"github.com/mailroom/mailroom/imapserver/imapmsg"
	"github.com/mailroom/mailroom/store"
)

// Flags every mailbox supports (RFC 9051 §2.3.2); keywords are allowed too.
// The untagged FLAGS lists these and every keyword in use in the mailbox
// (RFC 3501 §7.2.6, RFC 9051 §7.3.5), PERMANENTFLAGS the same plus \*
// (any new keyword may be stored).
const mailboxFlags = `\Answered \Flagged \Deleted \Seen \Draft`

var mailboxFlagList = strings.Fields(mailboxFlags)

// writeMailboxFlags writes "* FLAGS (...)": the system flags and the
// keywords the session announced.
func (c *conn) writeMailboxFlags(v *view) {
	c.untagged().Raw("FLAGS (").Raw(mailboxFlags)
	for _, k := range v.keywords {
		c.enc.SP().Atom(k)
	}
	c.enc.Raw(")\r\n")
}

// writePermanentFlags writes "* OK [PERMANENTFLAGS (...)]": empty for a
// read-only mailbox, else the announced flags and \*.
func (c *conn) writePermanentFlags(v *view) {
	if v.readOnly {
		c.untagged().Raw("OK [PERMANENTFLAGS ()] read-only\r\n")
		return
	}
	// Only the flags the session's rights let it change (RFC 4314 §4).
	permitted := mailboxFlags
	if !v.may("swt") {
		permitted = strings.Join(permittedFlags(v.rights, mailboxFlagList), " ")
	}
	c.untagged().Raw("OK [PERMANENTFLAGS (").Raw(permitted)
	if v.may("w") {
		for _, k := range v.keywords {
			c.enc.SP().Atom(k)
		}
		c.enc.Raw(` \*`)
	}
	c.enc.Raw(`)] flags permitted` + "\r\n")
}

// announceKeywords sends a new FLAGS (and PERMANENTFLAGS) response when
// flags hold a keyword the session has not announced yet, so that a
// client never sees a keyword in a FETCH before it was in FLAGS. Call it
// before the FETCH line that carries flags is started.
func (c *conn) announceKeywords(flags []string) {
	v := c.sel
	if v == nil {
		return
	}
	added := false
	for _, f := range flags {
		if store.IsSystemFlag(f) {
			continue
		}
		i, found := slices.BinarySearch(v.keywords, f)
		if found {
			continue
		}
		v.keywords = slices.Insert(v.keywords, i, f)
		added = true
	}
	if added {
		c.writeMailboxFlags(v)
		c.writePermanentFlags(v)
	}
}

type qresyncParams struct {
	uidValidity uint32
	modseq      uint64
	knownUIDs   *imapmsg.NumSet
}

// cmdSelect: SELECT and EXAMINE (RFC 9051 §6.3.2-3) with the CONDSTORE and
// QRESYNC select parameters (RFC 7162 §3.1.8, §3.2.5).
func cmdSelect(c *conn, cmd *command) error {
	if err := c.dec.SP(); err != nil {
		return err
	}
	name, err := c.mailboxArg()
	if err != nil {
		return err
	}
	var qr *qresyncParams
	if !c.dec.AtEOL() {
		if err := c.dec.SP(); err != nil {
			return err
		}
		err := c.dec.List(func() error {
			p, err := c.dec.Atom()
			if err != nil {
				return err
			}
			switch strings.ToUpper(p) {
			case "CONDSTORE":
				c.condstore = true
				return nil
			case "QRESYNC":
				if !c.qresync {
					return badf(codeClientBug, "QRESYNC not enabled")
				}
				if err := c.dec.SP(); err != nil {
					return err
				}
				qr, err = c.parseQresync()
				return err
			}
			return badf("", "unknown select parameter")
		})
		if err != nil {
			return err
		}
	}
	if err := c.endArgs(); err != nil {
		return err
	}
	if c.sel != nil {
		c.sel = nil
		c.state = stateAuth
		if c.qresync || c.rev2 {
			c.untagged().Raw("OK [").Raw(codeClosed).Raw("] previous mailbox closed\r\n")
		}
	}
	st := c.srv.cfg.Store
	t, err := c.resolveMailbox(name)
	if err != nil {
		return err
	}
	if !store.HasRights(t.rights, "r") { // RFC 4314 §4
		return nof(codeNoPerm, "no read right on this mailbox")
	}
	mb := t.mb
	if t.owner != "" {
		c.watchShared(mb.AccountID, mb.ID)
	} else {
		c.unwatchShared()
	}
	// Drop wake-ups from before the snapshot below; a change committed
	// after this point wakes the session again.
	c.pendingChange()
	idx := c.srv.indexes.Get(mb)
	if err := idx.Refresh(c.ctx); err != nil {
		return err
	}
	c.srv.indexes.Trim(mb.ID)
	uids, modseq := idx.UIDs()
	// Read after the UIDs, so UIDNEXT is above every one of them.
	status, err := st.MailboxStatus(c.ctx, mb.Ref())
	if err != nil {
		return err
	}
	// Read-only as well without any right to change the mailbox's
	// messages (RFC 4314 §4: s, w, t or e).
	readOnly := cmd.name == "EXAMINE" || !strings.ContainsAny(t.rights, "swte")
	v := &view{mbox: mb, owner: t.owner, rights: t.rights, readOnly: readOnly, uids: uids, modseq: modseq, index: idx}
	v.keywords = idx.Keywords()
	v.sentHighest = modseq

	c.sel = v // for the recent bookkeeping; c.state follows below
	if err := c.startRecent(); err != nil {
		c.sel = nil
		return err
	}
	c.writeMailboxFlags(v)
	c.untagged().Number(uint32(len(uids))).Raw(" EXISTS\r\n")
	if !c.rev2 {
		c.untagged().Number(v.recentCount()).Raw(" RECENT\r\n")
		if seq := c.firstUnseen(); seq > 0 {
			c.untagged().Raw("OK [UNSEEN ").Number(seq).Raw("] first unseen\r\n")
		}
	}
	c.untagged().Raw("OK [UIDVALIDITY ").Number(status.UIDValidity).Raw("] UIDs valid\r\n")
	c.untagged().Raw("OK [UIDNEXT ").Number(status.UIDNext).Raw("] predicted next UID\r\n")
	c.writePermanentFlags(v)
	c.untagged().Raw("OK [HIGHESTMODSEQ ").Number64(modseq).Raw("] highest\r\n")
	c.writeMailboxIDCode(mb)
	if c.rev2 {
		c.untagged().Raw("LIST () \"/\" ")
		c.enc.AString(c.encodeName(v.name())).CRLF()
	}
	c.sel = v
	c.state = stateSelected
	if qr != nil && qr.uidValidity == status.UIDValidity {
		if err := c.qresyncSelect(qr); err != nil {
			return err
		}
	}
	if v.readOnly {
		c.okCode = codeReadOnly
	} else {
		c.okCode = codeReadWrite
	}
	return nil
}

// parseQresync parses "(uidvalidity modseq [known-uids] [seq-match-data])".
func (c *conn) parseQresync() (*qresyncParams, error) {
	qr := &qresyncParams{}
	if err := c.dec.Expect('('); err != nil {
		return nil, err
	}
	var err error
	if qr.uidValidity, err = c.dec.Number(); err != nil {
		return nil, err
	}
	if err := c.dec.SP(); err != nil {
		return nil, err
	}
	if qr.modseq, err = c.dec.Number64(); err != nil {
		return nil, err
	}
	if c.dec.PeekIs(' ') {
		c.dec.SP()
		if !c.dec.PeekIs('(') {
			set, err := c.numSetArg()
			if err != nil {
				return nil, err
			}
			qr.knownUIDs = &set
			if c.dec.PeekIs(' ') {
				c.dec.SP()
			}
		}
		if c.dec.PeekIs('(') {
			// seq-match-data: an optimization the server may ignore.
			if err := c.dec.List(func() error { _, err := c.numSetArg(); return err }); err != nil {
				return nil, err
			}
		}
	}
	if err := c.dec.Expect(')'); err != nil {
		return nil, err
	}
	return qr, nil
}

// qresyncSelect reports what changed since the client's modseq: VANISHED
// (EARLIER) for expunged UIDs, then FETCH for changed messages.
func (c *conn) qresyncSelect(qr *qresyncParams) error {
	v := c.sel
	changed, vanished, _, err := c.srv.cfg.Store.Changes(c.ctx, v.mbox.Ref(), qr.modseq)
	if err != nil {
		return err
	}
	var gone []uint32
	for _, u := range vanished {
		if qr.knownUIDs == nil || qr.knownUIDs.Contains(u, ^uint32(0)) {
			gone = append(gone, u)
		}
	}
	if len(gone) > 0 {
		c.untagged().Raw("VANISHED (EARLIER) ").Raw(imapmsg.NumSetFromNums(gone).String()).CRLF()
	}
	for _, m := range changed {
		if m.ModSeq > v.modseq {
			continue // later than the snapshot: sync reports it
		}
		s := v.seq(m.UID)
		if s == 0 {
			continue
		}
		c.announceKeywords(m.Flags)
		c.untagged().Number(s).Raw(" FETCH (UID ").Number(m.UID).Raw(" ")
		c.writeFlags(m.Flags, m.UID)
		c.enc.Raw(" MODSEQ (").Number64(m.ModSeq).Raw("))\r\n")
	}
	return nil
}

// cmdClose: CLOSE expunges \Deleted messages silently (read-write only) and
// deselects; UNSELECT (RFC 3691) only deselects.
func cmdClose(c *conn, cmd *command) error {
	if err := c.endArgs(); err != nil {
		return err
	}
	v := c.sel
	c.sel = nil
	c.state = stateAuth
	c.unwatchShared()
	if cmd.name == "CLOSE" && !v.readOnly && v.may("e") {
		if _, _, err := c.srv.cfg.Store.Expunge(c.ctx, v.mbox.Ref(), nil, true); err != nil {
			return err
		}
	}
	return nil
}

// mailboxArg reads a mailbox name and returns it in store form (UTF-8,
// INBOX canonical). IMAP4rev1 clients send modified UTF-7.
func (c *conn) mailboxArg() (string, error) {
	raw, err := c.dec.AString()
	if err != nil {
		return "", err
	}
	return c.decodeName(raw), nil
}

func (c *conn) decodeName(raw string) string {
	name := raw
	if !c.rev2 {
		if dec, err := decodeMUTF7(raw); err == nil {
			name = dec
		}
	}
	return store.CanonicalMailboxName(name)
}

func (c *conn) encodeName(name string) string {
	if c.rev2 {
		return name
	}
	return encodeMUTF7(name)
}

// numSetArg reads a sequence set or UID set.
func (c *conn) numSetArg() (imapmsg.NumSet, error) {
	s, err := c.dec.AtomFunc("sequence set", isSeqSetChar)
	if err != nil {
		return imapmsg.NumSet{}, err
	}
	set, err := imapmsg.ParseNumSet(s)
	if err != nil {
		return set, badf("", "invalid sequence set")
	}
	if set.Saved && c.sel == nil {
		return set, badf("", "no saved search result")
	}
	return set, nil
}

func isSeqSetChar(b byte) bool {
	return (b >= '0' && b <= '9') || b == ':' || b == ',' || b == '*' || b == '$'
}
