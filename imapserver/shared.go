package imapserver

import (
	"errors"
	"slices"
	"strings"

	"github.com/mailroom/mailroom/store"
)

// Shared mailboxes: the "Other Users" namespace (RFC 2342, RFC 9051
// §6.3.10) under sharedRoot, as Dovecot's acl plugin with a shared
// namespace offers it. Another account's mailbox that this account has
// the lookup right "l" on is listed as shared/<owner's address>/<name>;
// the names shared and shared/<owner> are \Noselect parents.
//
// A name is resolved to the owner's mailbox (resolveMailbox) and every
// store call then takes the owner's MailboxRef, but only after
// Store.MailboxRights said the account has rights on it: a mailbox
// without a grant, a guessed owner or name, and the account's own
// address under shared/ are all NO [NONEXISTENT], the answer a missing
// mailbox gets. What each command may do follows RFC 4314 §4 (see
// view.may); while a shared mailbox is selected its rights are read
// again before every command (checkSharedRights), so a revoked grant
// holds from the next command on.
//
// Not offered in the shared namespace (NO [CANNOT]): CREATE, DELETE and
// RENAME (the k and x rights), COPY and MOVE between accounts, REPLACE,
// and URLAUTH or CATENATE URLs, which only ever name the account's own
// mailboxes. Flags, \Seen included, are the owner's and shared by every
// account that sees the mailbox (Dovecot's default).

// sharedRoot is the prefix of the Other Users namespace.
const sharedRoot = "shared"

// target is a mailbox a command names: the account's own (owner "")
// or another account's reached through a grant, with this account's
// rights on it.
type target struct {
	mb     store.Mailbox
	owner  string // the owner's email for another account's mailbox
	rights string
}

// name is the target's name as the client sees it.
func (t target) name() string { return visibleName(t.owner, t.mb.Name) }

// visibleName is shared/<owner>/<name> for another account's mailbox,
// name for the account's own (owner "").
func visibleName(owner, name string) string {
	if owner == "" {
		return name
	}
	return sharedRoot + "/" + owner + "/" + name
}

// splitShared splits shared/<owner>/<name>; ok is false for a name
// outside the shared namespace. An owner is an address (with "@"), so a
// personal mailbox named "shared/x" from before the namespace existed
// still resolves as the account's own.
func splitShared(name string) (owner, rest string, ok bool) {
	after, found := strings.CutPrefix(name, sharedRoot+"/")
	if !found {
		return "", "", false
	}
	owner, rest, found = strings.Cut(after, "/")
	if !found || rest == "" || !strings.Contains(owner, "@") ||
		strings.HasPrefix(rest, "/") || strings.HasSuffix(rest, "/") || strings.Contains(rest, "//") {
		return "", "", false
	}
	return strings.ToLower(owner), store.CanonicalMailboxName(rest), true
}

// inSharedNamespace reports whether name is the shared root or below it:
// no personal mailbox may be created there.
func inSharedNamespace(name string) bool {
	return name == sharedRoot || strings.HasPrefix(name, sharedRoot+"/")
}

// errNoSharedMailbox is what any failure to reach another account's
// mailbox answers: the same as for a mailbox that does not exist.
var errNoSharedMailbox = nof(codeNonExistent, "no such mailbox")

// resolveMailbox resolves a mailbox name: the account's own mailboxes
// (every right), or another account's under shared/ when the account
// has any right on it. An own mailbox that does not exist is
// store.ErrNotFound (callers answer TRYCREATE where fitting); a shared
// one is errNoSharedMailbox, whatever the reason.
func (c *conn) resolveMailbox(name string) (target, error) {
	st := c.srv.cfg.Store
	owner, rest, ok := splitShared(name)
	if !ok {
		mb, err := st.MailboxByName(c.ctx, c.acct.ID, name)
		return target{mb: mb, rights: store.AllRights}, err
	}
	acct, err := st.AccountByEmail(c.ctx, owner)
	if errors.Is(err, store.ErrNotFound) || (err == nil && acct.ID == c.acct.ID) {
		return target{}, errNoSharedMailbox
	} else if err != nil {
		return target{}, err
	}
	mb, err := st.MailboxByName(c.ctx, acct.ID, rest)
	if errors.Is(err, store.ErrNotFound) {
		return target{}, errNoSharedMailbox
	} else if err != nil {
		return target{}, err
	}
	rights, err := st.MailboxRights(c.ctx, c.acct.ID, mb.Ref())
	if errors.Is(err, store.ErrNotFound) {
		return target{}, errNoSharedMailbox
	} else if err != nil {
		return target{}, err
	}
	return target{mb: mb, owner: acct.Email, rights: rights}, nil
}

// checkSharedRights reads the rights on the selected shared mailbox
// again, before each command and when a change to it is synced: a
// lowered grant applies from then on, and without "r" the selection is
// revoked: every command on it is NO [NOPERM] and nothing of the mailbox
// is reported any more, until the client selects another mailbox or
// closes this one. (RFC 9051 has no way for the server to close a
// selection by itself; a deleted or renamed mailbox ends the session
// with BYE as for the account's own, checkGone.)
func (c *conn) checkSharedRights() error {
	v := c.sel
	if v == nil || v.owner == "" || v.revoked {
		return nil
	}
	rights, err := c.srv.cfg.Store.MailboxRights(c.ctx, c.acct.ID, v.mbox.Ref())
	if errors.Is(err, store.ErrNotFound) {
		rights = ""
	} else if err != nil {
		return err
	}
	v.rights = rights
	if !store.HasRights(rights, "r") {
		v.revoked = true
	}
	return nil
}

// errRevoked answers a command on a selected mailbox whose grant is gone.
var errRevoked = nof(codeNoPerm, "access to the selected mailbox was revoked")

// beforeCommand checks the rights on a selected shared mailbox before a
// command runs; with the grant revoked, the commands of the selected
// state alone (FETCH, STORE, SEARCH, EXPUNGE, COPY, ...) are refused,
// but for CLOSE and UNSELECT, which leave the mailbox (CLOSE expunges
// nothing without the "e" right).
func (c *conn) beforeCommand(name string, h handler) error {
	if c.state != stateSelected || c.sel.owner == "" {
		return nil
	}
	if err := c.checkSharedRights(); err != nil {
		return err
	}
	if c.sel.revoked && h.states == inSelected && name != "CLOSE" && name != "UNSELECT" {
		return errRevoked
	}
	return nil
}

// permittedFlags keeps the flags of flags that rights allow changing
// (RFC 4314 §4): \Seen needs "s", \Deleted "t", any other flag "w".
func permittedFlags(rights string, flags []string) []string {
	var out []string
	for _, f := range flags {
		if mayChangeFlag(rights, f) {
			out = append(out, f)
		}
	}
	return out
}

func mayChangeFlag(rights, flag string) bool {
	switch {
	case strings.EqualFold(flag, `\Seen`):
		return store.HasRights(rights, "s")
	case strings.EqualFold(flag, `\Deleted`):
		return store.HasRights(rights, "t")
	}
	return store.HasRights(rights, "w")
}

// updatePermittedFlags is STORE's write for a session that may change
// only some flags of the selected (shared) mailbox: the others are
// silently left as they are (RFC 4314 §4). +FLAGS and -FLAGS drop them
// from the request; FLAGS replaces per group of messages that share the
// same unchangeable flags, each group keeping its own. (A change to such
// a flag by another session between the read of the index and the write
// may be undone; the owner's own sessions have every right and never
// come here.)
func (c *conn) updatePermittedFlags(uids []uint32, op store.FlagOp, flags []string, unchangedSince uint64) (changed []store.MessageMeta, failed []uint32, err error) {
	v := c.sel
	ref := v.mbox.Ref()
	want := permittedFlags(v.rights, flags)
	if op != store.FlagsReplace {
		if len(want) == 0 {
			return nil, nil, nil
		}
		return c.srv.cfg.Store.UpdateFlags(c.ctx, ref, uids, op, want, unchangedSince)
	}
	metas, err := c.currentMetas(uids)
	if err != nil {
		return nil, nil, err
	}
	groups := map[string][]uint32{}
	var keys []string
	for _, m := range metas {
		var kept []string
		for _, f := range m.Flags {
			if !mayChangeFlag(v.rights, f) {
				kept = append(kept, f)
			}
		}
		k := strings.Join(kept, " ")
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], m.UID)
	}
	for _, k := range keys {
		set := append(strings.Fields(k), want...)
		ch, fl, err := c.srv.cfg.Store.UpdateFlags(c.ctx, ref, groups[k], store.FlagsReplace, store.CanonicalFlags(set), unchangedSince)
		if err != nil {
			return nil, nil, err
		}
		changed, failed = append(changed, ch...), append(failed, fl...)
	}
	slices.Sort(failed)
	return changed, failed, nil
}

// watchShared subscribes the session to the change feed of the account
// that owns the selected shared mailbox (one such subscription at a
// time; the account's own stays as it is). Only changes of the selected
// mailbox, and of the owner's mailbox list (a delete or rename), are
// taken; NOTIFY never sees them.
func (c *conn) watchShared(owner int64, mailboxID int64) {
	if c.sharedOwner != owner || c.cancelShared == nil {
		c.unwatchShared()
		c.cancelShared = c.subscribe(owner, func(ch store.Change) {
			if ch.MailboxID == 0 || ch.MailboxID == c.sharedMailbox.Load() {
				c.recordChange(ch, false)
			}
		})
		c.sharedOwner = owner
	}
	c.sharedMailbox.Store(mailboxID)
}

// unwatchShared ends watchShared's subscription, if any.
func (c *conn) unwatchShared() {
	if c.cancelShared != nil {
		c.cancelShared()
		c.cancelShared = nil
	}
	c.sharedOwner = 0
	c.sharedMailbox.Store(0)
}
