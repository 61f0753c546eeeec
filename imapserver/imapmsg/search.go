package imapmsg

import (
	"net/mail"
	"strings"
	"time"

	"github.com/mailroom/mailroom/message"
	"github.com/mailroom/mailroom/store"
)

// Match reports whether m satisfies k (RFC 9051 §6.4.4). Message bytes and
// the part tree are loaded through m only when a key needs them (see
// NeedsBody and NeedsPart), and at most once per call; an error loading them
// is returned. Substring keys compare with Unicode case folding against
// RFC 2047-decoded header values and CTE- and charset-decoded body text.
func Match(k Key, m Message, env MatchEnv) (bool, error) {
	mt := matcher{m: m, env: &env}
	return mt.match(&k)
}

// Matcher is Match for the messages of one search: the key and the
// environment are taken once, and a key that reads metadata alone (flags,
// sizes, dates, numbers) matches each message without setting up a
// per-message cache (SEARCH UNSEEN spent a sixth of its CPU doing so).
type Matcher struct {
	key      Key
	env      MatchEnv
	metaOnly bool
	mt       matcher
}

// NewMatcher returns a Matcher of k in env.
func NewMatcher(k Key, env MatchEnv) *Matcher {
	x := &Matcher{key: k, env: env, metaOnly: !NeedsBody(k) && !NeedsHeader(k)}
	x.mt.env = &x.env
	return x
}

// Match reports whether m satisfies the key, as Match does. Not safe for
// concurrent use.
func (x *Matcher) Match(m Message) (bool, error) {
	if x.metaOnly {
		x.mt.m = m // nothing else of mt is read or set
	} else {
		x.mt = matcher{m: m, env: &x.env}
	}
	return x.mt.match(&x.key)
}

// matcher evaluates one message, caching what it loads.
type matcher struct {
	m        Message
	env      *MatchEnv
	raw      []byte
	part     *message.Part
	header   []byte // the root header, once loaded
	top      *message.Part
	body     *string // folded TextForSearch, once computed
	hdrText  *string // folded HeaderText, once computed
	haveRaw  bool
	havePart bool
}

func (mt *matcher) loadPart() (*message.Part, error) {
	if !mt.havePart {
		p, err := mt.m.Part()
		if err != nil {
			return nil, err
		}
		if p == nil {
			p = &message.Part{MediaType: "text", MediaSubtype: "plain"}
		}
		mt.part, mt.havePart = p, true
	}
	return mt.part, nil
}

// loadHeader loads the root header: from the whole message when that is
// loaded, else through Head, which may read the header alone.
func (mt *matcher) loadHeader() ([]byte, error) {
	if mt.header != nil {
		return mt.header, nil
	}
	head, err := mt.m.Head()
	if err != nil {
		return nil, err
	}
	mt.header = head[:message.BodyStart(head)]
	if mt.header == nil {
		mt.header = []byte{} // loaded, empty
	}
	return mt.header, nil
}

func (mt *matcher) loadTop() (*message.Part, error) {
	if mt.top == nil {
		top, err := mt.m.Top()
		if err != nil {
			return nil, err
		}
		mt.top = top
	}
	return mt.top, nil
}

func (mt *matcher) loadRaw() ([]byte, *message.Part, error) {
	p, err := mt.loadPart()
	if err != nil {
		return nil, nil, err
	}
	if !mt.haveRaw {
		raw, err := mt.m.Raw()
		if err != nil {
			return nil, nil, err
		}
		mt.raw, mt.haveRaw = raw, true
		if mt.header == nil {
			mt.header = p.Header(raw)
		}
	}
	return mt.raw, p, nil
}

func (mt *matcher) recent(uid uint32) bool { return mt.env.Recent != nil && mt.env.Recent(uid) }

func (mt *matcher) match(k *Key) (bool, error) {
	meta := mt.m.Meta()
	switch k.Op {
	case KeyAll:
		return true, nil
	case KeyOld, KeyUnrecent:
		return !mt.recent(meta.UID), nil
	case KeyRecent:
		return mt.recent(meta.UID), nil
	case KeyNew:
		return mt.recent(meta.UID) && !meta.HasFlag(store.FlagSeen), nil
	case KeyAnswered:
		return meta.HasFlag(store.FlagAnswered), nil
	case KeyDeleted:
		return meta.HasFlag(store.FlagDeleted), nil
	case KeyDraft:
		return meta.HasFlag(store.FlagDraft), nil
	case KeyFlagged:
		return meta.HasFlag(store.FlagFlagged), nil
	case KeySeen:
		return meta.HasFlag(store.FlagSeen), nil
	case KeyUnanswered:
		return !meta.HasFlag(store.FlagAnswered), nil
	case KeyUndeleted:
		return !meta.HasFlag(store.FlagDeleted), nil
	case KeyUndraft:
		return !meta.HasFlag(store.FlagDraft), nil
	case KeyUnflagged:
		return !meta.HasFlag(store.FlagFlagged), nil
	case KeyUnseen:
		return !meta.HasFlag(store.FlagSeen), nil
	case KeyKeyword:
		return meta.HasFlag(k.Value), nil
	case KeyUnkeyword:
		return !meta.HasFlag(k.Value), nil

	case KeyBcc:
		return mt.addressHeader("Bcc", k.Value)
	case KeyCc:
		return mt.addressHeader("Cc", k.Value)
	case KeyFrom:
		return mt.addressHeader("From", k.Value)
	case KeyTo:
		return mt.addressHeader("To", k.Value)
	case KeySubject:
		return mt.header1("Subject", k.Value)
	case KeyHeader:
		return mt.header1(k.Field, k.Value)
	case KeyBody:
		return mt.bodyContains(k.Value)
	case KeyText:
		return mt.textContains(k.Value)

	case KeyBefore, KeyOn, KeySince:
		loc := mt.env.Location
		if loc == nil {
			loc = time.UTC
		}
		return compareDate(k.Op, civil(meta.InternalDate.In(loc)), civil(k.Date)), nil
	case KeySavedBefore, KeySavedOn, KeySavedSince:
		loc := mt.env.Location
		if loc == nil {
			loc = time.UTC
		}
		saved := meta.InternalDate
		if sd, ok := mt.m.(SaveDater); ok {
			t, err := sd.SaveDate()
			if err != nil {
				return false, err
			}
			saved = t
		}
		return compareDate(k.Op, civil(saved.In(loc)), civil(k.Date)), nil
	case KeySaveDateSupported:
		return true, nil
	case KeySentBefore, KeySentOn, KeySentSince:
		p, err := mt.loadTop()
		if err != nil {
			return false, err
		}
		if p.Envelope == nil || p.Envelope.Date == "" {
			return false, nil
		}
		sent, err := mail.ParseDate(p.Envelope.Date)
		if err != nil {
			return false, nil // an unreadable Date: matches no date
		}
		// The date as written, disregarding time and zone (RFC 9051 §6.4.4).
		return compareDate(k.Op, civil(sent), civil(k.Date)), nil

	case KeyLarger:
		return meta.Size >= 0 && uint64(meta.Size) > k.Number, nil
	case KeySmaller:
		return meta.Size >= 0 && uint64(meta.Size) < k.Number, nil
	case KeyYounger, KeyOlder:
		// RFC 5032 §3: YOUNGER n matches an INTERNALDATE at most n
		// seconds before now, OLDER n one more than n seconds before.
		age := mt.env.Now.Sub(meta.InternalDate)
		within := age <= time.Duration(min(k.Number, 1<<33))*time.Second
		return within == (k.Op == KeyYounger), nil

	case KeySeqSet:
		if k.Set.Saved {
			return mt.env.Saved.Contains(meta.UID, mt.env.MaxUID), nil
		}
		return k.Set.Contains(mt.m.SeqNum(), mt.env.MaxSeq), nil
	case KeyUID:
		if k.Set.Saved {
			return mt.env.Saved.Contains(meta.UID, mt.env.MaxUID), nil
		}
		return k.Set.Contains(meta.UID, mt.env.MaxUID), nil
	case KeyModSeq:
		return meta.ModSeq >= k.Number, nil

	case KeyAnd:
		return mt.all(k.Children)
	case KeyOr:
		return mt.any(k.Children)
	case KeyNot:
		ok, err := mt.all(k.Children)
		return !ok, err
	}
	return false, nil
}

// all reports whether every key matches, trying the keys that need no
// message bytes first so that a flag mismatch avoids loading them.
func (mt *matcher) all(keys []Key) (bool, error) {
	for _, cheap := range []bool{true, false} {
		for i := range keys {
			if NeedsPart(keys[i]) == cheap {
				continue
			}
			if ok, err := mt.match(&keys[i]); err != nil || !ok {
				return false, err
			}
		}
	}
	return true, nil
}

// any reports whether some key matches, cheap keys first.
func (mt *matcher) any(keys []Key) (bool, error) {
	for _, cheap := range []bool{true, false} {
		for i := range keys {
			if NeedsPart(keys[i]) == cheap {
				continue
			}
			if ok, err := mt.match(&keys[i]); err != nil || ok {
				return ok, err
			}
		}
	}
	return false, nil
}

// header1 reports whether a field named name has a decoded value
// containing value (case-folded). An empty value matches any message that
// has the field (RFC 9051 §6.4.4 HEADER).
func (mt *matcher) header1(name, value string) (bool, error) {
	if _, err := mt.loadHeader(); err != nil {
		return false, err
	}
	vs := message.HeaderValues(mt.header, name)
	if value == "" {
		return len(vs) > 0, nil
	}
	needle := message.Fold(value)
	for _, v := range vs {
		if strings.Contains(message.Fold(message.DecodeHeader(v)), needle) {
			return true, nil
		}
	}
	return false, nil
}

// addressHeader matches an address field (FROM, TO, CC, BCC) as Dovecot
// does: against its decoded text, and against each address as ENVELOPE
// parses it, written "Display Name <mailbox@host>" with comments, quoting
// and folding whitespace removed. So SEARCH FROM user@domain.org finds
// "From: <user (comment)@ (comment) domain.org>".
func (mt *matcher) addressHeader(name, value string) (bool, error) {
	if ok, err := mt.header1(name, value); ok || err != nil || value == "" {
		return ok, err
	}
	needle := message.Fold(value)
	for _, v := range message.HeaderValues(mt.header, name) {
		for _, a := range message.ParseAddressList(v) {
			if a.GroupEnd {
				continue
			}
			var sb strings.Builder
			if a.Name != "" {
				sb.WriteString(message.DecodeHeader(a.Name))
				sb.WriteString(" <")
			}
			sb.WriteString(a.Mailbox)
			if !a.GroupStart {
				sb.WriteByte('@')
				sb.WriteString(a.Host)
			}
			if a.Name != "" {
				sb.WriteByte('>')
			}
			if strings.Contains(message.Fold(sb.String()), needle) {
				return true, nil
			}
		}
	}
	return false, nil
}

func (mt *matcher) bodyText() (string, error) {
	if mt.body == nil {
		raw, p, err := mt.loadRaw()
		if err != nil {
			return "", err
		}
		s := message.Fold(p.TextForSearch(raw))
		mt.body = &s
	}
	return *mt.body, nil
}

func (mt *matcher) bodyContains(value string) (bool, error) {
	body, err := mt.bodyText()
	if err != nil {
		return false, err
	}
	return strings.Contains(body, message.Fold(value)), nil
}

// textContains matches SEARCH TEXT: the header or the body.
func (mt *matcher) textContains(value string) (bool, error) {
	raw, p, err := mt.loadRaw()
	if err != nil {
		return false, err
	}
	if mt.hdrText == nil {
		s := message.Fold(p.HeaderText(raw))
		mt.hdrText = &s
	}
	needle := message.Fold(value)
	if strings.Contains(*mt.hdrText, needle) {
		return true, nil
	}
	body, err := mt.bodyText()
	if err != nil {
		return false, err
	}
	return strings.Contains(body, needle), nil
}

// civil returns t's calendar date as yyyymmdd, in t's own zone.
func civil(t time.Time) int {
	y, m, d := t.Date()
	return y*10000 + int(m)*100 + d
}

func compareDate(op Op, have, want int) bool {
	switch op {
	case KeyBefore, KeySentBefore, KeySavedBefore:
		return have < want
	case KeyOn, KeySentOn, KeySavedOn:
		return have == want
	default: // KeySince, KeySentSince
		return have >= want
	}
}

// NeedsSaveDate reports whether evaluating k asks for save dates
// (SAVEDBEFORE, SAVEDON, SAVEDSINCE), which a caller can then load for a
// batch of messages at once.
func NeedsSaveDate(k Key) bool {
	switch k.Op {
	case KeySavedBefore, KeySavedOn, KeySavedSince:
		return true
	case KeyAnd, KeyOr, KeyNot:
		for _, c := range k.Children {
			if NeedsSaveDate(c) {
				return true
			}
		}
	}
	return false
}

// NeedsBody reports whether evaluating k reads the whole message (Raw and
// Part): BODY and TEXT. A caller can skip loading bytes for flag-, size-
// and date-only searches, and bodies for header searches (NeedsHeader).
func NeedsBody(k Key) bool {
	switch k.Op {
	case KeyBody, KeyText:
		return true
	case KeyAnd, KeyOr, KeyNot:
		for _, c := range k.Children {
			if NeedsBody(c) {
				return true
			}
		}
	}
	return false
}

// NeedsHeader reports whether evaluating k reads the top-level header
// (Head and Top): the header keys and SENTBEFORE, SENTON, SENTSINCE.
func NeedsHeader(k Key) bool {
	switch k.Op {
	case KeyBcc, KeyCc, KeyFrom, KeyTo, KeySubject, KeyHeader,
		KeySentBefore, KeySentOn, KeySentSince:
		return true
	case KeyAnd, KeyOr, KeyNot:
		for _, c := range k.Children {
			if NeedsHeader(c) {
				return true
			}
		}
	}
	return false
}

// NeedsPart reports whether evaluating k reads the parsed part tree
// (Part): the keys that read the whole message.
func NeedsPart(k Key) bool { return NeedsBody(k) }

// UsesModSeq reports whether k contains a MODSEQ key, in which case the
// SEARCH response must end with (MODSEQ n), n being the highest modseq of
// the matching messages (RFC 7162 §3.1.5).
func UsesModSeq(k Key) bool {
	if k.Op == KeyModSeq {
		return true
	}
	for _, c := range k.Children {
		if UsesModSeq(c) {
			return true
		}
	}
	return false
}
