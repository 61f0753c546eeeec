package imapmsg

import (
	"cmp"
	"net/mail"
	"strings"
	"time"

	"github.com/mailroom/mailroom/message"
)

// SortKey is one SORT criterion (RFC 5256 §3, DISPLAYFROM/DISPLAYTO RFC
// 5957).
type SortKey int

const (
	SortArrival SortKey = iota
	SortCc
	SortDate
	SortFrom
	SortSize
	SortSubject
	SortTo
	SortDisplayFrom
	SortDisplayTo
)

// SortKeys maps the criterion names to keys.
var SortKeys = map[string]SortKey{
	"ARRIVAL": SortArrival, "CC": SortCc, "DATE": SortDate, "FROM": SortFrom,
	"SIZE": SortSize, "SUBJECT": SortSubject, "TO": SortTo,
	"DISPLAYFROM": SortDisplayFrom, "DISPLAYTO": SortDisplayTo,
}

// SortCriterion is a key, possibly REVERSEd.
type SortCriterion struct {
	Key     SortKey
	Reverse bool
}

// NeedsEnvelope reports whether sorting by cs reads message headers.
func NeedsEnvelope(cs []SortCriterion) bool {
	for _, c := range cs {
		if c.Key != SortArrival && c.Key != SortSize {
			return true
		}
	}
	return false
}

// SortItem is what a message is sorted by; Seq breaks ties (RFC 5256 §3:
// "the order of the messages in the mailbox").
type SortItem struct {
	Seq     uint32
	UID     uint32
	Arrival time.Time
	Size    int64
	// From the envelope, when NeedsEnvelope; Sent is the Date header in
	// UTC, or the arrival time when it is missing or unparsable (§2.2).
	Sent                   time.Time
	Cc, From, To, Subject  string // i;ascii-casemap folded
	DisplayFrom, DisplayTo string // i;ascii-casemap folded
}

// NewSortItem builds the item for a message; env may be nil when the
// criteria need no envelope.
func NewSortItem(seq, uid uint32, arrival time.Time, size int64, env *message.Envelope) SortItem {
	it := SortItem{Seq: seq, UID: uid, Arrival: arrival, Size: size, Sent: arrival}
	if env == nil {
		return it
	}
	if t, err := mail.ParseDate(env.Date); err == nil {
		it.Sent = t
	}
	it.Sent = it.Sent.UTC()
	it.Cc = asciiUpper(firstMailbox(env.Cc))
	it.From = asciiUpper(firstMailbox(env.From))
	it.To = asciiUpper(firstMailbox(env.To))
	it.Subject = asciiUpper(BaseSubject(env.Subject))
	it.DisplayFrom = asciiUpper(displayName(env.From))
	it.DisplayTo = asciiUpper(displayName(env.To))
	return it
}

// firstMailbox is the addr-mailbox (local part) of the first address
// (RFC 5256 §3 CC, FROM, TO), "" when there is none. The first address
// of a group is its start, whose addr-mailbox is the group name (RFC 3501
// §7.4.2 ENVELOPE), so a group, even an empty one, sorts by its name, as
// Dovecot does.
func firstMailbox(addrs []message.Address) string {
	for _, a := range addrs {
		if !a.GroupEnd {
			return a.Mailbox
		}
	}
	return ""
}

// displayName is RFC 5957's display name of the first address: its
// decoded name, or else its addr-spec; for a group, the group name.
func displayName(addrs []message.Address) string {
	for _, a := range addrs {
		if a.GroupEnd {
			continue
		}
		if a.GroupStart {
			return strings.TrimSpace(message.DecodeHeader(a.Mailbox))
		}
		if n := strings.TrimSpace(message.DecodeHeader(a.Name)); n != "" {
			return n
		}
		if a.Host == "" || a.Host == message.MissingHost {
			return a.Mailbox
		}
		return a.Mailbox + "@" + a.Host
	}
	return ""
}

// asciiUpper is the i;ascii-casemap collation's key: ASCII letters upper
// case, every other octet as is.
func asciiUpper(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'a' && c <= 'z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if b[j] >= 'a' && b[j] <= 'z' {
					b[j] -= 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// CompareSort orders a before b (negative), after (positive) by cs, ties
// by sequence number.
func CompareSort(cs []SortCriterion, a, b *SortItem) int {
	for _, c := range cs {
		var r int
		switch c.Key {
		case SortArrival:
			r = a.Arrival.Compare(b.Arrival)
		case SortCc:
			r = strings.Compare(a.Cc, b.Cc)
		case SortDate:
			r = a.Sent.Compare(b.Sent)
		case SortFrom:
			r = strings.Compare(a.From, b.From)
		case SortSize:
			r = cmp.Compare(a.Size, b.Size)
		case SortSubject:
			r = strings.Compare(a.Subject, b.Subject)
		case SortTo:
			r = strings.Compare(a.To, b.To)
		case SortDisplayFrom:
			r = strings.Compare(a.DisplayFrom, b.DisplayFrom)
		case SortDisplayTo:
			r = strings.Compare(a.DisplayTo, b.DisplayTo)
		}
		if c.Reverse {
			r = -r
		}
		if r != 0 {
			return r
		}
	}
	return cmp.Compare(a.Seq, b.Seq)
}

// BaseSubject extracts the base subject of a Subject header value (RFC
// 5256 §2.1): encoded-words decoded, white space collapsed, and reply and
// forward markers ("Re:", "Fwd:", "[list]", "(fwd)", "[Fwd: ...]")
// removed, so a thread's messages sort together.
func BaseSubject(subject string) string {
	s, _ := BaseSubjectReply(subject)
	return s
}

// BaseSubjectReply is BaseSubject that also reports whether the message
// is a reply or forward: whether the extraction removed a "Re:"/"Fwd:"
// leader, a "(fwd)" trailer or a "[fwd: ...]" wrapper (RFC 5256 §2.1,
// used by THREAD=REFERENCES).
func BaseSubjectReply(subject string) (base string, reply bool) {
	// (1) Decode, tabs and continuations to spaces, runs to one space.
	s := strings.Join(strings.Fields(message.DecodeHeader(subject)), " ")
	for {
		// (2) Trailing "(fwd)" and white space.
		for {
			t := strings.TrimRight(s, " ")
			if len(t) >= 5 && strings.EqualFold(t[len(t)-5:], "(fwd)") {
				t = t[:len(t)-5]
				reply = true
			}
			if t == s {
				break
			}
			s = t
		}
		// (3)-(5) Leaders and blobs, until neither matches.
		for {
			t := strings.TrimLeft(s, " ")
			if l := trimLeader(t); l != t {
				t, reply = l, true
			}
			if b := skipBlob(t); b > 0 && b < len(t) {
				t = t[b:]
			}
			if t == s {
				break
			}
			s = t
		}
		// (6) "[fwd: ... ]" wrapper: unwrap and start over.
		if len(s) >= 6 && strings.EqualFold(s[:5], "[fwd:") && s[len(s)-1] == ']' {
			s = s[5 : len(s)-1]
			reply = true
			continue
		}
		return s, reply
	}
}

// trimLeader removes one subj-leader (*subj-blob subj-refwd) if s starts
// with one: blobs, then "re", "fw" or "fwd", white space, an optional
// blob and a colon.
func trimLeader(s string) string {
	i := 0
	for {
		b := skipBlob(s[i:])
		if b == 0 {
			break
		}
		i += b
	}
	j := i
	switch {
	case hasPrefixFold(s[j:], "re"):
		j += 2
	case hasPrefixFold(s[j:], "fwd"):
		j += 3
	case hasPrefixFold(s[j:], "fw"):
		j += 2
	default:
		return s
	}
	for j < len(s) && s[j] == ' ' {
		j++
	}
	j += skipBlob(s[j:])
	if j < len(s) && s[j] == ':' {
		return s[j+1:]
	}
	return s
}

// skipBlob returns the length of the subj-blob ("[" *BLOBCHAR "]" *WSP)
// at the start of s, or 0.
func skipBlob(s string) int {
	if len(s) == 0 || s[0] != '[' {
		return 0
	}
	end := strings.IndexAny(s[1:], "[]")
	if end < 0 || s[1+end] != ']' {
		return 0
	}
	n := end + 2
	for n < len(s) && s[n] == ' ' {
		n++
	}
	return n
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}
