package imapserver

import (
	"errors"

	"github.com/mailroom/mailroom/imapserver/imapmsg"
	"github.com/mailroom/mailroom/store"
)

// copyArgs reads "sequence-set SP mailbox" and resolves both. The
// destination needs the insert right "i"; copies between accounts (from
// or into a shared mailbox of another account) are not offered.
func (c *conn) copyArgs(cmd *command) (uids []uint32, dst target, err error) {
	if err = c.dec.SP(); err != nil {
		return
	}
	set, err := c.numSetArg()
	if err != nil {
		return
	}
	if err = c.dec.SP(); err != nil {
		return
	}
	name, err := c.mailboxArg()
	if err != nil {
		return
	}
	if err = c.endArgs(); err != nil {
		return
	}
	if uids, err = c.sel.resolve(set, cmd.uid); err != nil {
		return
	}
	dst, err = c.resolveMailbox(name)
	switch {
	case errors.Is(err, store.ErrNotFound):
		err = nof(codeTryCreate, "no such mailbox")
	case err != nil:
	case dst.mb.AccountID != c.sel.mbox.AccountID:
		err = nof(codeCannot, "messages are not copied between accounts")
	default:
		err = needRights(dst.rights, "i") // RFC 4314 §4
	}
	return
}

// copyUIDCode formats "COPYUID uidvalidity src-uids dst-uids" (RFC 4315).
func copyUIDCode(uidValidity uint32, pairs []store.UIDPair) string {
	src := make([]uint32, len(pairs))
	dst := make([]uint32, len(pairs))
	for i, p := range pairs {
		src[i], dst[i] = p.Src, p.Dst
	}
	// Both sets are ascending and in matching order: copies get ascending
	// UIDs in the order of their sources.
	return "COPYUID " + uitoa(uidValidity) + " " + imapmsg.NumSetFromNums(src).String() + " " + imapmsg.NumSetFromNums(dst).String()
}

// cmdCopy: COPY and UID COPY (RFC 9051 §6.4.7, COPYUID RFC 4315).
func cmdCopy(c *conn, cmd *command) error {
	uids, dst, err := c.copyArgs(cmd)
	if err != nil {
		return err
	}
	if len(uids) == 0 {
		return nil
	}
	if err := c.checkCopyQuota(dst, uids); err != nil {
		return err
	}
	uv, pairs, err := c.srv.cfg.Store.Copy(c.ctx, c.sel.mbox.Ref(), uids, dst.mb.Ref())
	if err != nil {
		return err
	}
	if len(pairs) > 0 {
		c.okCode = copyUIDCode(uv, pairs)
		c.copied(dst.mb, pairs)
	}
	return nil
}

// cmdMove: MOVE and UID MOVE (RFC 6851): "* OK [COPYUID ...]", then the
// expunges of the moved messages.
func cmdMove(c *conn, cmd *command) error {
	uids, dst, err := c.copyArgs(cmd)
	if err != nil {
		return err
	}
	if c.sel.readOnly {
		return nof(codeCannot, "mailbox is read-only")
	}
	if !c.sel.may("te") { // RFC 4314 §4: MOVE deletes and expunges the source
		return nof(codeNoPerm, "no right to remove messages from this mailbox")
	}
	if len(uids) == 0 {
		return nil
	}
	mark := c.markFeed()
	uv, pairs, srcHighest, err := c.srv.cfg.Store.Move(c.ctx, c.sel.mbox.Ref(), uids, dst.mb.Ref())
	if err != nil {
		return err
	}
	if len(pairs) > 0 {
		c.untagged().Raw("OK [").Raw(copyUIDCode(uv, pairs)).Raw("] moved\r\n")
		c.copied(dst.mb, pairs)
	}
	moved := make([]uint32, len(pairs))
	for i, p := range pairs {
		moved[i] = p.Src
	}
	if dst.mb.ID != c.sel.mbox.ID {
		// The write's result feeds the view and the shared index, so
		// neither reads it back (sync.go).
		c.tookOwnMove(mark, moved, srcHighest)
	}
	c.announceExpunged(moved)
	return nil
}

// copied tells Config.Copies of a committed COPY or MOVE.
func (c *conn) copied(dst store.Mailbox, pairs []store.UIDPair) {
	if c.srv.cfg.Copies != nil {
		c.srv.cfg.Copies.Copied(c.ctx, c.sel.mbox, dst, pairs)
	}
}
