package store

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Access control lists (RFC 4314): who besides its owner may do what
// with a mailbox. The owner of a mailbox always has every right on it
// (AllRights), implicitly: its ACL names other identifiers only.
//
// An identifier is "anyone", "authenticated" (both: every account of the
// server; mailroom has no anonymous access) or an email address
// (CheckACLIdentifier). An address need not be an account's (as with
// Dovecot; refusing unknown ones would let any user probe which accounts
// exist); the rows naming an account's address go when the account is
// deleted, so a new account under the same address never inherits a
// grant. The rows of a mailbox go with the mailbox, at most
// MaxACLEntries per mailbox.

// MaxACLEntries bounds the entries of one mailbox's ACL (fixed).
const MaxACLEntries = 100

// MaxSharedMailboxes bounds how many other accounts' mailboxes
// SharedMailboxes returns to one viewer (fixed): "anyone" grants by every
// account of a large server must not make one LIST unbounded.
const MaxSharedMailboxes = 1000

// SharedMailbox is another account's mailbox the viewer has the lookup
// right ("l") on: the mailbox, its owner's email and the viewer's rights.
type SharedMailbox struct {
	Mailbox Mailbox
	Owner   string
	Rights  string
}

// AllRights are the rights of RFC 4314 §2.1 in canonical order: lookup,
// read, seen, write, insert, post, create (k), delete mailbox (x),
// delete messages (t), expunge (e), administer.
const AllRights = "lrswipkxtea"

// Identifiers every account matches (RFC 4314 §3).
const (
	IdentifierAnyone        = "anyone"
	IdentifierAuthenticated = "authenticated"
)

// ACLEntry is one row of a mailbox's ACL: an identifier and its rights
// (canonical, as CanonicalRights returns them).
type ACLEntry struct {
	Identifier string
	Rights     string
}

// CanonicalRights checks a rights string and returns it in AllRights
// order without duplicates. The obsolete RFC 2086 rights are expanded as
// RFC 4314 §2.1.1 asks: "c" is the create group (k, x), "d" the delete
// group (t, e). Any other character, or a negative-rights string, is
// ErrInvalid.
func CanonicalRights(s string) (string, error) {
	if len(s) > 64 {
		return "", fmt.Errorf("%w: rights string too long", ErrInvalid)
	}
	var have [128]bool
	for i := 0; i < len(s); i++ {
		switch b := s[i]; {
		case b == 'c':
			have['k'], have['x'] = true, true
		case b == 'd':
			have['t'], have['e'] = true, true
		case b < 128 && strings.IndexByte(AllRights, b) >= 0:
			have[b] = true
		default:
			return "", fmt.Errorf("%w: unknown right %q", ErrInvalid, b)
		}
	}
	var out []byte
	for i := 0; i < len(AllRights); i++ {
		if have[AllRights[i]] {
			out = append(out, AllRights[i])
		}
	}
	return string(out), nil
}

// CheckACLIdentifier checks an identifier and returns it lower-cased:
// IdentifierAnyone, IdentifierAuthenticated or an address local@domain
// of at most 254 bytes of UTF-8 without spaces or control characters. Anything
// else (negative rights "-id" included, which mailroom does not support)
// is ErrInvalid.
func CheckACLIdentifier(id string) (string, error) {
	if !utf8.ValidString(id) { // before ToLower, which would replace the bytes
		return "", fmt.Errorf("%w: ACL identifier is not UTF-8", ErrInvalid)
	}
	id = strings.ToLower(id)
	if id == IdentifierAnyone || id == IdentifierAuthenticated {
		return id, nil
	}
	at := strings.IndexByte(id, '@')
	if len(id) > 254 || at <= 0 || at == len(id)-1 || strings.HasPrefix(id, "-") {
		return "", fmt.Errorf("%w: ACL identifier %q", ErrInvalid, id)
	}
	for i := 0; i < len(id); i++ {
		if b := id[i]; b <= ' ' || b == 0x7f || b == '"' || b == '\\' {
			return "", fmt.Errorf("%w: ACL identifier %q", ErrInvalid, id)
		}
	}
	return id, nil
}

// HasRights reports whether rights holds every right of want.
func HasRights(rights, want string) bool {
	for i := 0; i < len(want); i++ {
		if strings.IndexByte(rights, want[i]) < 0 {
			return false
		}
	}
	return true
}

// ACLs are the mailboxes' access control lists. Every method takes the
// owner's MailboxRef (checked as everywhere: ErrNotFound for a mailbox
// the account does not own). MailboxRights is the one way to learn what
// another account may do with a mailbox.
type ACLs interface {
	// MailboxACL returns the mailbox's ACL, sorted by identifier,
	// without the owner's implicit entry.
	MailboxACL(ctx context.Context, mbox MailboxRef) ([]ACLEntry, error)
	// SetMailboxACL gives identifier (CheckACLIdentifier) exactly rights
	// (CanonicalRights) on the mailbox; "" removes its entry (no entry is
	// not an error). A leading "+" adds rights to the entry, a leading
	// "-" takes them away (RFC 4314 §3.1), read and written in one
	// transaction under the mailbox's lock; an entry left without rights
	// is removed. The owner's own email is ErrInvalid (its rights are
	// implicit and cannot be changed), and so is an entry beyond
	// MaxACLEntries.
	SetMailboxACL(ctx context.Context, mbox MailboxRef, identifier, rights string) error
	// MailboxRights returns the rights account viewerID has on mailbox
	// mbox of account mbox.AccountID, read in one statement against the
	// current ACL: AllRights for the owner, else the union of the
	// entries of the viewer's email, "anyone" and "authenticated". A
	// viewer with no right at all gets ErrNotFound, as for a mailbox that
	// does not exist, so that the answer tells a stranger nothing.
	MailboxRights(ctx context.Context, viewerID int64, mbox MailboxRef) (string, error)
	// SharedMailboxes returns the mailboxes of other accounts on which
	// viewerID has the lookup right "l", with the rights MailboxRights
	// would give, sorted by owner's email and mailbox name, at most
	// MaxSharedMailboxes of them: when there are more, those with an
	// entry naming the viewer's address are kept first, then the others,
	// and within each the owners take turns (no owner's grants on many
	// mailboxes hide another owner's).
	SharedMailboxes(ctx context.Context, viewerID int64) ([]SharedMailbox, error)
}
