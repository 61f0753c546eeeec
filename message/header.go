package message

import (
	"bytes"
	"strings"
)

// field is one header field as it appears in a header section.
type field struct {
	name  string // as written, without trailing whitespace
	raw   []byte // the whole field, continuation lines and final line ending included
	value string // unfolded and trimmed, otherwise as written
}

// nextLine returns the end of the line content starting at i (line ending
// excluded) and the start of the next line, looking no further than end.
func nextLine(b []byte, i, end int) (contentEnd, next int) {
	k := bytes.IndexByte(b[i:end], '\n')
	if k < 0 {
		return end, end
	}
	next = i + k + 1
	contentEnd = i + k
	if contentEnd > i && b[contentEnd-1] == '\r' {
		contentEnd--
	}
	return contentEnd, next
}

// headerEnd returns the offset just past the blank line that ends the header
// starting at start, or end when there is no blank line before end.
func headerEnd(b []byte, start, end int) int {
	for i := start; i < end; {
		ce, next := nextLine(b, i, end)
		if ce == i || (ce == i+1 && b[i] == '\r' && next == end) {
			return next
		}
		i = next
	}
	return end
}

// validFieldName reports whether s (already stripped of trailing
// whitespace) is an RFC 5322 field name: printable ASCII except colon.
func validFieldName[T string | []byte](s T) bool {
	if len(s) == 0 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f || s[i] == ':' {
			return false
		}
	}
	return true
}

// scanFields splits a header section into fields. Lines that are not a field
// (no colon, invalid name, stray continuation lines) are skipped. Scanning
// stops at the blank line.
func scanFields(h []byte) []field {
	var fs []field
	eachField(h, func(name, raw []byte, colon int) {
		fs = append(fs, field{name: string(name), raw: raw, value: unfold(raw[colon+1:])})
	})
	return fs
}

// eachField calls fn with each field of the header section h, in order,
// as scanFields finds them: its name as written without trailing
// whitespace, the whole field (continuation lines and final line ending
// included) and the offset of its colon in raw. It allocates nothing, for
// callers that need neither the names as strings nor unfolded values
// (HeaderFields).
func eachField(h []byte, fn func(name, raw []byte, colon int)) {
	for i := 0; i < len(h); {
		ce, next := nextLine(h, i, len(h))
		if ce == i {
			break // blank line: end of header
		}
		start := i
		// Gather continuation lines.
		for next < len(h) && (h[next] == ' ' || h[next] == '\t') {
			_, next = nextLine(h, next, len(h))
		}
		i = next
		line := h[start:next]
		if line[0] == ' ' || line[0] == '\t' {
			continue // continuation without a field
		}
		colon := bytes.IndexByte(line, ':')
		if colon < 0 {
			continue
		}
		name := bytes.TrimRight(line[:colon], " \t")
		if !validFieldName(name) {
			continue
		}
		fn(name, line, colon)
	}
}

// unfold removes the line breaks of a folded field value and trims
// surrounding whitespace. Invalid UTF-8 (raw 8-bit bytes in a charset other
// than UTF-8) is replaced by U+FFFD, so that every string in a Part survives
// JSON and can be sent as IMAP text.
func unfold(v []byte) string {
	var sb strings.Builder
	sb.Grow(len(v))
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == '\n' {
			continue
		}
		if c == '\r' && i+1 < len(v) && v[i+1] == '\n' {
			continue
		}
		if c == '\r' && i+1 == len(v) {
			continue
		}
		sb.WriteByte(c)
	}
	return strings.ToValidUTF8(strings.Trim(sb.String(), " \t"), "\uFFFD")
}

// firstValue returns the value of the first field named name
// (case-insensitive) and whether there was one.
func firstValue(fs []field, name string) (string, bool) {
	for _, f := range fs {
		if strings.EqualFold(f.name, name) {
			return f.value, true
		}
	}
	return "", false
}

// HeaderValues returns the unfolded, trimmed values of all fields named name
// (case-insensitive) in header, in order. Values are not decoded; see
// DecodeHeader.
func HeaderValues(header []byte, name string) []string {
	var vs []string
	for _, f := range scanFields(header) {
		if strings.EqualFold(f.name, name) {
			vs = append(vs, f.value)
		}
	}
	return vs
}

// HeaderFields returns the fields of header whose names are in names
// (case-insensitive), or, with not set, the fields whose names are not, for
// IMAP BODY[HEADER.FIELDS (...)] and BODY[HEADER.FIELDS.NOT (...)] (RFC 9051
// §6.4.5). Fields keep their folded continuation lines; line endings are
// written as CRLF and the result ends with the blank line CRLF, as IMAP
// requires even when no field matched.
func HeaderFields(header []byte, names []string, not bool) []byte {
	var out []byte
	eachField(header, func(name, raw []byte, _ int) {
		match := false
		for _, n := range names {
			// Names are short: the conversion takes no allocation.
			if strings.EqualFold(string(name), n) {
				match = true
				break
			}
		}
		if match != not {
			out = appendCRLF(out, raw)
		}
	})
	return append(out, '\r', '\n')
}

// appendCRLF appends b to out with every line ending written as CRLF and a
// final CRLF added when b does not end in a line ending.
func appendCRLF(out, b []byte) []byte {
	// Copy line by line: only a bare LF needs rewriting.
	for len(b) > 0 {
		k := bytes.IndexByte(b, '\n')
		if k < 0 {
			out = append(out, b...)
			break
		}
		if k > 0 && b[k-1] == '\r' {
			out = append(out, b[:k+1]...)
		} else {
			out = append(append(out, b[:k]...), '\r', '\n')
		}
		b = b[k+1:]
	}
	if n := len(out); n < 2 || out[n-2] != '\r' || out[n-1] != '\n' {
		out = append(out, '\r', '\n')
	}
	return out
}
