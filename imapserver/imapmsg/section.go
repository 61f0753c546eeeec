package imapmsg

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/mailroom/mailroom/message"
)

// ParseSection parses a section spec (RFC 9051 §6.4.5 "section-spec") as
// captured between "[" and "]", optionally followed by "]" and a partial
// "<offset.count>"; a leading "[" is also accepted. Examples:
//
//	""  "TEXT"  "1.2"  "2.MIME"  "1.2.HEADER.FIELDS (From Subject)"
//	"[HEADER]<0.100>"  "1.TEXT]<10.20>"
//
// Specifier keywords are case-insensitive and returned upper-case; field
// names (atoms, quoted strings or literals) are returned as given.
func ParseSection(s string) (Section, error) {
	p := sectionParser{s: s}
	sec, err := p.parse()
	if err != nil {
		return Section{}, fmt.Errorf("%w: section %q: %v", ErrSyntax, s, err)
	}
	return sec, nil
}

type sectionParser struct {
	s string
	i int
}

func (p *sectionParser) peek() byte {
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

func (p *sectionParser) parse() (Section, error) {
	var sec Section
	bracket := p.peek() == '['
	if bracket {
		p.i++
	}
	for isDigit(p.peek()) {
		n, err := p.number(true)
		if err != nil {
			return sec, err
		}
		if n > 1<<30 {
			return sec, errors.New("part number too large")
		}
		sec.Part = append(sec.Part, int(n))
		if p.peek() != '.' {
			break
		}
		p.i++
		if !isDigit(p.peek()) {
			if p.peek() == ']' || p.peek() == '<' || p.i == len(p.s) {
				return sec, errors.New("dot without section text")
			}
			break
		}
	}
	if c := p.peek(); c != 0 && c != ']' && c != '<' {
		if err := p.text(&sec); err != nil {
			return sec, err
		}
	}
	if p.peek() == ']' {
		p.i++
	} else if bracket {
		return sec, errors.New("missing ]")
	}
	if p.peek() == '<' {
		p.i++
		off, err := p.number(false)
		if err != nil {
			return sec, err
		}
		if p.peek() != '.' {
			return sec, errors.New("partial without count")
		}
		p.i++
		count, err := p.number(true)
		if err != nil {
			return sec, err
		}
		if p.peek() != '>' {
			return sec, errors.New("missing >")
		}
		p.i++
		sec.Partial = &Partial{Offset: off, Count: count}
	}
	if p.i != len(p.s) {
		return sec, fmt.Errorf("unexpected %q", p.s[p.i:])
	}
	return sec, nil
}

// text parses section-msgtext or "MIME".
func (p *sectionParser) text(sec *Section) error {
	rest := p.s[p.i:]
	for _, spec := range []string{SpecHeaderFieldsNot, SpecHeaderFields, SpecHeader, SpecText, SpecMIME} {
		if len(rest) >= len(spec) && strings.EqualFold(rest[:len(spec)], spec) {
			sec.Specifier = spec
			p.i += len(spec)
			break
		}
	}
	switch sec.Specifier {
	case "":
		return fmt.Errorf("unknown section text %q", rest)
	case SpecMIME:
		if len(sec.Part) == 0 {
			return errors.New("MIME needs a part number")
		}
	case SpecHeaderFields, SpecHeaderFieldsNot:
		return p.fieldList(sec)
	}
	return nil
}

// fieldList parses SP "(" header-fld-name *(SP header-fld-name) ")".
func (p *sectionParser) fieldList(sec *Section) error {
	if !strings.HasPrefix(p.s[p.i:], " (") {
		return errors.New("expected header list")
	}
	p.i += 2
	for {
		f, err := p.astring()
		if err != nil {
			return err
		}
		if !validFieldName(f) {
			// No header can have such a name (RFC 5322 §3.6.8): a NUL
			// or line break sent in a literal is a client error, and
			// could not be echoed in the FETCH response's quoted string.
			return fmt.Errorf("invalid header field name %q", f)
		}
		sec.Fields = append(sec.Fields, f)
		switch p.peek() {
		case ' ':
			p.i++
		case ')':
			p.i++
			return nil
		default:
			return errors.New("bad header list")
		}
	}
}

// astring parses an atom (ASTRING-CHARs other than "]"), a quoted string
// or a literal.
func (p *sectionParser) astring() (string, error) {
	switch p.peek() {
	case '"':
		var sb strings.Builder
		for p.i++; p.i < len(p.s); p.i++ {
			c := p.s[p.i]
			switch {
			case c == '"':
				p.i++
				return sb.String(), nil
			case c == '\\' && p.i+1 < len(p.s) && (p.s[p.i+1] == '"' || p.s[p.i+1] == '\\'):
				p.i++
				sb.WriteByte(p.s[p.i])
			case c == '\\' || c == '\r' || c == '\n' || c == 0:
				return "", errors.New("bad quoted string")
			default:
				sb.WriteByte(c)
			}
		}
		return "", errors.New("unterminated quoted string")
	case '{':
		p.i++
		n, err := p.number(false)
		if err != nil {
			return "", err
		}
		if p.peek() == '+' {
			p.i++
		}
		if !strings.HasPrefix(p.s[p.i:], "}\r\n") {
			return "", errors.New("bad literal")
		}
		p.i += 3
		if uint64(len(p.s)-p.i) < uint64(n) {
			return "", errors.New("short literal")
		}
		f := p.s[p.i : p.i+int(n)]
		p.i += int(n)
		return f, nil
	}
	start := p.i
	for p.i < len(p.s) && isAtomChar(p.s[p.i]) {
		p.i++
	}
	if p.i == start {
		return "", errors.New("empty header field name")
	}
	return p.s[start:p.i], nil
}

// number parses a uint32 (nz-number when nz is set).
func (p *sectionParser) number(nz bool) (uint32, error) {
	start := p.i
	for isDigit(p.peek()) {
		p.i++
	}
	n, err := strconv.ParseUint(p.s[start:p.i], 10, 32)
	if err != nil || (nz && n == 0) {
		return 0, fmt.Errorf("bad number %q", p.s[start:p.i])
	}
	return uint32(n), nil
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// isAtomChar reports whether c is an ATOM-CHAR (RFC 9051 §9).
func isAtomChar(c byte) bool {
	if c <= ' ' || c >= 0x7f {
		return false
	}
	switch c {
	case '(', ')', '{', '%', '*', '"', '\\', ']':
		return false
	}
	return true
}

// String returns the section as echoed inside the brackets of a FETCH
// response: "1.2.HEADER.FIELDS (SUBJECT FROM)". Field names are upper-cased,
// as Dovecot echoes them; the partial is not included (see ResponseName).
func (s Section) String() string {
	var b []byte
	for i, n := range s.Part {
		if i > 0 {
			b = append(b, '.')
		}
		b = strconv.AppendInt(b, int64(n), 10)
	}
	if s.Specifier != "" {
		if len(s.Part) > 0 {
			b = append(b, '.')
		}
		b = append(b, s.Specifier...)
	}
	if s.Specifier == SpecHeaderFields || s.Specifier == SpecHeaderFieldsNot {
		b = append(b, " ("...)
		for i, f := range s.Fields {
			if i > 0 {
				b = append(b, ' ')
			}
			b = appendAString(b, upperASCII(f))
		}
		b = append(b, ')')
	}
	return string(b)
}

// appendAString appends s as an atom when it can be one, else as a string.
func appendAString(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if !isAtomChar(s[i]) {
			return AppendString(dst, s)
		}
	}
	if s == "" || strings.EqualFold(s, "NIL") {
		return AppendString(dst, s)
	}
	return append(dst, s...)
}

// ResponseName returns the FETCH response item for a fetch of s with item
// "BODY" or "BINARY": "BODY[1.TEXT]", or with a partial "BODY[1.TEXT]<10>"
// (RFC 9051 §7.5.2: only the origin octet is echoed).
func (s Section) ResponseName(item string) string {
	name := item + "[" + s.String() + "]"
	if s.Partial != nil {
		name += "<" + strconv.FormatUint(uint64(s.Partial.Offset), 10) + ">"
	}
	return name
}

// ApplyPartial returns the <offset.count> substring of b: empty when offset
// is past the end, shortened when count runs past it. A nil p returns b.
func ApplyPartial(b []byte, p *Partial) []byte {
	if p == nil {
		return b
	}
	if uint64(p.Offset) >= uint64(len(b)) {
		return b[:0]
	}
	b = b[p.Offset:]
	if uint64(p.Count) < uint64(len(b)) {
		b = b[:p.Count]
	}
	return b
}

// SectionBytes returns the bytes of BODY[s] (RFC 9051 §6.4.5), before the
// partial is applied (see ApplyPartial). raw is the whole message and root
// its parsed tree. HEADER, HEADER.FIELDS(.NOT) and TEXT after part numbers
// need a MESSAGE/RFC822 part and refer to its embedded message. A part that
// does not exist gives ErrNoSuchPart; most servers answer it with an empty
// string.
//
// The root's header sections (HEADER, HEADER.FIELDS(.NOT) without part
// numbers) need no tree: with root nil they are cut from the top-level
// header that raw starts with (raw may be that header alone), which is
// what FETCH of header fields does rather than parse the header.
func SectionBytes(raw []byte, root *message.Part, s Section) ([]byte, error) {
	if root == nil {
		if !s.RootHeader() {
			return nil, ErrNoSuchPart
		}
		return headerSection(raw[:message.BodyStart(raw)], s), nil
	}
	target, err := root.Find(s.Part)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoSuchPart, s.Part)
	}
	switch s.Specifier {
	case "":
		if len(s.Part) == 0 {
			return root.Whole(raw), nil
		}
		return target.Body(raw), nil
	case SpecMIME:
		return target.Header(raw), nil
	}
	msg := root
	if len(s.Part) > 0 {
		if msg = target.Message; msg == nil {
			return nil, fmt.Errorf("%w: %v is not a message/rfc822 part", ErrNoSuchPart, s.Part)
		}
	}
	switch s.Specifier {
	case SpecHeader, SpecHeaderFields, SpecHeaderFieldsNot:
		return headerSection(msg.Header(raw), s), nil
	case SpecText:
		return msg.Body(raw), nil
	}
	return nil, fmt.Errorf("%w: unknown section specifier %q", ErrSyntax, s.Specifier)
}

// RootHeader reports whether s is HEADER, HEADER.FIELDS or
// HEADER.FIELDS.NOT of the message itself (no part numbers): bytes of its
// top-level header only.
func (s Section) RootHeader() bool {
	switch s.Specifier {
	case SpecHeader, SpecHeaderFields, SpecHeaderFieldsNot:
		return len(s.Part) == 0
	}
	return false
}

// headerSection returns the bytes of the header section s (HEADER,
// HEADER.FIELDS or HEADER.FIELDS.NOT) of a message whose header is hdr.
func headerSection(hdr []byte, s Section) []byte {
	if s.Specifier == SpecHeader {
		return hdr
	}
	return message.HeaderFields(hdr, s.Fields, s.Specifier == SpecHeaderFieldsNot)
}

// BinaryBytes returns the bytes of BINARY[part] (RFC 3516 §4.2): the part's
// body with its Content-Transfer-Encoding undone. An empty part is the whole
// message as stored; multiparts and embedded messages are returned as
// stored. An encoding the server does not know gives ErrUnknownCTE, which
// the reply reports as NO [UNKNOWN-CTE].
func BinaryBytes(raw []byte, root *message.Part, part []int) ([]byte, error) {
	if root == nil {
		return nil, ErrNoSuchPart
	}
	if len(part) == 0 {
		return root.Whole(raw), nil
	}
	target, err := root.Find(part)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoSuchPart, part)
	}
	body := target.Body(raw)
	if len(target.Parts) > 0 || target.Message != nil {
		return body, nil
	}
	if strings.EqualFold(strings.TrimSpace(target.Encoding), "base64") && !validBase64(body) {
		// RFC 3516 §4.3: content the server cannot decode is
		// [UNKNOWN-CTE]; decoding leniently would hand the client
		// bytes that are not the part's (issue 11, item 16).
		return nil, fmt.Errorf("%w: invalid base64", ErrUnknownCTE)
	}
	dec, err := message.Decode(body, target.Encoding)
	if err != nil {
		return nil, fmt.Errorf("%w: %q", ErrUnknownCTE, target.Encoding)
	}
	return dec, nil
}

// validBase64 reports whether body is base64 (RFC 2045 §6.8) that decodes
// without guessing: alphabet characters and line breaks or other white
// space only, "=" only as padding of a quantum of 2 or 3 characters, and
// no lone character at the end. Concatenated encodings (padding, then more
// quanta) pass, as do unpadded final quanta of 2 or 3 characters.
func validBase64(body []byte) bool {
	n := 0 // characters of the current quantum
	padded := false
	for _, c := range body {
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '+', c == '/':
			if padded {
				n, padded = 0, false
			}
			n = (n + 1) % 4
		case c == '=':
			if !padded && n < 2 {
				return false
			}
			padded = true
		case c == ' ', c == '\t', c == '\r', c == '\n':
		default:
			return false
		}
	}
	return padded || n != 1
}

// BinarySize returns the size of BINARY[part], for BINARY.SIZE[part].
func BinarySize(raw []byte, root *message.Part, part []int) (int64, error) {
	b, err := BinaryBytes(raw, root, part)
	return int64(len(b)), err
}

// validFieldName reports whether f is acceptable as a header-fld-name:
// free of control characters. Names no header can carry (with spaces,
// say) are allowed and match nothing, as in other servers.
func validFieldName(f string) bool {
	for i := 0; i < len(f); i++ {
		if c := f[i]; c < 32 || c == 127 {
			return false
		}
	}
	return true
}
