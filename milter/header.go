package milter

import (
	"bytes"
	"fmt"
	"strings"

	gomilter "github.com/emersion/go-milter"
)

// field is one header field as it stands in the message: its name ("" for
// a line that is no field, kept as it is and not shown to milters) and
// its bytes, continuation lines and final CRLF included.
type field struct {
	name string
	raw  []byte
}

// milterValue is the field's value as milters expect it (libmilter's
// convention without SMFIP_HDR_LEADSPC): after the colon, one leading
// space removed, folds as bare LF, no final line ending.
func (f field) milterValue() string {
	_, v, _ := bytes.Cut(f.raw, []byte(":"))
	v = bytes.TrimRight(v, "\r\n")
	if len(v) > 0 && v[0] == ' ' {
		v = v[1:]
	}
	return strings.ReplaceAll(string(v), "\r\n", "\n")
}

// splitHeader splits raw at the empty line that ends the header: hdr
// without that line, body after it. A message without one is all header.
func splitHeader(raw []byte) (hdr, body []byte) {
	if bytes.HasPrefix(raw, []byte("\r\n")) {
		return nil, raw[2:]
	}
	if i := bytes.Index(raw, []byte("\r\n\r\n")); i >= 0 {
		return raw[:i+2], raw[i+4:]
	}
	return raw, nil
}

// parseFields splits a header block into fields; their raw bytes are
// slices of hdr.
func parseFields(hdr []byte) []field {
	var fields []field
	start := -1 // of the field being read
	name := ""
	flush := func(end int) {
		if start >= 0 {
			fields = append(fields, field{name: name, raw: hdr[start:end:end]})
		}
	}
	for pos := 0; pos < len(hdr); {
		end := len(hdr)
		if i := bytes.Index(hdr[pos:], []byte("\r\n")); i >= 0 {
			end = pos + i + 2
		}
		line := hdr[pos:end]
		if (line[0] == ' ' || line[0] == '\t') && start >= 0 {
			pos = end
			continue
		}
		flush(pos)
		start, name = pos, ""
		if n, _, ok := bytes.Cut(line, []byte(":")); ok && validName(string(bytes.TrimRight(n, " \t"))) {
			name = string(bytes.TrimRight(n, " \t"))
		}
		pos = end
	}
	flush(len(hdr))
	return fields
}

// validName reports whether s is a field name (RFC 5322 §3.6.8: printable
// ASCII but colon), of a sane length.
func validName(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' || s[i] == ':' {
			return false
		}
	}
	return true
}

// edit is one header change a milter asked for.
type edit struct {
	code  gomilter.ModifyActCode // ActAddHeader, ActInsertHeader, ActChangeHeader
	index int                    // insert: position from the top (0 first); change: 1-based among fields of name
	name  string
	value string // as the milter sent it
}

func newEdit(m gomilter.ModifyAction) (edit, error) {
	if !validName(m.HeaderName) {
		return edit{}, fmt.Errorf("milter: bad header field name %q", m.HeaderName)
	}
	return edit{code: m.Code, index: int(min(m.HeaderIndex, 1<<20)), name: m.HeaderName, value: m.HeaderValue}, nil
}

// format writes the field the edit adds: "Name: value" with the value's
// line breaks (LF, CRLF or CR from the milter) as CRLF folds, each
// continuation line starting with white space, NUL and other controls
// but tab turned into spaces.
func (e edit) format() []byte {
	var b bytes.Buffer
	b.WriteString(e.name)
	b.WriteString(": ")
	v := strings.ReplaceAll(strings.ReplaceAll(e.value, "\r\n", "\n"), "\r", "\n")
	v = strings.TrimRight(v, "\n")
	for i, line := range strings.Split(v, "\n") {
		if i > 0 {
			b.WriteString("\r\n")
			if line == "" || (line[0] != ' ' && line[0] != '\t') {
				b.WriteByte('\t')
			}
		}
		for j := 0; j < len(line); j++ {
			c := line[j]
			if (c < ' ' && c != '\t') || c == 0x7f {
				c = ' '
			}
			b.WriteByte(c)
		}
	}
	b.WriteString("\r\n")
	return b.Bytes()
}

// applyEdits returns the message with the edits applied in order to
// fields (the header hdr parsed) followed by body.
func applyEdits(hdr, body []byte, fields []field, edits []edit) []byte {
	fs := append([]field(nil), fields...)
	for _, e := range edits {
		nf := field{name: e.name, raw: e.format()}
		switch e.code {
		case gomilter.ActAddHeader:
			fs = append(fs, nf)
		case gomilter.ActInsertHeader:
			i := min(e.index, len(fs))
			fs = append(fs[:i], append([]field{nf}, fs[i:]...)...)
		case gomilter.ActChangeHeader:
			n, at := 0, -1
			for i, f := range fs {
				if strings.EqualFold(f.name, e.name) {
					n++
					if n == max(e.index, 1) {
						at = i
						break
					}
				}
			}
			switch {
			case at >= 0 && e.value == "":
				fs = append(fs[:at], fs[at+1:]...)
			case at >= 0:
				fs[at] = nf
			case e.value != "":
				// Sendmail adds a field changed that is not
				// there.
				fs = append(fs, nf)
			}
		}
	}
	size := len(body) + 2
	for _, f := range fs {
		size += len(f.raw)
	}
	out := make([]byte, 0, size)
	for _, f := range fs {
		out = append(out, f.raw...)
		if !bytes.HasSuffix(f.raw, []byte("\r\n")) {
			// The last line of a header without a final CRLF.
			out = append(out, "\r\n"...)
		}
	}
	out = append(out, "\r\n"...)
	return append(out, body...)
}
