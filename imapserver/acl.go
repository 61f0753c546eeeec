package imapserver

import (
	"errors"
	"strings"

	"github.com/mailroom/mailroom/store"
)

// Access control lists (RFC 4314) and LIST-MYRIGHTS (RFC 8440). Every
// right a command needs on another account's mailbox is asked of the
// store (Store.MailboxRights) against the current ACL, the one path by
// which mailroom learns what an account may do with a mailbox; the owner
// has every right. Other accounts' mailboxes are reached through the
// shared namespace (shared.go).

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

// ownerEmail is the email of t's owner: the account's own or another's.
func (c *conn) ownerEmail(t target) string {
	if t.owner != "" {
		return t.owner
	}
	return c.acct.Email
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
	t, err := c.resolveMailbox(name)
	if err != nil {
		return err
	}
	if err := needRights(t.rights, "a"); err != nil {
		return err
	}
	acl, err := c.srv.cfg.Store.MailboxACL(c.ctx, t.mb.Ref())
	if err != nil {
		return err
	}
	e := c.untagged().Raw("ACL ").AString(c.encodeName(t.name()))
	// The owner's implicit entry first, as Dovecot shows it.
	e.SP().AString(c.ownerEmail(t)).SP().AString(wireRights(store.AllRights))
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
	t, err := c.resolveMailbox(name)
	if err != nil {
		return err
	}
	if err := needRights(t.rights, "a"); err != nil {
		return err
	}
	if id == strings.ToLower(c.ownerEmail(t)) {
		return nof(codeCannot, "the owner always has every right")
	}
	if mod != 0 {
		rights = string(mod) + rights // the store applies +/- atomically
	}
	err = c.srv.cfg.Store.SetMailboxACL(c.ctx, t.mb.Ref(), id, rights)
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
	t, err := c.resolveMailbox(name)
	if err != nil {
		return err
	}
	if err := needRights(t.rights, "a"); err != nil {
		return err
	}
	e := c.untagged().Raw("LISTRIGHTS ").AString(c.encodeName(t.name())).SP().AString(ident).SP()
	if id == strings.ToLower(c.ownerEmail(t)) {
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
	t, err := c.resolveMailbox(name)
	if err != nil {
		return err
	}
	c.writeMyRights(t.name(), t.rights)
	return nil
}

func (c *conn) writeMyRights(name, rights string) {
	c.untagged().Raw("MYRIGHTS ").AString(c.encodeName(name)).SP().AString(wireRights(rights)).CRLF()
}
