package imapserver

import (
	"context"
	"slices"
	"strings"

	"github.com/mailroom/mailroom/store"
)

// statusItems reads "(att *(SP att))" of STATUS and LIST RETURN (STATUS).
func (c *conn) statusItems() ([]string, error) {
	var items []string
	err := c.dec.List(func() error {
		a, err := c.dec.Atom()
		if err != nil {
			return err
		}
		a = strings.ToUpper(a)
		switch a {
		case "MESSAGES", "UIDNEXT", "UIDVALIDITY", "UNSEEN", "DELETED", "SIZE", "HIGHESTMODSEQ", "RECENT", "DELETED-STORAGE", "MAILBOXID":
		default:
			return badf("", "unknown status item %s", sanitize(a))
		}
		if a == "HIGHESTMODSEQ" {
			c.condstore = true
		}
		items = append(items, a)
		return nil
	})
	return items, err
}

// cmdStatus: STATUS mailbox (items) (RFC 9051 §6.3.11, STATUS=SIZE RFC 8438,
// HIGHESTMODSEQ RFC 7162 §3.1.6).
func cmdStatus(c *conn, cmd *command) error {
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
	items, err := c.statusItems()
	if err != nil {
		return err
	}
	if err := c.endArgs(); err != nil {
		return err
	}
	if bn, ok := c.srv.cfg.Store.(statusByNamer); ok {
		if _, _, shared := splitShared(name); !shared {
			// The account's own mailbox (every right): one store call.
			mb, st, err := bn.MailboxStatusByName(c.ctx, c.acct.ID, name)
			if err != nil {
				return err
			}
			return c.writeStatusResp(mb.Ref(), mb.Name, items, st)
		}
	}
	t, err := c.resolveMailbox(name)
	if err != nil {
		return err
	}
	if err := needRights(t.rights, "r"); err != nil { // RFC 4314 §4
		return err
	}
	st, err := c.srv.cfg.Store.MailboxStatus(c.ctx, t.mb.Ref())
	if err != nil {
		return err
	}
	return c.writeStatusResp(t.mb.Ref(), t.name(), items, st)
}

// statusByNamer is implemented by a store that reads a mailbox and its
// status by name together (store.Mailboxes.MailboxStatusByName): STATUS
// of an own mailbox is then one query instead of resolveMailbox's and
// MailboxStatus's two, which on PostgreSQL are two round trips.
type statusByNamer interface {
	MailboxStatusByName(ctx context.Context, accountID int64, name string) (store.Mailbox, store.MailboxStatus, error)
}

var _ statusByNamer = (store.Store)(nil)

// writeStatusResp writes "* STATUS name (...)" for the mailbox mbox
// names.
func (c *conn) writeStatusResp(mbox store.MailboxRef, name string, items []string, st store.MailboxStatus) error {
	var recent uint32
	if slices.Contains(items, "RECENT") && !c.rev2 {
		var err error
		if _, recent, err = c.srv.cfg.Store.RecentCount(c.ctx, mbox); err != nil {
			return err
		}
	}
	var deletedStorage int64
	if slices.Contains(items, "DELETED-STORAGE") {
		var err error
		if deletedStorage, err = c.deletedStorage(mbox, st); err != nil {
			return err
		}
	}
	c.untagged().Raw("STATUS ").AString(c.encodeName(name)).Raw(" (")
	for i, it := range items {
		if i > 0 {
			c.enc.SP()
		}
		c.enc.Raw(it).SP()
		switch it {
		case "MESSAGES":
			c.enc.Number(st.Messages)
		case "UIDNEXT":
			c.enc.Number(st.UIDNext)
		case "UIDVALIDITY":
			c.enc.Number(st.UIDValidity)
		case "UNSEEN":
			c.enc.Number(st.Unseen)
		case "DELETED":
			c.enc.Number(st.Deleted)
		case "SIZE":
			c.enc.Number64(uint64(st.Size))
		case "HIGHESTMODSEQ":
			c.enc.Number64(st.HighestModSeq)
		case "RECENT":
			c.enc.Number(recent)
		case "DELETED-STORAGE":
			c.enc.Number64(uint64(deletedStorage))
		case "MAILBOXID": // objectid.go
			c.enc.Raw("(").Raw(mailboxObjectID(mbox.MailboxID)).Raw(")")
		}
	}
	c.enc.Raw(")\r\n")
	return nil
}
