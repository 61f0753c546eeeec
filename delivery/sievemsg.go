package delivery

import (
	"bytes"
	"strings"

	"github.com/mailroom/mailroom/message"
	"github.com/mailroom/mailroom/sieve"
)

// sieveMessage is the sieve.Message (and RawHeaderMessage) view of the
// message being delivered, over the part tree parsed at delivery.
type sieveMessage struct {
	raw  []byte
	part *message.Part
}

var _ sieve.RawHeaderMessage = (*sieveMessage)(nil)

func newSieveMessage(raw []byte, part *message.Part) *sieveMessage {
	if part == nil {
		part = message.Parse(raw)
	}
	return &sieveMessage{raw: raw, part: part}
}

func (m *sieveMessage) header() []byte {
	return m.raw[m.part.HeaderStart:m.part.BodyStart]
}

func (m *sieveMessage) RawHeader(name string) []string {
	return message.HeaderValues(m.header(), name)
}

func (m *sieveMessage) Header(name string) []string {
	vs := m.RawHeader(name)
	for i, v := range vs {
		vs[i] = message.DecodeHeader(v)
	}
	return vs
}

func (m *sieveMessage) Size() int64 { return int64(len(m.raw)) }

// maxBodyParts bounds the parts the body test walks.
const maxBodyParts = 256

func (m *sieveMessage) Body(t sieve.BodyTransform, types []string) ([]string, error) {
	if t == sieve.BodyRaw {
		return []string{string(m.raw[m.part.BodyStart:m.part.BodyEnd])}, nil
	}
	var out []string
	n := 0
	var walk func(p *message.Part, depth int)
	walk = func(p *message.Part, depth int) {
		if n >= maxBodyParts || depth > 32 {
			return
		}
		n++
		if len(p.Parts) > 0 {
			for _, c := range p.Parts {
				walk(c, depth+1)
			}
			return
		}
		if p.Message != nil {
			walk(p.Message, depth+1)
			return
		}
		mt := strings.ToLower(p.MediaType)
		full := mt + "/" + strings.ToLower(p.MediaSubtype)
		want := false
		if t == sieve.BodyText {
			want = mt == "text"
		}
		for _, ty := range types {
			ty = strings.ToLower(ty)
			if ty == "" || ty == full || (!strings.Contains(ty, "/") && ty == mt) {
				want = true
			}
		}
		if !want {
			return
		}
		body := m.raw[p.BodyStart:p.BodyEnd]
		if dec, err := message.Decode(body, p.Encoding); err == nil {
			body = dec
		}
		out = append(out, string(body))
	}
	walk(m.part, 0)
	return out, nil
}

// headerFields splits a header block (without the blank line) into
// whole fields, continuation lines included.
func headerFields(h []byte) [][]byte {
	var out [][]byte
	for len(h) > 0 {
		end := bytes.IndexByte(h, '\n')
		if end < 0 {
			end = len(h) - 1
		}
		line := h[:end+1]
		h = h[end+1:]
		if len(out) > 0 && (line[0] == ' ' || line[0] == '\t') {
			out[len(out)-1] = append(out[len(out)-1], line...)
			continue
		}
		out = append(out, append([]byte(nil), line...))
	}
	return out
}

func fieldName(f []byte) string {
	name, _, _ := bytes.Cut(f, []byte(":"))
	return strings.TrimSpace(string(name))
}

// applyHeaderEdit returns raw with one editheader action applied (RFC
// 5293): AddHeader at the top or, with Last, the bottom of the header;
// DeleteHeader of the Index-th field of that name (0: every one).
func applyHeaderEdit(raw []byte, a sieve.Action) []byte {
	top := message.ParseTop(raw)
	bs := int(top.BodyStart)
	hdr, rest := raw[:bs], raw[bs:]
	// The blank line stays with the body.
	blank := 0
	switch {
	case bytes.HasSuffix(hdr, []byte("\r\n\r\n")):
		blank = 2
	case bytes.HasSuffix(hdr, []byte("\n\n")):
		blank = 1
	}
	if blank > 0 {
		rest = raw[bs-blank:]
		hdr = hdr[:len(hdr)-blank]
	}
	fields := headerFields(hdr)
	switch a := a.(type) {
	case sieve.AddHeader:
		f := []byte(cleanHeaderName(a.Name) + ": " + cleanHeaderValue(a.Value) + "\r\n")
		if a.Last {
			fields = append(fields, f)
		} else {
			fields = append([][]byte{f}, fields...)
		}
	case sieve.DeleteHeader:
		n := 0
		kept := fields[:0]
		for _, f := range fields {
			if strings.EqualFold(fieldName(f), a.Name) {
				n++
				if a.Index == 0 || a.Index == n {
					continue
				}
			}
			kept = append(kept, f)
		}
		fields = kept
	}
	out := make([]byte, 0, len(raw)+256)
	for _, f := range fields {
		out = append(out, f...)
	}
	if blank == 0 && len(rest) == 0 {
		out = append(out, "\r\n"...)
	}
	return append(out, rest...)
}

// cleanHeaderValue keeps a script-supplied value on one logical line: a
// line break inside it must not start a field of the script's choosing.
func cleanHeaderValue(v string) string {
	return strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' || r == 0 {
			return ' '
		}
		return r
	}, v)
}

func cleanHeaderName(n string) string {
	return strings.Map(func(r rune) rune {
		if r <= ' ' || r == ':' || r >= 0x7f {
			return -1
		}
		return r
	}, n)
}
