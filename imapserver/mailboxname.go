package imapserver

import (
	"strings"
	"unicode/utf8"

	"github.com/mailroom/mailroom/store"
)

// maxMailboxDepth bounds the levels of a mailbox name ("a/b/c" has 3).
// Each level is a mailbox of its own, so without a bound one CREATE of a
// deep name creates thousands of mailboxes whose names add up to a
// quadratic number of bytes; with it a CREATE writes at most
// maxMailboxDepth names of at most maxMailboxName bytes.
const maxMailboxDepth = 16

// checkNewName checks a name that CREATE or RENAME is about to give a
// mailbox: well formed (no empty level, no leading delimiter, valid UTF-8,
// no control characters, no wildcards) and within the length and depth
// bounds (NO [LIMIT], RFC 5530 §3).
func checkNewName(name string) error {
	if name == "" || strings.HasPrefix(name, "/") || strings.Contains(name, "//") || !utf8.ValidString(name) {
		return nof(codeCannot, "invalid mailbox name")
	}
	for i := 0; i < len(name); i++ {
		if b := name[i]; b < 0x20 || b == 0x7f {
			return nof(codeCannot, "control characters in mailbox name")
		}
	}
	for _, r := range name {
		if r >= 0x80 && r < 0xa0 { // C1 controls
			return nof(codeCannot, "control characters in mailbox name")
		}
	}
	if strings.ContainsAny(name, "*%") {
		return nof(codeCannot, "wildcards in mailbox name")
	}
	if len(name) > maxMailboxName {
		return nof(codeLimit, "mailbox name longer than %d bytes", maxMailboxName)
	}
	if strings.Count(name, "/")+1 > maxMailboxDepth {
		return nof(codeLimit, "mailbox name deeper than %d levels", maxMailboxDepth)
	}
	if inSharedNamespace(name) {
		return nof(codeCannot, "%s/ is the namespace of other users' mailboxes", sharedRoot)
	}
	return nil
}

// checkMailboxRoom checks that the account may get the mailboxes that
// naming one name creates (the name and its missing parents), given its
// existing ones, against Config.MaxMailboxes. rename names a mailbox whose
// inferiors move with it (RENAME), "" for CREATE; the moved names are
// checked with checkNewName too.
func (c *conn) checkMailboxRoom(name, rename string) error {
	mboxes, err := c.srv.cfg.Store.Mailboxes(c.ctx, c.acct.ID)
	if err != nil {
		return err
	}
	exists := make(map[string]bool, len(mboxes))
	for _, m := range mboxes {
		exists[m.Name] = true
	}
	added := 0
	if !exists[name] {
		added++
	}
	for i := strings.IndexByte(name, '/'); i > 0; i = nextSlash(name, i) {
		if !exists[name[:i]] {
			added++
		}
	}
	// Renaming INBOX moves its messages to a new mailbox and leaves INBOX
	// and its inferiors (RFC 9051 §6.3.6); other mailboxes move with
	// their inferiors.
	if rename != "" && rename != store.Inbox {
		added-- // the renamed mailbox itself only moves
		for _, m := range mboxes {
			if strings.HasPrefix(m.Name, rename+"/") {
				if err := checkNewName(name + m.Name[len(rename):]); err != nil {
					return err
				}
			}
		}
	}
	if added > 0 && len(mboxes)+added > c.lim.MaxMailboxes {
		return nof(codeLimit, "at most %d mailboxes per account", c.lim.MaxMailboxes)
	}
	return nil
}
