// Package store holds mailroom's domain types and the Store interface that
// the protocol servers (SMTP, POP3, IMAP) and the CLI use. Backends live in
// sub-packages (store/sqlite, store/postgres) and must all pass the
// conformance suite in store/storetest.
//
// Model
//   - An Account owns Mailboxes. Every account has INBOX plus the default
//     special-use folders created with it.
//   - A Mailbox has a UIDVALIDITY that never changes while it exists, a
//     UIDNEXT, and a HIGHESTMODSEQ (RFC 7162). UIDs are strictly ascending and
//     never reused within a UIDVALIDITY; every change to a message (append,
//     flag change, expunge) gets a new modseq greater than all before it in
//     that mailbox.
//   - Expunged messages leave a tombstone (UID + modseq) so that sessions can
//     learn about expunges by others (Changes) and QRESYNC can report VANISHED.
//   - The raw bytes are stored exactly as received; the MIME structure is
//     parsed once at delivery (message.Parse) and stored beside them.
//
// Ids and scoping
//   - Ids (accounts, mailboxes, messages, queue items) are never reused,
//     in any backend: an id once handed out names that row or nothing.
//   - Every call that names a mailbox or a message takes a MailboxRef and
//     checks, in the same statement or transaction, that the account owns
//     the mailbox (and the UIDVALIDITY matches); otherwise ErrNotFound.
//     A message id is only valid together with the mailbox it is in.
//
// Change feed: Watch(accountID) wakes a subscriber after a change to one of
// the account's mailboxes has been committed. It carries no state; the
// subscriber asks Changes(mailbox, sinceModSeq) for what happened. That keeps
// the feed cheap, lossless (coalescing is harmless) and able to span nodes.
package store

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/mailroom/mailroom/message"
)

// Errors returned by every backend. Callers test them with errors.Is.
var (
	ErrNotFound = errors.New("store: not found")
	ErrExists   = errors.New("store: already exists")
	// ErrInvalid reports a request the store refuses on principle, such as
	// deleting or renaming onto INBOX, or an invalid mailbox name.
	ErrInvalid = errors.New("store: invalid request")
	// ErrHasChildren: DELETE of a mailbox that has inferior mailboxes
	// (RFC 9051 §6.3.4 lets a server refuse; we keep \Noselect-free model).
	ErrHasChildren = errors.New("store: mailbox has children")
	// ErrNoSpace: the store's disk (or database) is full, so nothing new
	// can be written (SQLite SQLITE_FULL or ENOSPC, PostgreSQL 53100
	// disk_full). Protocols answer it as a temporary, space-related
	// refusal (IMAP NO [OVERQUOTA], as Dovecot does for ENOSPC).
	ErrNoSpace = errors.New("store: no space left")
)

// System flags (RFC 9051 §2.3.2). Keywords are any other atom.
const (
	FlagSeen     = `\Seen`
	FlagAnswered = `\Answered`
	FlagFlagged  = `\Flagged`
	FlagDeleted  = `\Deleted`
	FlagDraft    = `\Draft`
)

// Special-use attributes (RFC 6154) given to the default mailboxes.
const (
	UseDrafts  = `\Drafts`
	UseSent    = `\Sent`
	UseTrash   = `\Trash`
	UseJunk    = `\Junk`
	UseArchive = `\Archive`
	UseAll     = `\All`
	UseFlagged = `\Flagged`
)

// Inbox is the canonical name of every account's inbox (case-insensitive on
// input, always stored and returned as "INBOX").
const Inbox = "INBOX"

// Delimiter separates the levels of mailbox names.
const Delimiter = '/'

// DefaultMailboxes are created (and subscribed) with every account, in order.
var DefaultMailboxes = []struct{ Name, SpecialUse string }{
	{Inbox, ""},
	{"Drafts", UseDrafts},
	{"Sent", UseSent},
	{"Trash", UseTrash},
	{"Junk", UseJunk},
	{"Archive", UseArchive},
}

// Account is a user who can log in and owns mailboxes.
type Account struct {
	ID           int64
	Email        string // lower-case "local@domain"
	PasswordHash string // PHC-style hash from package auth; never plaintext
	Created      time.Time
}

// Mailbox is one folder of an account.
type Mailbox struct {
	ID            int64
	AccountID     int64
	Name          string // UTF-8, levels separated by Delimiter; INBOX is "INBOX"
	SpecialUse    string // one of the Use* constants or ""
	UIDValidity   uint32
	UIDNext       uint32
	HighestModSeq uint64
}

// MailboxStatus is what STATUS and SELECT report.
type MailboxStatus struct {
	Messages      uint32
	Unseen        uint32 // messages without \Seen
	Deleted       uint32 // messages with \Deleted
	Size          int64  // sum of RFC822.SIZE (STATUS=SIZE)
	UIDNext       uint32
	UIDValidity   uint32
	HighestModSeq uint64
}

// MessageMeta is everything about a message except its bytes.
type MessageMeta struct {
	ID           int64 // store-wide id for MessageBody/MessagePart; differs per copy
	UID          uint32
	ModSeq       uint64
	Flags        []string // system flags and keywords, sorted, no duplicates
	InternalDate time.Time
	Size         int64 // len(raw)
	// WireSize is the octet count of raw with every line ending as CRLF
	// (message.CRLFSize): what POP3 RETR sends, which STAT and LIST must
	// report (RFC 1939 §5 LIST). Computed at delivery; -1 means unknown
	// (a row written by an older program during a rolling upgrade).
	WireSize int64
}

// HasFlag reports whether m carries flag (system flags compare
// case-insensitively, as IMAP requires).
func (m *MessageMeta) HasFlag(flag string) bool {
	for _, f := range m.Flags {
		// Stored flags are canonical (CanonicalFlags), so a system flag
		// asked for in its canonical case is found without folding.
		if f == flag || equalFold(f, flag) {
			return true
		}
	}
	return false
}

// NewMessage is a message to add to a mailbox.
type NewMessage struct {
	Raw          []byte
	Part         *message.Part // message.Parse(Raw)
	Flags        []string
	InternalDate time.Time // zero means now
}

// TextQuery is a Store.SearchText query: SEARCH TEXT (the header or the
// text parts) or, with BodyOnly, SEARCH BODY (the text parts).
type TextQuery struct {
	Needle   string // as the client gave it; matched case-insensitively
	BodyOnly bool
}

// TextHits is Store.SearchText's answer: two ascending, disjoint UID
// lists.
type TextHits struct {
	Exact      []uint32 // match q
	Candidates []uint32 // may match q: the caller checks them
}

// All returns both lists merged, ascending.
func (h TextHits) All() []uint32 {
	all := append(slices.Clone(h.Exact), h.Candidates...)
	slices.Sort(all)
	return all
}

// MailboxRef names a mailbox in a store call: the mailbox id, the account
// that must own it and, when a session holds the mailbox selected, the
// UIDVALIDITY the session knows (0 accepts any). A call whose account
// does not own the mailbox, or whose UIDVALIDITY does not match, gets
// ErrNotFound and touches nothing: a session that still holds the id of a
// mailbox deleted meanwhile can never reach another mailbox, let alone
// another account's (ids are never reused either; see the package doc).
type MailboxRef struct {
	AccountID   int64
	MailboxID   int64
	UIDValidity uint32 // 0 = any
}

// Ref returns the reference to m that pins its account and UIDVALIDITY.
func (m Mailbox) Ref() MailboxRef {
	return MailboxRef{AccountID: m.AccountID, MailboxID: m.ID, UIDValidity: m.UIDValidity}
}

// Target names one mailbox a delivery goes to. MailboxID 0 means the
// account's INBOX.
type Target struct {
	AccountID int64
	MailboxID int64
}

// Delivered reports where one copy of a delivery landed.
type Delivered struct {
	AccountID   int64
	MailboxID   int64
	UIDValidity uint32
	UID         uint32
}

// Ref returns the reference to the mailbox the copy landed in.
func (d Delivered) Ref() MailboxRef {
	return MailboxRef{AccountID: d.AccountID, MailboxID: d.MailboxID, UIDValidity: d.UIDValidity}
}

// UIDPair maps a source UID to the UID of its copy (UIDPLUS COPYUID).
type UIDPair struct{ Src, Dst uint32 }

// FlagOp says how UpdateFlags applies its flags.
type FlagOp int

const (
	FlagsReplace FlagOp = iota // STORE FLAGS
	FlagsAdd                   // STORE +FLAGS
	FlagsRemove                // STORE -FLAGS
)

// Usage is what an account stores, counted the way quotas count it.
type Usage struct {
	Bytes    int64 // sum of MessageMeta.Size
	Messages int64
}

// Change is sent on a Watch channel after a commit that touched one of the
// account's mailboxes. MailboxID 0 means the mailbox list itself changed
// (create, delete, rename).
//
// A change with Metadata set is of METADATA entries only (SetMetadata):
// Metadata names the entries that were set or removed, of mailbox
// MailboxID or, with MailboxID 0, of the server; no message, mailbox or
// subscription changed. Consumers that care for the mailbox list only
// skip it.
type Change struct {
	AccountID int64
	MailboxID int64
	Metadata  []string
}

// The store's roles. Each groups the methods one concern needs, so that
// consumers (which still define the narrow interfaces they use, asserted
// against Store) and the docs can name what they depend on; Store is
// their union, and both backends implement it whole. All methods are safe
// for concurrent use. Every method that changes data returns only after
// the change is durable (committed and fsynced), and publishes on the
// change feed after the commit.

// Accounts are the users and what they store (quotas).
type Accounts interface {
	CreateAccount(ctx context.Context, email, passwordHash string) (Account, error) // also creates DefaultMailboxes, subscribed
	AccountByEmail(ctx context.Context, email string) (Account, error)              // case-insensitive
	AccountByID(ctx context.Context, id int64) (Account, error)
	Accounts(ctx context.Context) ([]Account, error) // sorted by email
	SetPassword(ctx context.Context, email, passwordHash string) error
	DeleteAccount(ctx context.Context, email string) error // removes its mailboxes and messages
	// AccountUsage sums the messages and their sizes over all of an
	// account's mailboxes (quotas); a copy counts again. ErrNotFound for
	// an unknown account.
	AccountUsage(ctx context.Context, accountID int64) (Usage, error)
}

// Domains are the local domains and the aliases: global tables, not an
// account's, that an admin edits while the server runs (CLI, web admin).
// Every lookup reads the store, so a change is effective at once on every
// node; PostgreSQL's Recipients (what delivery reads) answers from a
// per-node cache and sees another node's change when its notification
// arrives (store/postgres/dircache.go).
type Domains interface {
	// IsLocalDomain reports whether domain (case-insensitive) was added
	// with AddDomain, or an account or an alias key lives in it.
	IsLocalDomain(ctx context.Context, domain string) (bool, error)

	// AddDomain makes a domain local (CheckDomain; ErrExists if added
	// already). DeleteDomain removes it (ErrNotFound if absent); its
	// accounts and aliases stay.
	AddDomain(ctx context.Context, name string) (Domain, error)
	DeleteDomain(ctx context.Context, name string) error
	Domains(ctx context.Context) ([]Domain, error) // sorted by name
	// AddAlias stores address -> targets (CheckAlias; ErrExists for an
	// address that has an alias already). DeleteAlias removes one
	// (ErrNotFound if absent). AliasTargets returns the targets of a
	// lower-cased key (ErrNotFound if absent).
	AddAlias(ctx context.Context, address string, targets []string) (Alias, error)
	DeleteAlias(ctx context.Context, address string) error
	Aliases(ctx context.Context) ([]Alias, error) // sorted by address
	AliasTargets(ctx context.Context, address string) ([]string, error)
}

// Mailboxes are an account's folders and their counters. Names are
// matched case-sensitively except INBOX, which matches in any case.
type Mailboxes interface {
	Mailboxes(ctx context.Context, accountID int64) ([]Mailbox, error) // sorted by name
	MailboxByName(ctx context.Context, accountID int64, name string) (Mailbox, error)
	MailboxByID(ctx context.Context, mbox MailboxRef) (Mailbox, error)
	CreateMailbox(ctx context.Context, accountID int64, name, specialUse string) (Mailbox, error)
	// DeleteMailbox removes the mailbox and its messages. INBOX -> ErrInvalid;
	// a mailbox with children -> ErrHasChildren.
	DeleteMailbox(ctx context.Context, accountID int64, name string) error
	// RenameMailbox renames a mailbox and all its inferiors, keeping UIDVALIDITY.
	// Renaming INBOX moves all its messages into a new mailbox named to and
	// leaves INBOX empty (RFC 9051 §6.3.6).
	RenameMailbox(ctx context.Context, accountID int64, from, to string) error
	Subscriptions(ctx context.Context, accountID int64) ([]string, error) // may name non-existent mailboxes
	SetSubscribed(ctx context.Context, accountID int64, name string, subscribed bool) error
	MailboxStatus(ctx context.Context, mbox MailboxRef) (MailboxStatus, error)
	// MailboxStatusByName is MailboxByName and MailboxStatus of the
	// mailbox found, read together (one query: IMAP STATUS by name).
	MailboxStatusByName(ctx context.Context, accountID int64, name string) (Mailbox, MailboxStatus, error)
	// ClaimRecent takes the messages no session has taken as recent yet
	// (IMAP4rev1 \Recent, RFC 3501 §2.3.2): it returns the UIDs
	// [first, next) and moves the mailbox's first recent UID to next, in
	// one statement, so exactly one caller gets each message, whichever
	// node it runs on. RecentCount counts the messages of that range that
	// still exist without taking them (STATUS RECENT, EXAMINE).
	ClaimRecent(ctx context.Context, mbox MailboxRef) (first, next uint32, err error)
	RecentCount(ctx context.Context, mbox MailboxRef) (first uint32, count uint32, err error)
	// SetUIDValidity gives a mailbox that has never held a message
	// (UIDNEXT 1) the UIDVALIDITY another server gave it (imports). The
	// store's UIDVALIDITY counter moves past v, so mailboxes created
	// later still get new values. A mailbox that has held a message, or
	// v = 0, is ErrInvalid. Sessions holding the old UIDVALIDITY get
	// ErrNotFound from then on, as after a delete.
	SetUIDValidity(ctx context.Context, mbox MailboxRef, v uint32) (Mailbox, error)
}

// Messages are the messages of one mailbox: adding (Append), reading,
// flags, expunge, copy and move, and what changed since a modseq.
type Messages interface {
	// Append adds messages to one mailbox atomically (MULTIAPPEND) and returns
	// the mailbox's UIDVALIDITY and the new UIDs in order.
	Append(ctx context.Context, mbox MailboxRef, msgs []NewMessage) (uidValidity uint32, uids []uint32, err error)
	// AppendUIDs is Append with UIDs the caller chooses, for imports that
	// keep another server's UIDs so its clients need not resync: uids
	// (one per message) strictly ascending, the first not below the
	// mailbox's UIDNEXT (so no UID is ever reused, not even an expunged
	// one); UIDNEXT becomes the last UID + 1. Modseqs are given as by
	// Append. Anything else is ErrInvalid and stores nothing.
	AppendUIDs(ctx context.Context, mbox MailboxRef, msgs []NewMessage, uids []uint32) (uidValidity uint32, err error)
	// ListMessages calls fn for each message whose UID is in uids (ascending;
	// nil means all), in UID order, streaming from the backend.
	ListMessages(ctx context.Context, mbox MailboxRef, uids []uint32, fn func(MessageMeta) error) error
	// ListBodies calls fn with the metadata and raw bytes of each message
	// whose UID is in uids (ascending; nil means all), in UID order: one
	// read per batch of messages instead of one MessageBody call each.
	// Messages expunged meanwhile are skipped.
	ListBodies(ctx context.Context, mbox MailboxRef, uids []uint32, fn func(MessageMeta, []byte) error) error
	// ReadBodies is ListBodies without a copy for the caller, in one read
	// (the caller bounds uids, ascending): fn gets each message's id, UID
	// and bytes, valid only until it returns, and must copy what it keeps
	// and not wait for anything (SQLite hands the driver's buffer; a
	// backend may hand a copy). Messages expunged meanwhile are skipped;
	// so, when the mailbox is missing, may be all (no ErrNotFound
	// promised).
	ReadBodies(ctx context.Context, mbox MailboxRef, uids []uint32, fn func(id int64, uid uint32, raw []byte) error) error
	// ListHeaders is ListBodies with only each message's top-level header
	// (raw[:message.ParseTop(raw).BodyStart], blank line included): the
	// backends keep it apart from the raw bytes, so listing the headers of
	// messages with large attachments does not read the attachments.
	ListHeaders(ctx context.Context, mbox MailboxRef, uids []uint32, fn func(MessageMeta, []byte) error) error
	// ReadHeaders is ReadBodies for ListHeaders's headers: fn gets each
	// message's id, UID and top-level header, valid only until it
	// returns, on the terms of ReadBodies.
	ReadHeaders(ctx context.Context, mbox MailboxRef, uids []uint32, fn func(id int64, uid uint32, hdr []byte) error) error
	// MessageBody returns the raw bytes of a message exactly as received;
	// the message must be in mbox (ErrNotFound otherwise).
	MessageBody(ctx context.Context, mbox MailboxRef, messageID int64) ([]byte, error)
	// ReadMessageBody is MessageBody without a copy for the caller: fn
	// gets the raw bytes while the row is read and must not keep them or
	// modify them after it returns (POP3 RETR writes them out). fn's
	// error is returned as is.
	ReadMessageBody(ctx context.Context, mbox MailboxRef, messageID int64, fn func(raw []byte) error) error
	// Replace appends msg to dst and expunges the message uid of src in
	// one transaction (IMAP REPLACE, RFC 8508): both happen or neither.
	// ErrNotFound if src has no message uid. It returns dst's UIDVALIDITY
	// and the new message's UID.
	Replace(ctx context.Context, src MailboxRef, uid uint32, dst MailboxRef, msg NewMessage) (uidValidity, newUID uint32, err error)
	// SearchText returns, ascending, the UIDs of the messages of mbox
	// that contain q.Needle as IMAP SEARCH TEXT or BODY matches it
	// (message.Fold of the decoded header and text parts), from the
	// full-text index plus every message not indexed yet: in hits.Exact
	// those that match, as reading them would find; in hits.Candidates
	// those that may (messages stored before the index without an entry
	// yet, or every hit where the backend's lookup finds a superset), for
	// the caller to check. A matching message is in one of the two. ok is
	// false, and nothing is read, when the index cannot answer q (a needle
	// shorter than three characters, or with NUL or invalid UTF-8): the
	// caller reads every message.
	SearchText(ctx context.Context, mbox MailboxRef, q TextQuery) (hits TextHits, ok bool, err error)
	// ReindexText adds the full-text index entries messages stored before
	// the index existed lack: of every account (accountID 0) or of one.
	// It may run while the store is in use and again (it does only what is
	// left). progress, if not nil, hears how many of how many stored
	// messages (blobs: copies share one) are indexed so far.
	ReindexText(ctx context.Context, accountID int64, progress func(done, total int64)) error
	// EmailIDs returns the EMAILID (RFC 8474) of each message of uids in
	// mbox: an id never used for another message, shared by copies made
	// with Copy and Move. Expunged UIDs are absent.
	EmailIDs(ctx context.Context, mbox MailboxRef, uids []uint32) (map[uint32]int64, error)
	// SaveDates returns when each message of uids was put into mbox
	// (SAVEDATE, RFC 8514): by delivery, Append, Copy, Move, Replace or
	// import, whichever made the row; for rows from before save dates
	// were kept, the internal date. Expunged UIDs are absent.
	SaveDates(ctx context.Context, mbox MailboxRef, uids []uint32) (map[uint32]time.Time, error)
	// MessagePart returns the MIME structure parsed at delivery.
	MessagePart(ctx context.Context, mbox MailboxRef, messageID int64) (*message.Part, error)
	// ListParts is ListBodies with each message's MIME structure parsed
	// at delivery (as MessagePart) instead of its bytes: FETCH
	// BODYSTRUCTURE and ENVELOPE, and the sections of messages already
	// read, use it instead of parsing the bytes again.
	ListParts(ctx context.Context, mbox MailboxRef, uids []uint32, fn func(MessageMeta, *message.Part) error) error
	// UpdateFlags changes the flags of the messages in uids. With
	// unchangedSince > 0 (CONDSTORE), messages whose modseq is greater are
	// left alone and returned in failed. changed holds the new metadata of
	// every message whose flags actually changed, in UID order, each with
	// a new modseq: HIGHESTMODSEQ+1, +2, ... of the mailbox as the write
	// found it, so changed is all that happened between the previous
	// HIGHESTMODSEQ and the new one (IMAP feeds its views from it).
	UpdateFlags(ctx context.Context, mbox MailboxRef, uids []uint32, op FlagOp, flags []string, unchangedSince uint64) (changed []MessageMeta, failed []uint32, err error)
	// Expunge removes the messages in uids (nil means every message) and
	// returns the UIDs removed, ascending. With onlyDeleted, only messages
	// flagged \Deleted are removed (IMAP EXPUNGE); POP3 passes false.
	// Each removed message gets a new modseq, HIGHESTMODSEQ+1, +2, ... of
	// the mailbox as the write found it, in UID order; highest is the
	// mailbox's HIGHESTMODSEQ after the write, so highest-len(removed) is
	// where it stood before (IMAP takes its own expunge in from it).
	Expunge(ctx context.Context, mbox MailboxRef, uids []uint32, onlyDeleted bool) (removed []uint32, highest uint64, err error)
	// Copy copies messages to dst, keeping flags and internal date.
	Copy(ctx context.Context, src MailboxRef, uids []uint32, dst MailboxRef) (dstUIDValidity uint32, pairs []UIDPair, err error)
	// Move is Copy plus Expunge of the source messages, atomically. The
	// source messages get new modseqs as Expunge gives them (after the
	// copies' when src is dst); srcHighest is the source's HIGHESTMODSEQ
	// after the write, so srcHighest-len(pairs) is where it stood before
	// when src is not dst (IMAP takes its own MOVE in from it).
	Move(ctx context.Context, src MailboxRef, uids []uint32, dst MailboxRef) (dstUIDValidity uint32, pairs []UIDPair, srcHighest uint64, err error)
	// Changes reports what happened in a mailbox after modseq since: the
	// current metadata of messages added or changed, and the UIDs expunged.
	// It also returns the mailbox's current HIGHESTMODSEQ.
	Changes(ctx context.Context, mbox MailboxRef, since uint64) (changed []MessageMeta, vanished []uint32, highest uint64, err error)
}

// Delivery commits an incoming message: its local copies and, in the same
// transaction, the outbound queue entries it causes (package delivery).
type Delivery interface {
	// Deliver stores one message into several mailboxes, possibly of several
	// accounts, in one transaction: all copies are durable when it returns.
	Deliver(ctx context.Context, targets []Target, msg NewMessage) ([]Delivered, error)
	// DeliverAndEnqueue is Deliver and Enqueue in one transaction: the
	// copies for targets (may be empty) and, when queued is not nil, the
	// outbound queue entry are all durable when it returns, or none of
	// them is. It returns where the copies landed and the queue id (0
	// without queued). Nothing at all to do is ErrInvalid. It is what
	// package delivery commits a message with, so that a failure of the
	// local part never leaves a queued remote copy behind (which the
	// client's retry would send a second time).
	DeliverAndEnqueue(ctx context.Context, targets []Target, msg NewMessage, queued *QueuedMessage) ([]Delivered, int64, error)
	// DeliverBatch is DeliverAndEnqueue for a delivery whose copies
	// differ (Sieve filing, flags and header edits per account) and that
	// queues several messages (Sieve redirects, vacation replies,
	// rejections): every copy and every queue entry is durable when it
	// returns, or none is. It returns where the copies landed (in
	// order, duplicate targets within one Copy stored once) and the queue
	// ids in the order of queued. Nothing at all to do is ErrInvalid.
	DeliverBatch(ctx context.Context, copies []Copy, queued []QueuedMessage) ([]Delivered, []int64, error)
}

// ChangeFeed wakes sessions after a commit (see Feed, Change).
type ChangeFeed interface {
	// Watch subscribes to the change feed of one account. The channel is
	// buffered and coalescing: a slow reader misses no state, because it
	// reads state with Changes. cancel releases the subscription.
	Watch(accountID int64) (changes <-chan Change, cancel func())
}

// Queue is the outbound queue (package queue). Items survive restarts;
// each recipient has its own state (see QueueRecipient).
type Queue interface {
	// Enqueue stores a message for delivery and returns its id once durable.
	Enqueue(ctx context.Context, msg QueuedMessage) (id int64, err error)
	// DueQueue returns up to limit items (oldest first) that have a pending
	// recipient whose NextAttempt is not after now.
	DueQueue(ctx context.Context, now time.Time, limit int) ([]QueueItem, error)
	// ClaimQueue leases up to limit items (oldest first) to owner until
	// now+lease and returns them, in one transaction. It takes items that
	// have a pending recipient whose NextAttempt is not after now, or no
	// pending recipient at all (finished but not yet removed: their DSN
	// is still owed), and that no other owner holds: unleased, leased by
	// owner itself, or with a lease that ended at or before now. Two
	// claims running at the same moment never return the same item, so
	// several nodes can run the queue on one store. The holder releases
	// the item with ReleaseQueueItem when its attempt is over; a holder
	// that dies leaves it to be taken over once the lease ends.
	ClaimQueue(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]QueueItem, error)
	// ReleaseQueueItem ends owner's lease on item id. It does nothing
	// when the item is gone or owner does not hold it (any more).
	// UpdateQueueRecipients does not release: an item's recipients are
	// recorded domain by domain while others are still being delivered.
	ReleaseQueueItem(ctx context.Context, id int64, owner string) error
	// RenewQueueLeases moves the end of owner's leases on items ids to
	// until, in one transaction, and returns the ids it renewed (in
	// ascending order). An item owner no longer holds (released, deleted,
	// or taken over by another owner after its lease ended) is left
	// alone and missing from renewed: owner must stop working on it. A
	// lease that ended but that nobody took over is still owner's and is
	// renewed. ErrInvalid without an owner.
	RenewQueueLeases(ctx context.Context, owner string, ids []int64, until time.Time) (renewed []int64, err error)
	// QueueItems returns every queued item, oldest first.
	QueueItems(ctx context.Context) ([]QueueItem, error)
	// QueueItem returns one item (ErrNotFound if absent).
	QueueItem(ctx context.Context, id int64) (QueueItem, error)
	// QueueMessage returns the bytes of a queued message.
	QueueMessage(ctx context.Context, id int64) ([]byte, error)
	// UpdateQueueRecipients stores the new state of the named recipients
	// (matched by Addr, case-insensitively) of item id, atomically.
	UpdateQueueRecipients(ctx context.Context, id int64, rcpts []QueueRecipient) error
	// DeleteQueueItem removes an item (ErrNotFound if absent).
	DeleteQueueItem(ctx context.Context, id int64) error
	// RetryQueueItem makes the pending recipients of item id (every item
	// when id is 0) due at now. It returns how many items it touched;
	// ErrNotFound for an unknown id.
	RetryQueueItem(ctx context.Context, id int64, now time.Time) (int, error)
}

// Sieve holds the Sieve scripts (package sieve), per account, by name
// (case sensitive), and the state of vacation/duplicate tests; see
// CheckSieveScript for the bounds. An account has at most
// MaxSieveScripts scripts and at most one active.
type Sieve interface {
	// PutSieveScript creates or replaces the script name (keeping its id
	// and whether it is active). ErrInvalid beyond the bounds, ErrNotFound
	// for an unknown account.
	PutSieveScript(ctx context.Context, accountID int64, name string, src []byte) (SieveScript, error)
	SieveScript(ctx context.Context, accountID int64, name string) (SieveScript, error)
	// SieveScripts lists the account's scripts sorted by name, without
	// their Source.
	SieveScripts(ctx context.Context, accountID int64) ([]SieveScript, error)
	// ActiveSieveScript returns the active script; ErrNotFound for none.
	ActiveSieveScript(ctx context.Context, accountID int64) (SieveScript, error)
	// ActivateSieveScript makes name the only active script; "" leaves
	// none active. ErrNotFound for an unknown name.
	ActivateSieveScript(ctx context.Context, accountID int64, name string) error
	// DeleteSieveScript removes a script, active or not (ErrNotFound if
	// absent).
	DeleteSieveScript(ctx context.Context, accountID int64, name string) error
	// RenameSieveScript renames oldName to newName in one transaction,
	// keeping the script's id, source and active mark (CheckSieveName;
	// ErrNotFound if oldName is missing, ErrExists if newName exists,
	// oldName itself included).
	RenameSieveScript(ctx context.Context, accountID int64, oldName, newName string) error
	// SieveStateSeen reports whether (kind, handle, key) was recorded for
	// the account at or after since and has not expired at since.
	SieveStateSeen(ctx context.Context, accountID int64, kind, handle, key string, since time.Time) (bool, error)
	// RecordSieveState records (kind, handle, key) at time at, kept until
	// expires; it also removes the account's expired state.
	RecordSieveState(ctx context.Context, accountID int64, kind, handle, key string, at, expires time.Time) error
}

// Greylist is the greylisting state (smtpserver): server-wide state
// shared by every node, not an account's (keys are opaque hashes of a
// triplet or a client network; no account is named).
type Greylist interface {
	// GreylistAttempt records an attempt of key at now in one
	// statement and returns its passes after it: a new key, or one
	// whose last attempt is before now-expire, starts over (first
	// attempt now, 0 passes); an attempt at or after first+delay is a
	// pass (passes+1); an earlier one only refreshes the key. It also
	// removes up to 100 expired keys.
	GreylistAttempt(ctx context.Context, key string, now time.Time, delay, expire time.Duration) (passes int, err error)
	// GreylistPasses returns key's passes; 0 if absent or expired.
	GreylistPasses(ctx context.Context, key string, now time.Time, expire time.Duration) (int, error)
}

// Outbound holds the outbound submission counters (outbound.go), keyed by
// account and UTC day (days since the epoch): per-account submission
// limits. OutboundCounters returns the zero value for a day without a
// record.
type Outbound interface {
	OutboundCounters(ctx context.Context, accountID, day int64) (OutboundCounters, error)
	// AddOutbound counts one accepted message with recipients
	// recipients in day and hour (hours since the epoch; the hour
	// counter restarts when it changes) and ORs external into the day's
	// bitmap: one upsert. It removes the account's rows older than
	// day-1.
	AddOutbound(ctx context.Context, accountID, day, hour, recipients int64, external []byte) error
	// MarkOutboundNotified sets the day's Notified flag and reports
	// whether this call set it (true exactly once per account and day,
	// across nodes).
	MarkOutboundNotified(ctx context.Context, accountID, day int64) (bool, error)
	// AddOutboundFailed counts n recipients of the account's submissions
	// that failed for good (refused by the next hop or expired) on day:
	// one upsert per bounced message, whatever day it was sent.
	AddOutboundFailed(ctx context.Context, accountID, day, n int64) error
}

// ImportFolder is what an IMAP import (transfer.ImportIMAP) keeps of one
// source folder between runs, so that a re-run fetches only what changed:
// the source's UIDVALIDITY and HIGHESTMODSEQ (0: the source has no
// CONDSTORE) as last seen, the highest source UID imported, and the
// target mailbox.
type ImportFolder struct {
	Source        string // the source account, as "imaps://user@host:port"
	Folder        string // the source folder, as the source names it
	MailboxID     int64  // the target mailbox the folder was imported into
	UIDValidity   uint32
	HighestModSeq uint64
	LastUID       uint32
}

// Imports keep the state of incremental IMAP imports: per source folder
// an ImportFolder and the mapping from source UIDs to the UIDs of the
// imported copies (UIDPair Src, Dst), so that flag changes at the source
// reach the copies. All of it goes with the account.
type Imports interface {
	// ImportFolder returns the state kept of one source folder, or
	// ErrNotFound.
	ImportFolder(ctx context.Context, accountID int64, source, folder string) (ImportFolder, error)
	// SaveImportFolder records f as the state of its source folder,
	// replacing any earlier one, and adds pairs to its UID mapping (a
	// source UID already mapped is remapped). With reset the earlier
	// mapping is dropped first (the source's UIDVALIDITY changed). One
	// transaction.
	SaveImportFolder(ctx context.Context, accountID int64, f ImportFolder, reset bool, pairs []UIDPair) error
	// ImportedUIDs returns, for each of srcUIDs that is mapped, the UID
	// of its copy in the folder's target mailbox.
	ImportedUIDs(ctx context.Context, accountID int64, source, folder string, srcUIDs []uint32) (map[uint32]uint32, error)
}

// Store is the durable mail store: every role, what a backend implements
// (store/sqlite, store/postgres; store/storetest checks it), including
// the whole-store Dumper and Loader of mailroom migrate.
type Store interface {
	Accounts
	Domains
	Mailboxes
	Messages
	Delivery
	ChangeFeed
	Queue
	Sieve
	Greylist
	Outbound
	ACLs
	Imports
	Metadata
	Dumper
	Loader

	Close() error
}
