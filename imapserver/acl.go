package imapserver

import (
	"errors"
	"strings"

	"github.com/mailroom/mailroom/store"
)

// Access control lists (RFC 4314) and LIST-MYRIGHTS (RFC 8440) on the
// account's own mailboxes. Every right a command needs is asked of the
// store (Store.MailboxRights) against the current ACL, the one path by
// which mailroom learns what an account may do with a mailbox; the owner
// has every right. Mailboxes of other accounts are not reachable: no
// "Other Users" namespace is offered yet, so an ACL entry for another
// account is stored and shown but grants nothing.

// aclCaps are advertised with authCaps. RIGHTS=texk: t, e, x and k are
// rights of their own (RFC 4314 §2.1.1).
var aclCaps = []string{"ACL", "RIGHTS=texk", "LIST-MYRIGHTS"}

// listRightsOptional are the rights LISTRIGHTS offers another identifier,
// each grantable alone, with the obsolete groups c (k x) and d (t e).
const listRightsOptional = "l r s w i p k x t e a c d"

// wireRights is rights as GETACL and MYRIGHTS send them: with the
// obsolete "c" when any of its group (k, x) is there and "d" for t or e
// (RFC 4314 §2.1.1), for clients of RFC 2086.
func wireRights(rights string) string {
	if strings.ContainsAny(rights, "kx") {
		rights += "c"
	}
	if strings.ContainsAny(rights, "te") {
		rights += "d"
	}
	return rights
}

// aclMailbox reads the mailbox argument, resolves it among the account's
// own mailboxes and returns it with the rights the account has on it
// (from the store, checked against the current ACL). A mailbox the
// account may not even see is NO [NONEXISTENT], like a missing one.
func (c *conn) aclMailbox() (store.Mailbox, string, error) {
	name, err := c.mailboxArg()
	if err != nil {
		return store.Mailbox{}, "", err
	}
	return c.rightsOn(name)
}

// rightsOn resolves name among the account's mailboxes and returns its
// rights on it.
func (c *conn) rightsOn(name string) (store.Mailbox, string, error) {
	st := c.srv.cfg.Store
	mb, err := st.MailboxByName(c.ctx, c.acct.ID, name)
	if err != nil {
		return store.Mailbox{}, "", err
	}
	rights, err := st.MailboxRights(c.ctx, c.acct.ID, mb.Ref())
	if err != nil {
		return store.Mailbox{}, "", err
	}
	return mb, rights, nil
}

// needRights fails with NO [NOPERM] unless rights holds every one of want.
func needRights(rights, want string) error {
	if !store.HasRights(rights, want) {
		return nof(codeNoPerm, "permission denied")
	}
	return nil
}

// cmdGetACL: GETACL mailbox (RFC 4314 §3.3); needs "a".
func cmdGetACL(c *conn, cmd *command) error {
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
	mb, rights, err := c.rightsOn(name)
	if err != nil {
		return err
	}
	if err := needRights(rights, "a"); err != nil {
		return err
	}
	acl, err := c.srv.cfg.Store.MailboxACL(c.ctx, mb.Ref())
	if err != nil {
		return err
	}
	e := c.untagged().Raw("ACL ").AString(c.encodeName(mb.Name))
	// The owner's implicit entry first, as Dovecot shows it.
	e.SP().AString(c.acct.Email).SP().AString(wireRights(store.AllRights))
	for _, a := range acl {
		e.SP().AString(a.Identifier).SP().AString(wireRights(a.Rights))
	}
	e.CRLF()
	return nil
}

// cmdSetACL: SETACL mailbox identifier [+|-]rights (RFC 4314 §3.1) and
// DELETEACL mailbox identifier (§3.2); both need "a".
func cmdSetACL(c *conn, cmd *command) error {
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
	ident, err := c.dec.AString()
	if err != nil {
		return err
	}
	var mod byte
	var rights string
	if cmd.name == "SETACL" {
		if err := c.dec.SP(); err != nil {
			return err
		}
		if rights, err = c.dec.AString(); err != nil {
			return err
		}
		if rights != "" && (rights[0] == '+' || rights[0] == '-') {
			mod, rights = rights[0], rights[1:]
		}
		// An unknown right is BAD, never ignored (RFC 4314 §3.1).
		if rights, err = store.CanonicalRights(rights); err != nil {
			return badf("", "unknown right")
		}
	}
	if err := c.endArgs(); err != nil {
		return err
	}
	id, err := store.CheckACLIdentifier(ident)
	if err != nil {
		return nof(codeCannot, "invalid identifier")
	}
	mb, mine, err := c.rightsOn(name)
	if err != nil {
		return err
	}
	if err := needRights(mine, "a"); err != nil {
		return err
	}
	if id == c.acct.Email {
		return nof(codeCannot, "the owner always has every right")
	}
	if mod != 0 {
		rights = string(mod) + rights // the store applies +/- atomically
	}
	err = c.srv.cfg.Store.SetMailboxACL(c.ctx, mb.Ref(), id, rights)
	if errors.Is(err, store.ErrInvalid) {
		return nof(codeLimit, "too many ACL entries on this mailbox")
	}
	return err
}

// cmdListRights: LISTRIGHTS mailbox identifier (RFC 4314 §3.4); needs "a".
func cmdListRights(c *conn, cmd *command) error {
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
	ident, err := c.dec.AString()
	if err != nil {
		return err
	}
	if err := c.endArgs(); err != nil {
		return err
	}
	id, err := store.CheckACLIdentifier(ident)
	if err != nil {
		return nof(codeCannot, "invalid identifier")
	}
	mb, rights, err := c.rightsOn(name)
	if err != nil {
		return err
	}
	if err := needRights(rights, "a"); err != nil {
		return err
	}
	e := c.untagged().Raw("LISTRIGHTS ").AString(c.encodeName(mb.Name)).SP().AString(ident).SP()
	if id == c.acct.Email {
		e.AString(store.AllRights) // the owner: all of them, always
	} else {
		e.Raw(`"" `).Raw(listRightsOptional)
	}
	e.CRLF()
	return nil
}

// cmdMyRights: MYRIGHTS mailbox (RFC 4314 §3.5); any right will do.
func cmdMyRights(c *conn, cmd *command) error {
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
	mb, rights, err := c.rightsOn(name)
	if err != nil {
		return err
	}
	c.writeMyRights(mb.Name, rights)
	return nil
}

func (c *conn) writeMyRights(name, rights string) {
	c.untagged().Raw("MYRIGHTS ").AString(c.encodeName(name)).SP().AString(wireRights(rights)).CRLF()
}
