package imapserver

import (
	"errors"

	"github.com/mailroom/mailroom/store"
)

// cmdReplace: REPLACE seq-number mailbox append-message and UID REPLACE
// (RFC 8508): an APPEND of one message to mailbox and the expunge of the
// replaced message of the selected mailbox, atomically (store.Replace).
// The APPENDUID comes in an untagged OK, the expunge as for MOVE.
func cmdReplace(c *conn, cmd *command) error {
	if err := c.dec.SP(); err != nil {
		return err
	}
	num, err := c.dec.Number()
	if err != nil {
		return err
	}
	if err := c.dec.SP(); err != nil {
		return err
	}
	name, err := c.mailboxArg()
	if err != nil {
		return err
	}
	if err := c.dec.SP(); err != nil {
		return err
	}
	msg, err := c.appendMessage(c.lim.MaxAppendBytes)
	if err != nil {
		return err
	}
	if err := c.endArgs(); err != nil {
		return err
	}
	uid := num
	if !cmd.uid {
		if num == 0 || int(num) > len(c.sel.uids) {
			return badf("", "invalid message sequence number")
		}
		uid = c.sel.uids[num-1]
	} else if c.sel.seq(uid) == 0 {
		return nof(codeNonExistent, "no such message")
	}
	if c.sel.readOnly {
		return nof(codeCannot, "mailbox is read-only")
	}
	if c.sel.owner != "" {
		return nof(codeCannot, "REPLACE is not offered in a shared mailbox")
	}
	dst, err := c.srv.cfg.Store.MailboxByName(c.ctx, c.acct.ID, name)
	if errors.Is(err, store.ErrNotFound) {
		return nof(codeTryCreate, "no such mailbox")
	} else if err != nil {
		return err
	}
	if err := c.checkQuota(target{mb: dst}, 0, int64(len(msg.Raw))); err != nil {
		return err
	}
	uv, newUID, err := c.srv.cfg.Store.Replace(c.ctx, c.sel.mbox.Ref(), uid, dst.Ref(), msg)
	if errors.Is(err, store.ErrNotFound) && dst.ID != c.sel.mbox.ID {
		// Expunged by another session since this one last heard.
		return nof(codeNonExistent, "message already expunged")
	}
	if err != nil {
		return err
	}
	c.untagged().Raw("OK [APPENDUID ").Raw(uitoa(uv)).SP().Raw(uitoa(newUID)).Raw("] replacement message ready\r\n")
	c.announceExpunged([]uint32{uid})
	return nil
}
