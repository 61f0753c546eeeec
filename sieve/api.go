package sieve

import (
	"context"
	"errors"
	"sort"
	"time"
)

// Message is what a script may read of the message being delivered. The
// delivery path implements it over its parsed message.
type Message interface {
	// Header returns the values of every field called name (case
	// insensitive), in message order, unfolded and with RFC 2047 encoded
	// words decoded. No fields: nil.
	Header(name string) []string
	// Size is the message size in octets (RFC 5228 §5.9).
	Size() int64
	// Body returns the parts the body test looks at (RFC 5173 §5):
	// BodyRaw: the undecoded body as one string; BodyText: the decoded text
	// of every text/* part; BodyContent: the decoded content of every part
	// whose type matches one of contentTypes ("text", "text/html", "" for
	// any), multipart bodies as their prologue and epilogue.
	Body(t BodyTransform, contentTypes []string) ([]string, error)
}

// RawHeaderMessage is an optional add-on to Message: when the message
// implements it, the address test parses the undecoded values, so an
// encoded display name that decodes to a comma or angle bracket cannot
// change the address list (RFC 2047 §5: encoded words are display text).
type RawHeaderMessage interface {
	Message
	// RawHeader is Header without RFC 2047 decoding (still unfolded).
	RawHeader(name string) []string
}

// BodyTransform selects what Message.Body returns.
type BodyTransform int

const (
	BodyText BodyTransform = iota
	BodyRaw
	BodyContent
)

// Envelope is the SMTP envelope of the delivery (RFC 5228 §5.4).
type Envelope struct {
	From   string // reverse-path without <>; "" for the null sender
	To     string // the recipient this delivery is for
	OrigTo string // the recipient before alias expansion, if known; vacation counts it as the user's
	Auth   string // authenticated submitter (RFC 4954 AUTH=), if known
}

// MailboxChecker answers mailboxexists (RFC 5490 §3.1).
type MailboxChecker interface {
	MailboxExists(ctx context.Context, name string) (bool, error)
}

// State is the per-account memory vacation and duplicate need. The caller
// records replies and message ids after delivery succeeded, from the
// Vacation action and Result.Duplicates.
type State interface {
	// VacationReplied reports whether a reply with handle went to sender
	// at or after since (RFC 5230 §4.2).
	VacationReplied(ctx context.Context, handle, sender string, since time.Time) (bool, error)
	// DuplicateSeen reports whether id was recorded for handle at or
	// after since (RFC 7352 §3).
	DuplicateSeen(ctx context.Context, handle, id string, since time.Time) (bool, error)
}

// ErrScriptNotFound is returned by a ScriptLoader for a missing script.
var ErrScriptNotFound = errors.New("sieve: script not found")

// ScriptLoader loads scripts for include (RFC 6609): global scripts are
// admin managed, personal ones the user's.
type ScriptLoader interface {
	LoadScript(ctx context.Context, name string, global bool) ([]byte, error)
}

// TestScore is a spam or virus verdict (RFC 5235): Value 1..10 (1 clean,
// 10 certainly spam/infected), Percent 0..100 for spamtestplus.
type TestScore struct {
	Value   int
	Percent int
}

// Env is everything about one evaluation besides the message. Nil
// interfaces make the corresponding tests false (mailboxexists, duplicate)
// or, for Scripts, include fail unless :optional.
type Env struct {
	Envelope Envelope
	// UserAddresses are the recipient's own addresses: vacation only
	// answers mail sent to one of them and never mail from one of them.
	UserAddresses []string
	Mailboxes     MailboxChecker
	State         State
	Scripts       ScriptLoader
	// Now is the clock; nil means time.Now. Its location is the local
	// zone of the date tests (RFC 5260 §2.3).
	Now func() time.Time
	// SubaddressSeparator splits user and detail (RFC 5233); "" means "+".
	SubaddressSeparator string
	// Spam and Virus are the scanner verdicts; nil means "not tested".
	Spam, Virus *TestScore
}

// Action is one thing the caller must do. The concrete types are Keep,
// FileInto, Redirect, Discard, Reject, Vacation, AddHeader, DeleteHeader.
type Action interface{ isAction() }

// Keep stores the message in the default mailbox (RFC 5228 §4.3).
// Implicit is set when no action cancelled the implicit keep (§2.10.2).
type Keep struct {
	Flags    []string
	Implicit bool
}

// FileInto stores the message in Mailbox (RFC 5228 §4.1); Create makes the
// mailbox first when missing (RFC 5490 §3.2); Copy means it did not cancel
// the implicit keep (RFC 3894).
type FileInto struct {
	Mailbox string
	Flags   []string
	Create  bool
	Copy    bool
}

// Redirect forwards the message unchanged to Address (RFC 5228 §4.2).
type Redirect struct {
	Address string
	Copy    bool
}

// Discard records that the script discarded the message (RFC 5228 §4.4).
type Discard struct{}

// Reject refuses the message (RFC 5429): with Extended (ereject) the
// caller should refuse at SMTP time when it can, otherwise send a DSN.
type Reject struct {
	Reason   string
	Extended bool
}

// Vacation is an auto-reply the interpreter decided to send: every RFC
// 3834/5230 check that needs only the message, the envelope and State
// passed. The caller sends it from the null sender with
// "Auto-Submitted: auto-replied" and then records (Handle, To) in State.
type Vacation struct {
	To         string // the envelope sender being answered
	From       string
	Subject    string
	Reason     string // text, or a MIME entity when MIME is set
	MIME       bool
	Handle     string
	Period     time.Duration
	InReplyTo  string
	References string
}

// AddHeader adds a field at the top (or the bottom with Last) of the
// header (RFC 5293 §4). Header edits are in Result.Actions in script order
// and apply to the message every later action delivers.
type AddHeader struct {
	Name, Value string
	Last        bool
}

// DeleteHeader deletes the Index-th (1-based, counted from the top, in the
// header as edited so far) field called Name (RFC 5293 §5).
type DeleteHeader struct {
	Name  string
	Index int
}

func (Keep) isAction()         {}
func (FileInto) isAction()     {}
func (Redirect) isAction()     {}
func (Discard) isAction()      {}
func (Reject) isAction()       {}
func (Vacation) isAction()     {}
func (AddHeader) isAction()    {}
func (DeleteHeader) isAction() {}

// DuplicateRecord is a message id the caller records after successful
// delivery (RFC 7352 §3).
type DuplicateRecord struct {
	Handle string
	ID     string
	Period time.Duration
}

// Result is the outcome of one evaluation.
type Result struct {
	Actions    []Action
	Duplicates []DuplicateRecord
	Steps      int // evaluation steps used, against Limits.MaxSteps
	// Notes explain decisions that produced no action (a vacation reply
	// not sent and why), for the delivery log. At most maxNotes.
	Notes []string
}

const maxNotes = 16

// FallbackResult is what the caller does when a script fails: the
// implicit keep (RFC 5228 §2.10.6).
func FallbackResult() *Result {
	return &Result{Actions: []Action{Keep{Implicit: true}}}
}

// Script is a compiled, validated script, safe for concurrent evaluations.
type Script struct {
	cmds []*cmd
	caps map[string]bool
	lim  Limits
}

// Compile parses and validates a script. Zero fields of lim take their
// defaults. The error is an *Error with a line number.
func Compile(src []byte, lim Limits) (*Script, error) {
	lim = lim.withDefaults()
	nodes, err := parse(src, lim)
	if err != nil {
		return nil, err
	}
	cmds, caps, err := validate(nodes, lim)
	if err != nil {
		return nil, err
	}
	return &Script{cmds: cmds, caps: caps, lim: lim}, nil
}

// Requires lists the capabilities the script requires, sorted.
func (s *Script) Requires() []string {
	var out []string
	for c := range s.caps {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}
