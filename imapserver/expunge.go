package imapserver

// cmdExpunge: EXPUNGE (RFC 9051 §6.4.3) and UID EXPUNGE (RFC 4315 §2.1).
func cmdExpunge(c *conn, cmd *command) error {
	var uids []uint32
	if cmd.uid {
		if err := c.dec.SP(); err != nil {
			return err
		}
		set, err := c.numSetArg()
		if err != nil {
			return err
		}
		if uids, err = c.sel.resolve(set, true); err != nil {
			return err
		}
		if len(uids) == 0 {
			return c.endArgs()
		}
	}
	if err := c.endArgs(); err != nil {
		return err
	}
	if c.sel.readOnly {
		return nof(codeCannot, "mailbox is read-only")
	}
	if !c.sel.may("e") { // RFC 4314 §4
		return nof(codeNoPerm, "no expunge right on this mailbox")
	}
	mark := c.markFeed()
	gone, highest, err := c.srv.cfg.Store.Expunge(c.ctx, c.sel.mbox.Ref(), uids, true)
	if err != nil {
		return err
	}
	took := c.tookOwnExpunge(mark, gone, highest)
	c.announceExpunged(gone)
	if c.condstore {
		// RFC 7162 §3.2.10 wants HIGHESTMODSEQ after EXPUNGE; unless
		// the write was all that happened, sync advances it from the
		// change feed.
		if !took {
			if err := c.syncForce(true, true); err != nil {
				return err
			}
		}
		c.okCode = codeHighestModSeq + " " + uitoa64(int64(c.sel.modseq))
		if len(c.sel.expunged) == 0 {
			c.sel.sentHighest = c.sel.modseq
		}
	}
	return nil
}
