package store

import (
	"context"
	"errors"
)

// MetadataEntry is one IMAP METADATA entry (RFC 5464) of an account: a
// server entry (MailboxID 0) or an entry of one of its mailboxes. Name is
// the full entry name, lower-cased, starting with "/private/" or
// "/shared/" (the protocol adapter checks the syntax). A nil Value in
// SetMetadata removes the entry.
type MetadataEntry struct {
	Name  string
	Value []byte
}

// ErrTooManyMetadata: SetMetadata would leave the account with more
// entries than its bound (IMAP [METADATA TOOMANY]); nothing was written.
var ErrTooManyMetadata = errors.New("store: too many metadata entries")

// URLAuthKeySize is the size of the URLAUTH access keys (RFC 4467 §7:
// at least 128 bits).
const URLAuthKeySize = 32

// Metadata holds the per-account annotations of IMAP METADATA (RFC 5464)
// and the URLAUTH access keys (RFC 4467), each scoped by account: no call
// reaches another account's rows. Deleting a mailbox removes its entries
// and its key; renaming keeps them (they follow the mailbox id).
type Metadata interface {
	// GetMetadata returns the entries of mailbox mailboxID (0: the
	// server entries) named by one of names, and with depth > 0 those up
	// to depth levels below one (depth < 0: any level), sorted by name.
	// ErrNotFound if mailboxID is not the account's.
	GetMetadata(ctx context.Context, accountID, mailboxID int64, names []string, depth int) ([]MetadataEntry, error)
	// SetMetadata sets or removes entries in one transaction. An
	// account left with more than maxEntries entries (all its mailboxes
	// and the server's) is ErrTooManyMetadata and changes nothing.
	// ErrNotFound if mailboxID is not the account's.
	SetMetadata(ctx context.Context, accountID, mailboxID int64, entries []MetadataEntry, maxEntries int) error
	// URLAuthKey returns the URLAUTH access key of a mailbox, storing
	// newKey (URLAuthKeySize bytes) first if it has none; with newKey nil
	// a mailbox without a key is ErrNotFound.
	URLAuthKey(ctx context.Context, mbox MailboxRef, newKey []byte) ([]byte, error)
	// DeleteURLAuthKeys removes the key of mailbox mailboxID, or of every
	// mailbox of the account when mailboxID is 0 (IMAP RESETKEY): URLs
	// made with them no longer resolve.
	DeleteURLAuthKeys(ctx context.Context, accountID, mailboxID int64) error
}
