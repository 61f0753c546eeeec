package imapserver

import (
	"slices"
	"strings"

	"github.com/mailroom/mailroom/imapserver/imapmsg"
	"github.com/mailroom/mailroom/store"
)

// cmdStore: STORE and UID STORE (RFC 9051 §6.4.6) with UNCHANGEDSINCE
// (RFC 7162 §3.1.3).
func cmdStore(c *conn, cmd *command) error {
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
	var unchangedSince uint64
	if c.dec.PeekIs('(') {
		err := c.dec.List(func() error {
			a, err := c.dec.Atom()
			if err != nil {
				return err
			}
			if !strings.EqualFold(a, "UNCHANGEDSINCE") {
				return badf("", "unknown store modifier")
			}
			if err := c.dec.SP(); err != nil {
				return err
			}
			unchangedSince, err = c.dec.Number64()
			c.condstore = true
			return err
		})
		if err != nil {
			return err
		}
		if err := c.dec.SP(); err != nil {
			return err
		}
	}
	item, err := c.dec.Atom()
	if err != nil {
		return err
	}
	var op store.FlagOp
	silent := false
	switch strings.ToUpper(item) {
	case "FLAGS":
		op = store.FlagsReplace
	case "FLAGS.SILENT":
		op, silent = store.FlagsReplace, true
	case "+FLAGS":
		op = store.FlagsAdd
	case "+FLAGS.SILENT":
		op, silent = store.FlagsAdd, true
	case "-FLAGS":
		op = store.FlagsRemove
	case "-FLAGS.SILENT":
		op, silent = store.FlagsRemove, true
	default:
		return badf("", "unknown store item")
	}
	if err := c.dec.SP(); err != nil {
		return err
	}
	var flags []string
	if c.dec.PeekIs('(') {
		if flags, err = c.flagList(); err != nil {
			return err
		}
	} else {
		for {
			f, err := c.dec.AtomFunc("flag", isFlagChar)
			if err != nil {
				return err
			}
			flags = append(flags, f)
			if c.dec.AtEOL() {
				break
			}
			if err := c.dec.SP(); err != nil {
				return err
			}
		}
		flags = store.CanonicalFlags(flags)
	}
	if err := c.endArgs(); err != nil {
		return err
	}
	v := c.sel
	if v.readOnly {
		return nof(codeCannot, "mailbox is read-only")
	}
	uids, err := v.resolve(set, cmd.uid)
	if err != nil {
		return err
	}
	if len(uids) == 0 {
		return nil
	}
	mark := c.markFeed()
	var changed []store.MessageMeta
	var failed []uint32
	if v.may("swt") {
		changed, failed, err = c.srv.cfg.Store.UpdateFlags(c.ctx, v.mbox.Ref(), uids, op, flags, unchangedSince)
	} else {
		changed, failed, err = c.updatePermittedFlags(uids, op, flags, unchangedSince)
	}
	if err != nil {
		return err
	}
	for _, m := range changed {
		c.markReported(m)
	}
	// The write's result feeds the view and the shared index, so neither
	// the reply below nor the sync after it reads the change back.
	c.tookOwnWrite(mark, changed)
	if !silent || c.condstore {
		// Report the resulting flags of every message (RFC 9051 §6.4.6);
		// with .SILENT only those whose modseq changed get MODSEQ (RFC 7162).
		var metas []store.MessageMeta
		if silent {
			metas = changed
		} else if metas, err = c.currentMetas(uids); err != nil {
			return err
		}
		for _, m := range metas {
			if slices.Contains(failed, m.UID) {
				continue
			}
			if !silent {
				c.announceKeywords(m.Flags)
			}
			// With .SILENT only MODSEQ; else FLAGS, and MODSEQ under CONDSTORE.
			c.writeFlagsFetch(m, cmd.uid || c.qresync, !silent, silent || c.condstore)
		}
	}
	if len(failed) > 0 {
		nums := failed
		if !cmd.uid {
			nums = make([]uint32, 0, len(failed))
			for _, u := range failed {
				nums = append(nums, v.seq(u))
			}
		}
		c.okCode = codeModified + " " + imapmsg.NumSetFromNums(nums).String()
	}
	return nil
}
