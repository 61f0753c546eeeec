package imapserver

import (
	"cmp"

	"github.com/mailroom/mailroom/store"
)

// Quota gives each account's storage limits; *config.Quota implements it.
type Quota interface {
	// Limits returns the byte and message limits of the account with
	// this email; 0 is unlimited.
	Limits(email string) (storage, messages int64)
}

// Quotas (RFC 9208). Each account has one quota root, named "", that
// covers all its mailboxes; its resources are STORAGE (in units of 1024
// octets, RFC 9208 §5.1) and MESSAGE (§5.2). A resource without a limit
// is left out of QUOTA responses; an account with no limit at all has no
// quota root. Limits are set by the administrator ([quota] in the
// configuration), never over IMAP: QUOTASET is not advertised and
// SETQUOTA is refused.
const quotaRoot = ""

// quotaLimits returns the logged-in account's limits (0: unlimited).
func (c *conn) quotaLimits() (storage, messages int64) {
	return c.quotaLimitsOf(c.acct.Email)
}

func (c *conn) quotaLimitsOf(email string) (storage, messages int64) {
	if c.srv.cfg.Quota == nil {
		return 0, 0
	}
	return c.srv.cfg.Quota.Limits(email)
}

// checkQuota refuses to add messages of addBytes in total to mailbox t
// when its owner (another account for a shared mailbox: the messages
// count against the owner's quota) would then exceed a limit (RFC 9208
// §4.3: NO [OVERQUOTA], and nothing is stored).
func (c *conn) checkQuota(t target, addMessages, addBytes int64) error {
	email := c.acct.Email
	if t.owner != "" {
		email = t.owner
	}
	maxBytes, maxMessages := c.quotaLimitsOf(email)
	if maxBytes <= 0 && maxMessages <= 0 {
		return nil
	}
	u, err := c.srv.cfg.Store.AccountUsage(c.ctx, t.mb.AccountID)
	if err != nil {
		return err
	}
	if (maxBytes > 0 && u.Bytes+addBytes > maxBytes) || (maxMessages > 0 && u.Messages+addMessages > maxMessages) {
		return nof(codeOverQuota, "quota exceeded")
	}
	return nil
}

// writeQuota writes "* QUOTA "" (STORAGE used limit MESSAGE used limit)"
// with the resources that have a limit, and reports whether there was any.
func (c *conn) writeQuota() (bool, error) {
	maxBytes, maxMessages := c.quotaLimits()
	if maxBytes <= 0 && maxMessages <= 0 {
		return false, nil
	}
	u, err := c.srv.cfg.Store.AccountUsage(c.ctx, c.acct.ID)
	if err != nil {
		return false, err
	}
	c.untagged().Raw("QUOTA ").Quoted(quotaRoot).Raw(" (")
	if maxBytes > 0 {
		// RFC 9208 §5.1: units of 1024 octets. Usage rounds up, so that
		// an account that uses anything never reports 0.
		c.enc.Raw("STORAGE ").Number64(uint64((u.Bytes + 1023) / 1024)).SP().Number64(uint64(maxBytes / 1024))
		if maxMessages > 0 {
			c.enc.SP()
		}
	}
	if maxMessages > 0 {
		c.enc.Raw("MESSAGE ").Number64(uint64(u.Messages)).SP().Number64(uint64(maxMessages))
	}
	c.enc.Raw(")\r\n")
	return true, nil
}

// cmdGetQuotaRoot: GETQUOTAROOT mailbox (RFC 9208 §4.3.3): the mailbox's
// quota roots, then the QUOTA of each.
func cmdGetQuotaRoot(c *conn, cmd *command) error {
	if err := c.dec.SP(); err != nil {
		return err
	}
	name, err := c.mailboxArg()
	if err != nil {
		return err
	}
	if err := c.endArgs(); err != nil {
		return err
	}
	mb, err := c.srv.cfg.Store.MailboxByName(c.ctx, c.acct.ID, name)
	if err != nil {
		return err
	}
	maxBytes, maxMessages := c.quotaLimits()
	c.untagged().Raw("QUOTAROOT ").AString(c.encodeName(mb.Name))
	if maxBytes > 0 || maxMessages > 0 {
		c.enc.SP().Quoted(quotaRoot)
	}
	c.enc.CRLF()
	_, err = c.writeQuota()
	return err
}

// cmdGetQuota: GETQUOTA root (RFC 9208 §4.3.2). The only root is "", and
// only for an account that has a limit.
func cmdGetQuota(c *conn, cmd *command) error {
	if err := c.dec.SP(); err != nil {
		return err
	}
	root, err := c.dec.AString()
	if err != nil {
		return err
	}
	if err := c.endArgs(); err != nil {
		return err
	}
	if root != quotaRoot {
		return nof(codeNonExistent, "no such quota root")
	}
	ok, err := c.writeQuota()
	if err == nil && !ok {
		err = nof(codeNonExistent, "no such quota root")
	}
	return err
}

// cmdSetQuota: SETQUOTA (RFC 9208 §4.3.1) is refused: limits are set in
// the server's configuration. The arguments are discarded unread.
func cmdSetQuota(c *conn, cmd *command) error {
	return nof(codeNoPerm, "quotas are set by the administrator")
}

// checkCopyQuota is checkQuota for COPY of the messages in uids of the
// selected mailbox.
func (c *conn) checkCopyQuota(dst target, uids []uint32) error {
	if maxBytes, maxMessages := c.quotaLimitsOf(cmp.Or(dst.owner, c.acct.Email)); maxBytes <= 0 && maxMessages <= 0 {
		return nil
	}
	metas, err := c.currentMetas(uids)
	if err != nil {
		return err
	}
	var size int64
	for i := range metas {
		size += metas[i].Size
	}
	return c.checkQuota(dst, int64(len(metas)), size)
}

// deletedStorage is the STATUS DELETED-STORAGE item (RFC 9208 extends
// STATUS with it for servers with QUOTA=RES-STORAGE): the octets an EXPUNGE
// would free, the sizes of the messages flagged \Deleted. The counters
// give the count of such messages but not their size, so a mailbox with
// any reads its metadata.
func (c *conn) deletedStorage(mbox store.MailboxRef, st store.MailboxStatus) (int64, error) {
	if st.Deleted == 0 {
		return 0, nil
	}
	var total int64
	err := c.srv.cfg.Store.ListMessages(c.ctx, mbox, nil, func(m store.MessageMeta) error {
		if m.HasFlag(store.FlagDeleted) {
			total += m.Size
		}
		return nil
	})
	return total, err
}
