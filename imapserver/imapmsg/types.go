// Package imapmsg is the message side of mailroom's IMAP server: sequence
// and UID sets, section specs, FETCH rendering (ENVELOPE, BODYSTRUCTURE,
// BODY[...] and BINARY[...] bytes) and SEARCH evaluation.
//
// It is pure: it reads parsed messages (package message) and metadata
// (package store) and never touches the network or writes to the store.
package imapmsg

import (
	"errors"
	"time"

	"github.com/mailroom/mailroom/message"
	"github.com/mailroom/mailroom/store"
)

// NumRange is one range of a NumSet. A bound of 0 means "*": the largest
// number in use (RFC 9051 §9 seq-number).
type NumRange struct{ Start, Stop uint32 }

// NumSet is an IMAP sequence-set or uid-set (RFC 9051 §9 "sequence-set"),
// with "*" and "$" (SEARCHRES, RFC 5182) support.
type NumSet struct {
	Ranges []NumRange
	Saved  bool // "$": the result saved by SEARCH RETURN (SAVE)
}

// Section is a BODY[...] / BINARY[...] section spec (RFC 9051 §6.4.5).
type Section struct {
	Part      []int    // nested part numbers; empty = whole message
	Specifier string   // "", "HEADER", "HEADER.FIELDS", "HEADER.FIELDS.NOT", "TEXT", "MIME"
	Fields    []string // for HEADER.FIELDS(.NOT), as given by the client
	Partial   *Partial // <offset.count>, nil if absent
}

// Section specifiers (RFC 9051 §6.4.5).
const (
	SpecHeader          = "HEADER"
	SpecHeaderFields    = "HEADER.FIELDS"
	SpecHeaderFieldsNot = "HEADER.FIELDS.NOT"
	SpecText            = "TEXT"
	SpecMIME            = "MIME"
)

// Partial is the <offset.count> suffix of BODY[...]<o.c>.
type Partial struct{ Offset, Count uint32 }

// Op is the kind of a search Key.
type Op int

// Search keys (RFC 9051 §6.4.4, RFC 3501 §6.4.4, RFC 7162 §3.1.5).
const (
	KeyAll        Op = iota
	KeyAnswered      // \Answered set
	KeyDeleted       // \Deleted set
	KeyDraft         // \Draft set
	KeyFlagged       // \Flagged set
	KeySeen          // \Seen set
	KeyUnanswered    //
	KeyUndeleted     //
	KeyUndraft       //
	KeyUnflagged     //
	KeyUnseen        //
	KeyKeyword       // Value = keyword
	KeyUnkeyword     // Value = keyword
	KeyNew           // RFC 3501: \Recent and not \Seen; mailroom has no \Recent: matches nothing
	KeyOld           // RFC 3501: not \Recent: matches all
	KeyRecent        // RFC 3501: matches nothing
	KeyUnrecent      // RFC 3501: matches all

	KeyBcc     // Value: substring of the Bcc header
	KeyCc      // Value
	KeyFrom    // Value
	KeyTo      // Value
	KeySubject // Value
	KeyHeader  // Field, Value ("" matches every message having the field)
	KeyBody    // Value: substring of the body text
	KeyText    // Value: substring of header or body

	KeyBefore     // Date: INTERNALDATE (date only, server zone) < Date
	KeyOn         // Date: INTERNALDATE date == Date
	KeySince      // Date: INTERNALDATE date >= Date
	KeySentBefore // Date: Date header's date < Date
	KeySentOn     // Date
	KeySentSince  // Date

	// SAVEDATE (RFC 8514): the date the message was put into the mailbox
	// (SaveDater; the internal date for a Message that is not one), as
	// BEFORE, ON and SINCE compare INTERNALDATE.
	KeySavedBefore       // Date
	KeySavedOn           // Date
	KeySavedSince        // Date
	KeySaveDateSupported // every mailbox keeps save dates: matches all

	KeyLarger  // Number: RFC822.SIZE > Number
	KeySmaller // Number: RFC822.SIZE < Number
	KeyYounger // Number: INTERNALDATE within the last Number seconds (WITHIN, RFC 5032)
	KeyOlder   // Number: INTERNALDATE more than Number seconds ago (WITHIN, RFC 5032)

	KeySeqSet // Set: message sequence numbers
	KeyUID    // Set: UIDs
	KeyModSeq // Number: modseq >= Number (RFC 7162 §3.1.5); Field/Value keep entry-name/entry-type, which match the message modseq as mailroom keeps no per-flag modseqs

	KeyAnd // Children: all must match (parenthesized list, implicit AND)
	KeyOr  // Children: 2, either matches
	KeyNot // Children: 1, must not match
)

// Key is a node of a search criteria tree (RFC 9051 §6.4.4).
type Key struct {
	Op       Op
	Children []Key     // And: n; Or: 2; Not: 1
	Set      NumSet    // SeqSet / UID
	Field    string    // header name for KeyHeader; entry name for KeyModSeq
	Value    string    // string argument (substring keys, keyword); entry type for KeyModSeq
	Date     time.Time // BEFORE/ON/SINCE/SENT*: a date (year, month, day; time ignored)
	Number   uint64    // LARGER/SMALLER size, MODSEQ value
}

// Message is one message as SEARCH sees it. Raw and Part are called only
// when a key needs the whole message (NeedsBody), Head and Top when one
// needs only its top-level header (NeedsHeader), so flag-only searches
// load no bytes and header searches no bodies.
type Message interface {
	SeqNum() uint32
	Meta() *store.MessageMeta
	Raw() ([]byte, error)
	Part() (*message.Part, error)
	// Head returns bytes that start with the top-level header: the
	// header alone, or the whole message.
	Head() ([]byte, error)
	// Top returns a root part with the header span and Envelope (at
	// least message.ParseTop of Head).
	Top() (*message.Part, error)
}

// SaveDater is a Message that knows its save date (RFC 8514).
type SaveDater interface {
	SaveDate() (time.Time, error)
}

// MatchEnv is the mailbox state a search is evaluated against.
type MatchEnv struct {
	MaxSeq   uint32         // number of messages in the mailbox ("*" for sequence sets)
	MaxUID   uint32         // largest UID in the mailbox ("*" for UID sets)
	Saved    NumSet         // UIDs saved by SEARCHRES ("$"); concrete UIDs, no "*"
	Location *time.Location // server time zone for INTERNALDATE comparisons; nil = UTC
	Now      time.Time      // the time YOUNGER and OLDER count back from
	// Recent reports whether a UID is \Recent in this session (IMAP4rev1,
	// RFC 3501 §2.3.2); nil: none is (IMAP4rev2 has no \Recent).
	Recent func(uid uint32) bool
}

// Errors.
var (
	// ErrNoSuchPart: the section names a part that does not exist. Most
	// servers return an empty string for it; the caller decides.
	ErrNoSuchPart = errors.New("imapmsg: no such body part")
	// ErrUnknownCTE: BINARY of a part whose Content-Transfer-Encoding is
	// unknown; the reply is NO [UNKNOWN-CTE] (RFC 3516 §4.3).
	ErrUnknownCTE = errors.New("imapmsg: unknown content-transfer-encoding")
	// ErrSyntax: a malformed sequence set, section, date or date-time.
	ErrSyntax = errors.New("imapmsg: syntax error")
)
