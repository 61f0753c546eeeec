// Package message parses RFC 5322 / MIME messages once, at delivery, into a
// tree of parts with byte offsets into the raw message, so that IMAP can
// serve ENVELOPE, BODYSTRUCTURE and single parts without parsing again.
package message

// Part is one node of a message's MIME tree. All offsets index the raw
// message bytes that were passed to Parse.
type Part struct {
	HeaderStart int64 `json:"hs"`           // first byte of this part's header
	BodyStart   int64 `json:"bs"`           // first byte of the body (after the blank line)
	BodyEnd     int64 `json:"be"`           // end of the body, exclusive
	BodyLines   int64 `json:"bl,omitempty"` // lines in the body (line feeds, plus one for an unterminated last line); set for text/*, message/rfc822 and message/global

	// Content-Type, lower-cased; defaults per RFC 2045 ("text"/"plain" with
	// charset=us-ascii, or "message"/"rfc822" inside multipart/digest). See
	// Parse for the invariants between MediaType, Parts and Message.
	MediaType    string  `json:"mt"`
	MediaSubtype string  `json:"ms"`
	Params       []Param `json:"p,omitempty"` // in header order; RFC 2231 values decoded to UTF-8

	ContentID         string   `json:"id,omitempty"`
	Description       string   `json:"de,omitempty"`
	Encoding          string   `json:"en,omitempty"` // Content-Transfer-Encoding as given, "" if absent
	Disposition       string   `json:"di,omitempty"` // lower-cased disposition type
	DispositionParams []Param  `json:"dp,omitempty"`
	Language          []string `json:"la,omitempty"`
	Location          string   `json:"lo,omitempty"`
	MD5               string   `json:"md,omitempty"`

	Parts    []*Part   `json:"c,omitempty"`   // children of a multipart; never empty for MediaType "multipart"
	Message  *Part     `json:"m,omitempty"`   // the embedded message of message/rfc822 (and message/global); always set for them
	Envelope *Envelope `json:"env,omitempty"` // for the root part and embedded messages
}

// Param is a Content-Type or Content-Disposition parameter.
type Param struct {
	Name  string `json:"n"` // lower-case
	Value string `json:"v"`
}

// Envelope holds the header fields of IMAP's ENVELOPE (RFC 9051 §7.5.2), as
// they appear in the header (unfolded, RFC 2047 encoded-words kept). Each
// field comes from the first header field of its name. Sender and ReplyTo
// are empty when absent; the IMAP layer must then send From in their place.
type Envelope struct {
	Date      string    `json:"d,omitempty"`
	Subject   string    `json:"s,omitempty"`
	From      []Address `json:"f,omitempty"`
	Sender    []Address `json:"se,omitempty"`
	ReplyTo   []Address `json:"r,omitempty"`
	To        []Address `json:"t,omitempty"`
	Cc        []Address `json:"c,omitempty"`
	Bcc       []Address `json:"b,omitempty"`
	InReplyTo string    `json:"i,omitempty"`
	MessageID string    `json:"mi,omitempty"`
}

// Address is one element of an IMAP address list. Groups follow RFC 9051
// §7.5.2: a group start has Mailbox set to the group name and Host empty
// with GroupStart true; the group end is an Address with GroupEnd true.
// An ordinary address always has a non-empty Host (MissingHost when the
// header had none), so it cannot be mistaken for a group start.
type Address struct {
	Name       string `json:"n,omitempty"` // display name, encoded-words kept
	Adl        string `json:"a,omitempty"` // source route, normally empty
	Mailbox    string `json:"m,omitempty"`
	Host       string `json:"h,omitempty"`
	GroupStart bool   `json:"gs,omitempty"`
	GroupEnd   bool   `json:"ge,omitempty"`
}
