package imapmsg

import (
	"bytes"
	"encoding/base64"
	"sort"
	"strings"

	"github.com/mailroom/mailroom/message"
)

// EncodeNULParts returns raw with every leaf body part that holds a NUL
// byte and is not already transfer-encoded (no Content-Transfer-Encoding,
// 7bit, 8bit or binary) rewritten as base64, its Content-Transfer-Encoding
// field replaced, and whether anything changed. RFC 3501's CHAR8 and RFC
// 9051's literal forbid NUL in a normal literal; a message APPENDed as a
// literal8 (RFC 3516) may hold one, and Dovecot converts such a part to
// base64 when it saves the message: BODY[n] then sends base64 text,
// BODYSTRUCTURE says "base64", and BINARY[n] still returns the decoded
// bytes.
func EncodeNULParts(raw []byte, root *message.Part) ([]byte, bool) {
	if bytes.IndexByte(raw, 0) < 0 {
		return raw, false
	}
	var leaves []*message.Part
	var walk func(p *message.Part)
	walk = func(p *message.Part) {
		switch {
		case len(p.Parts) > 0:
			for _, c := range p.Parts {
				walk(c)
			}
		case p.Message != nil:
			walk(p.Message)
		default:
			if p.BodyEnd > p.BodyStart && bytes.IndexByte(raw[p.BodyStart:p.BodyEnd], 0) >= 0 {
				switch strings.ToLower(p.Encoding) {
				case "", "7bit", "8bit", "binary":
					leaves = append(leaves, p)
				}
			}
		}
	}
	walk(root)
	if len(leaves) == 0 {
		return raw, false
	}
	sort.Slice(leaves, func(i, j int) bool { return leaves[i].HeaderStart < leaves[j].HeaderStart })
	out := make([]byte, 0, len(raw)+len(raw)/3+64)
	pos := int64(0)
	for _, p := range leaves {
		out = append(out, raw[pos:p.HeaderStart]...)
		out = appendBase64Header(out, raw[p.HeaderStart:p.BodyStart])
		out = appendBase64Body(out, raw[p.BodyStart:p.BodyEnd])
		if p.BodyEnd == int64(len(raw)) {
			out = append(out, "\r\n"...)
		}
		pos = p.BodyEnd
	}
	out = append(out, raw[pos:]...)
	return out, true
}

// appendBase64Header appends header h (ending in its blank line) without
// its Content-Transfer-Encoding fields and with
// "Content-Transfer-Encoding: base64" before the blank line.
func appendBase64Header(out, h []byte) []byte {
	skipping := false
	for len(h) > 0 {
		line := h
		if i := bytes.IndexByte(h, '\n'); i >= 0 {
			line = h[:i+1]
		}
		h = h[len(line):]
		if len(bytes.TrimRight(line, "\r\n")) == 0 {
			break // the blank line ending the header
		}
		if line[0] == ' ' || line[0] == '\t' {
			if !skipping {
				out = append(out, line...)
			}
			continue
		}
		name, _, _ := bytes.Cut(line, []byte(":"))
		skipping = strings.EqualFold(strings.TrimSpace(string(name)), "Content-Transfer-Encoding")
		if !skipping {
			out = append(out, line...)
		}
	}
	return append(out, "Content-Transfer-Encoding: base64\r\n\r\n"...)
}

// appendBase64Body appends b in base64, 76 characters a line (RFC 2045
// §6.8), lines separated by CRLF, without a line break after the last.
func appendBase64Body(out, b []byte) []byte {
	enc := base64.StdEncoding.EncodeToString(b)
	for i := 0; i < len(enc); i += 76 {
		if i > 0 {
			out = append(out, "\r\n"...)
		}
		out = append(out, enc[i:min(i+76, len(enc))]...)
	}
	return out
}
