package imapserver

import (
	"strconv"
	"strings"

	"github.com/mailroom/mailroom/imapserver/imapmsg"
)

type attKind int

const (
	attFlags attKind = iota
	attInternalDate
	attSize
	attEnvelope
	attBody          // BODY (non-extensible BODYSTRUCTURE)
	attBodyStructure //
	attUID
	attModSeq
	attSection // BODY[...] and BODY.PEEK[...]
	attBinary  // BINARY[...] and BINARY.PEEK[...]
	attBinarySize
	attRFC822
	attRFC822Header
	attRFC822Text

	attEmailID  // objectid.go
	attThreadID // objectid.go
	attPreview  // preview.go
	attSaveDate // savedate.go
)

type fetchAtt struct {
	kind    attKind
	section imapmsg.Section
	inner   string // section text as the client wrote it
	peek    bool
	name    string // response item name of a section (BODY[...]<n>, BINARY[...], BINARY.SIZE[...]), made once per command
}

// setsSeen reports whether fetching a sets \Seen (RFC 9051 §6.4.5).
func (a fetchAtt) setsSeen() bool {
	switch a.kind {
	case attSection, attBinary:
		return !a.peek
	case attRFC822, attRFC822Text:
		return !a.peek // peek: NOTIFY's fetch attributes (notify.go)
	}
	return false
}

func (a fetchAtt) needsBody() bool {
	switch a.kind {
	case attSection, attBinary, attBinarySize, attRFC822, attRFC822Header, attRFC822Text:
		return true
	}
	return false
}

// needsPart reports whether a needs at least the top-level part
// (msgData.Top). RFC822 and BODY[] are the message's bytes as they are:
// no header to parse.
func (a fetchAtt) needsPart() bool {
	if a.kind == attRFC822 || a.wholeMessage() {
		return false
	}
	return a.needsBody() || a.kind == attEnvelope || a.kind == attBody || a.kind == attBodyStructure
}

// wholeMessage reports whether a is BODY[] (or BODY[]<partial>): the
// whole message, whatever its structure.
func (a fetchAtt) wholeMessage() bool {
	return a.kind == attSection && a.section.Specifier == "" && len(a.section.Part) == 0
}

// needsTree reports whether a needs the message's whole MIME tree. The
// root's sections (BODY[], HEADER, HEADER.FIELDS, TEXT, RFC822.*) and
// ENVELOPE need only the top-level header (message.ParseTop).
func (a fetchAtt) needsTree() bool {
	switch a.kind {
	case attBody, attBodyStructure, attBinary, attBinarySize:
		return true
	case attSection:
		return len(a.section.Part) > 0 || a.section.Specifier == imapmsg.SpecMIME
	}
	return false
}

var fetchMacros = map[string][]attKind{
	"ALL":  {attFlags, attInternalDate, attSize, attEnvelope},
	"FAST": {attFlags, attInternalDate, attSize},
	"FULL": {attFlags, attInternalDate, attSize, attEnvelope, attBody},
}

var simpleAtts = map[string]attKind{
	"FLAGS": attFlags, "INTERNALDATE": attInternalDate, "RFC822.SIZE": attSize,
	"ENVELOPE": attEnvelope, "BODY": attBody, "BODYSTRUCTURE": attBodyStructure,
	"UID": attUID, "MODSEQ": attModSeq, "RFC822": attRFC822,
	"RFC822.HEADER": attRFC822Header, "RFC822.TEXT": attRFC822Text,

	"EMAILID": attEmailID, "THREADID": attThreadID,
	"SAVEDATE": attSaveDate,
}

// fetchAtts reads the items of FETCH: a macro, one item or a list.
func (c *conn) fetchAtts() ([]fetchAtt, error) {
	if c.dec.PeekIs('(') {
		var atts []fetchAtt
		err := c.dec.List(func() error {
			a, err := c.fetchAtt()
			atts = append(atts, a)
			return err
		})
		return atts, err
	}
	name, err := c.dec.AtomFunc("fetch item", isFetchNameChar)
	if err != nil {
		return nil, err
	}
	if kinds, ok := fetchMacros[strings.ToUpper(name)]; ok {
		atts := make([]fetchAtt, len(kinds))
		for i, k := range kinds {
			atts[i] = fetchAtt{kind: k}
		}
		return atts, nil
	}
	a, err := c.fetchAttNamed(name)
	return []fetchAtt{a}, err
}

func isFetchNameChar(b byte) bool { return b != '[' && b != '<' && isFlagChar(b) && b != '\\' }

func (c *conn) fetchAtt() (fetchAtt, error) {
	name, err := c.dec.AtomFunc("fetch item", isFetchNameChar)
	if err != nil {
		return fetchAtt{}, err
	}
	return c.fetchAttNamed(name)
}

func (c *conn) fetchAttNamed(name string) (fetchAtt, error) {
	up := strings.ToUpper(name)
	if up == "PREVIEW" {
		return fetchAtt{kind: attPreview}, c.previewModifiers()
	}
	if k, ok := simpleAtts[up]; ok && !c.dec.PeekIs('[') {
		if k == attModSeq {
			c.condstore = true
		}
		return fetchAtt{kind: k}, nil
	}
	var a fetchAtt
	switch up {
	case "BODY":
		a.kind = attSection
	case "BODY.PEEK":
		a.kind, a.peek = attSection, true
	case "BINARY":
		a.kind = attBinary
	case "BINARY.PEEK":
		a.kind, a.peek = attBinary, true
	case "BINARY.SIZE":
		a.kind = attBinarySize
	default:
		return a, badf("", "unknown fetch item %s", sanitize(name))
	}
	if err := c.dec.Expect('['); err != nil {
		return a, err
	}
	if !c.dec.PeekIs(']') {
		inner, err := c.dec.AtomFunc("section", func(b byte) bool { return b != ']' && b != '\r' && b != '\n' })
		if err != nil {
			return a, err
		}
		a.inner = inner
	}
	if err := c.dec.Expect(']'); err != nil {
		return a, err
	}
	sec, err := imapmsg.ParseSection(a.inner)
	if err != nil {
		return a, badf("", "invalid section")
	}
	if a.kind != attSection && sec.Specifier != "" {
		return a, badf("", "BINARY takes part numbers only")
	}
	if c.dec.PeekIs('<') && a.kind != attBinarySize {
		p, err := c.dec.AtomFunc("partial", func(b byte) bool { return b != '>' && b != '\r' && b != '\n' && b != ' ' })
		if err != nil {
			return a, err
		}
		if err := c.dec.Expect('>'); err != nil {
			return a, err
		}
		off, cnt, ok := strings.Cut(p[1:], ".")
		o, err1 := strconv.ParseUint(off, 10, 32)
		n, err2 := strconv.ParseUint(cnt, 10, 32)
		if !ok || err1 != nil || err2 != nil || n == 0 {
			return a, badf("", "invalid partial")
		}
		sec.Partial = &imapmsg.Partial{Offset: uint32(o), Count: uint32(n)}
	}
	a.section = sec
	switch a.kind {
	case attSection:
		a.name = sec.ResponseName("BODY")
	case attBinary:
		a.name = sec.ResponseName("BINARY")
	case attBinarySize:
		a.name = "BINARY.SIZE[" + sec.String() + "]"
	}
	return a, nil
}

type fetchModifiers struct {
	changedSince uint64
	vanished     bool
}

// fetchModifiersArg reads "(CHANGEDSINCE n [VANISHED])" (RFC 7162 §3.1.4,
// §3.2.6).
func (c *conn) fetchModifiersArg(cmd *command) (fetchModifiers, error) {
	var m fetchModifiers
	hasChanged := false
	err := c.dec.List(func() error {
		a, err := c.dec.Atom()
		if err != nil {
			return err
		}
		switch strings.ToUpper(a) {
		case "CHANGEDSINCE":
			if err := c.dec.SP(); err != nil {
				return err
			}
			m.changedSince, err = c.dec.Number64()
			hasChanged = true
			c.condstore = true
			return err
		case "VANISHED":
			if !cmd.uid || !c.qresync {
				return badf(codeClientBug, "VANISHED needs UID FETCH and QRESYNC")
			}
			m.vanished = true
			return nil
		}
		return badf("", "unknown fetch modifier")
	})
	if err == nil && m.vanished && !hasChanged {
		err = badf(codeClientBug, "VANISHED needs CHANGEDSINCE")
	}
	return m, err
}
