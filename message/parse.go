package message

import (
	"bytes"
	"strings"
)

// Limits beyond which Parse stops descending: deeper multiparts and
// embedded messages become opaque leaves of type application/octet-stream.
const (
	MaxDepth = 50    // nesting of multiparts and embedded messages
	MaxParts = 10000 // parts in one message, embedded messages included
)

type parser struct {
	raw   []byte
	parts int
}

// Parse parses raw (CRLF or LF line endings) into its MIME part tree. It
// never fails: malformed header fields are skipped, an entity whose first
// line is not a header field has an empty header and all of it is body, an unusable Content-Type
// is read as the RFC 2045 default, a multipart without a boundary or without
// any part becomes text/plain, and an unterminated multipart ends at the end
// of its enclosing body.
//
// The tree keeps two invariants consumers may rely on: MediaType is
// "multipart" exactly when Parts is non-empty, and a "message"/"rfc822" or
// "message"/"global" part always has Message set. Parts that cannot satisfy
// them (limits reached, message/rfc822 in base64 or quoted-printable) are
// given the type application/octet-stream, keeping their parameters.
func Parse(raw []byte) *Part {
	ps := &parser{raw: raw}
	return ps.entity(0, len(raw), 0, false, true)
}

// entity parses the header and body in raw[start:end].
func (ps *parser) entity(start, end, depth int, digest, isMessage bool) *Part {
	ps.parts++
	bs := start
	if startsWithField(ps.raw[start:end]) {
		bs = headerEnd(ps.raw, start, end)
	} else if ce, next := nextLine(ps.raw, start, end); ce == start && next > start {
		bs = next // empty header: the entity starts with the blank line
	}
	p := &Part{HeaderStart: int64(start), BodyStart: int64(bs), BodyEnd: int64(end)}
	fs := scanFields(ps.raw[start:bs])
	p.applyHeader(fs, digest)
	if isMessage {
		p.Envelope = parseEnvelope(fs)
	}

	switch {
	case p.MediaType == "multipart":
		if depth >= MaxDepth || ps.parts >= MaxParts {
			p.opaque()
			break
		}
		ps.multipart(p, depth)
		if len(p.Parts) == 0 {
			p.MediaType, p.MediaSubtype = "text", "plain"
		}
	case p.isMessageType():
		enc := strings.ToLower(p.Encoding)
		if depth >= MaxDepth || ps.parts >= MaxParts || enc == "base64" || enc == "quoted-printable" {
			p.opaque()
			break
		}
		p.Message = ps.entity(bs, end, depth+1, false, true)
	}
	if p.MediaType == "text" || p.isMessageType() {
		p.BodyLines = countLines(ps.raw[bs:end])
	}
	return p
}

func (p *Part) isMessageType() bool {
	return p.MediaType == "message" && (p.MediaSubtype == "rfc822" || p.MediaSubtype == "global")
}

func (p *Part) opaque() {
	p.MediaType, p.MediaSubtype = "application", "octet-stream"
}

// multipart splits the body of p on its boundary (RFC 2046 §5.1.1): the
// preamble and epilogue are dropped, and each part ends before the line
// ending that precedes the next delimiter line.
func (ps *parser) multipart(p *Part, depth int) {
	boundary := p.Param("boundary")
	if boundary == "" {
		return
	}
	raw := ps.raw
	dash := []byte("--" + boundary)
	start, end := int(p.BodyStart), int(p.BodyEnd)
	digest := p.MediaSubtype == "digest"
	partStart := -1
	add := func(s, e int) bool {
		if ps.parts >= MaxParts {
			return false
		}
		p.Parts = append(p.Parts, ps.entity(s, e, depth+1, digest, false))
		return true
	}
	for i := start; i < end; {
		k := bytes.Index(raw[i:end], dash)
		if k < 0 {
			break
		}
		pos := i + k
		if pos != start && raw[pos-1] != '\n' {
			i = pos + 1
			continue
		}
		after := pos + len(dash)
		closing := bytes.HasPrefix(raw[after:end], []byte("--"))
		if closing {
			after += 2
		}
		ce, next := nextLine(raw, after, end)
		if !isLWSP(raw[after:ce]) {
			i = pos + 1
			continue
		}
		if partStart >= 0 {
			e := pos
			if e > partStart && raw[e-1] == '\n' {
				e--
				if e > partStart && raw[e-1] == '\r' {
					e--
				}
			}
			if !add(partStart, e) {
				return
			}
		}
		partStart = next
		if closing {
			return
		}
		i = next
	}
	if partStart >= 0 {
		add(partStart, end)
	}
}

func isLWSP(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\r' {
			return false
		}
	}
	return true
}

// countLines counts the lines of b: its line feeds, plus one for a last
// line without a line ending.
func countLines(b []byte) int64 {
	n := int64(bytes.Count(b, []byte{'\n'}))
	if len(b) > 0 && b[len(b)-1] != '\n' {
		n++
	}
	return n
}

// applyHeader sets the MIME fields of p from its header fields. Without a
// usable Content-Type, the type is text/plain; charset=us-ascii (RFC 2045
// §5.2), or message/rfc822 inside a multipart/digest (RFC 2046 §5.1.5).
func (p *Part) applyHeader(fs []field, digest bool) {
	ct, _ := firstValue(fs, "Content-Type")
	mt, params, ok := parseParamHeader(ct)
	typ, sub, slash := strings.Cut(mt, "/")
	if !ok || !slash || !isToken(typ) || !isToken(sub) {
		if digest {
			typ, sub, params = "message", "rfc822", nil
		} else {
			typ, sub, params = "text", "plain", []Param{{Name: "charset", Value: "us-ascii"}}
		}
	}
	p.MediaType, p.MediaSubtype, p.Params = typ, sub, params

	if v, ok := firstValue(fs, "Content-Disposition"); ok {
		if d, dp, ok := parseParamHeader(v); ok && isToken(d) {
			p.Disposition, p.DispositionParams = d, dp
		}
	}
	p.ContentID, _ = firstValue(fs, "Content-ID")
	p.Description, _ = firstValue(fs, "Content-Description")
	p.Encoding, _ = firstValue(fs, "Content-Transfer-Encoding")
	p.Location, _ = firstValue(fs, "Content-Location")
	p.MD5, _ = firstValue(fs, "Content-MD5")
	if v, ok := firstValue(fs, "Content-Language"); ok {
		for _, l := range strings.Split(v, ",") {
			if l = strings.TrimSpace(l); l != "" {
				p.Language = append(p.Language, l)
			}
		}
	}
}

// Param returns the value of the Content-Type parameter name
// (case-insensitive), or "".
func (p *Part) Param(name string) string {
	return paramValue(p.Params, name)
}

// DispositionParam returns the value of the Content-Disposition parameter
// name (case-insensitive), or "".
func (p *Part) DispositionParam(name string) string {
	return paramValue(p.DispositionParams, name)
}

func paramValue(ps []Param, name string) string {
	for _, x := range ps {
		if strings.EqualFold(x.Name, name) {
			return x.Value
		}
	}
	return ""
}

// ContentType returns "type/subtype", lower-case.
func (p *Part) ContentType() string {
	return p.MediaType + "/" + p.MediaSubtype
}

// startsWithField reports whether b begins with a header field line
// ("name:" with a valid name).
func startsWithField(b []byte) bool {
	ce, _ := nextLine(b, 0, len(b))
	colon := bytes.IndexByte(b[:ce], ':')
	return colon > 0 && validFieldName(strings.TrimRight(string(b[:colon]), " \t"))
}
