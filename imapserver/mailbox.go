package imapserver

import (
	"strings"

	"github.com/mailroom/mailroom/store"
)

// cmdCreate: CREATE mailbox [(USE (attrs))] (RFC 9051 §6.3.4, RFC 6154 §3).
func cmdCreate(c *conn, cmd *command) error {
	if err := c.dec.SP(); err != nil {
		return err
	}
	name, err := c.mailboxArg()
	if err != nil {
		return err
	}
	var use []string
	if !c.dec.AtEOL() {
		if err := c.dec.SP(); err != nil {
			return err
		}
		err := c.dec.List(func() error {
			p, err := c.dec.Atom()
			if err != nil {
				return err
			}
			if !strings.EqualFold(p, "USE") {
				return badf("", "unknown CREATE parameter")
			}
			if err := c.dec.SP(); err != nil {
				return err
			}
			return c.dec.List(func() error {
				a, err := c.dec.AtomFunc("attribute", isFlagChar)
				use = append(use, a)
				return err
			})
		})
		if err != nil {
			return err
		}
	}
	if err := c.endArgs(); err != nil {
		return err
	}
	specialUse := ""
	if len(use) > 1 {
		return nof("USEATTR", "only one special-use attribute per mailbox")
	}
	if len(use) == 1 {
		if specialUse = canonicalUse(use[0]); specialUse == "" {
			return nof("USEATTR", "unsupported special-use attribute")
		}
	}
	if name == store.Inbox {
		return nof(codeAlreadyExists, "INBOX always exists")
	}
	if err := checkNewName(name); err != nil {
		return err
	}
	if err := c.checkMailboxRoom(name, ""); err != nil {
		return err
	}
	mb, err := c.srv.cfg.Store.CreateMailbox(c.ctx, c.acct.ID, name, specialUse)
	if err != nil {
		return err
	}
	c.okCode = "MAILBOXID (" + mailboxObjectID(mb.ID) + ")" // objectid.go
	return nil
}

func canonicalUse(a string) string {
	for _, u := range []string{store.UseDrafts, store.UseSent, store.UseTrash, store.UseJunk, store.UseArchive, store.UseAll, store.UseFlagged} {
		if strings.EqualFold(a, u) {
			return u
		}
	}
	return ""
}

// cmdDelete: DELETE mailbox (RFC 9051 §6.3.5).
func cmdDelete(c *conn, cmd *command) error {
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
	if name == store.Inbox {
		return nof(codeCannot, "INBOX cannot be deleted")
	}
	if c.sel != nil && c.sel.name() == name {
		return nof("INUSE", "mailbox is selected")
	}
	return c.srv.cfg.Store.DeleteMailbox(c.ctx, c.acct.ID, name)
}

// cmdRename: RENAME from to (RFC 9051 §6.3.6).
func cmdRename(c *conn, cmd *command) error {
	if err := c.dec.SP(); err != nil {
		return err
	}
	from, err := c.mailboxArg()
	if err != nil {
		return err
	}
	if err := c.dec.SP(); err != nil {
		return err
	}
	to, err := c.mailboxArg()
	if err != nil {
		return err
	}
	if err := c.endArgs(); err != nil {
		return err
	}
	if to == store.Inbox {
		return nof(codeAlreadyExists, "INBOX always exists")
	}
	if err := checkNewName(to); err != nil {
		return err
	}
	if err := c.checkMailboxRoom(to, from); err != nil {
		return err
	}
	if err := c.srv.cfg.Store.RenameMailbox(c.ctx, c.acct.ID, from, to); err != nil {
		return err
	}
	if c.sel != nil {
		// This session renamed its own selected mailbox (or a superior):
		// the selection goes on under the new name. A rename by another
		// session ends the selection instead (checkGone).
		mb, err := c.srv.cfg.Store.MailboxByID(c.ctx, c.sel.mbox.Ref())
		if err != nil {
			return err
		}
		c.sel.mbox.Name = mb.Name
	}
	return nil
}

// cmdSubscribe: SUBSCRIBE and UNSUBSCRIBE (RFC 9051 §6.3.7-8).
func cmdSubscribe(c *conn, cmd *command) error {
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
	if cmd.name == "SUBSCRIBE" {
		if _, err := c.resolveMailbox(name); err != nil { // shared ones too
			return err
		}
	}
	return c.srv.cfg.Store.SetSubscribed(c.ctx, c.acct.ID, name, cmd.name == "SUBSCRIBE")
}

// cmdNamespace: NAMESPACE (RFC 9051 §6.3.10, RFC 2342): the personal
// namespace and the Other Users one (shared.go); no shared namespace.
func cmdNamespace(c *conn, cmd *command) error {
	if err := c.endArgs(); err != nil {
		return err
	}
	c.untagged().Raw(`NAMESPACE (("" "/")) (("` + sharedRoot + `/" "/")) NIL`).CRLF()
	return nil
}

// isFlagChar accepts the characters of flags and attributes ("\" + atom).
func isFlagChar(b byte) bool {
	return b == '\\' || (b > 0x1f && b < 0x7f && !strings.ContainsRune("(){ %*\"]", rune(b)))
}
