package mailauth

import (
	"bytes"
	"strings"
)

// StripForged removes from raw's header every Authentication-Results field
// whose authserv-id is hostname (RFC 8601 §5: a receiver must delete such
// fields arriving from outside, since only it may write them). Other
// fields and the body are left byte for byte.
func StripForged(raw []byte, hostname string) []byte {
	end := bytes.Index(raw, []byte("\r\n\r\n"))
	if end < 0 {
		end = len(raw)
	} else {
		end += 2
	}
	var out []byte
	removed := false
	skipping := false
	for i := 0; i < end; {
		j := bytes.IndexByte(raw[i:end], '\n')
		next := end
		if j >= 0 {
			next = i + j + 1
		}
		line := raw[i:next]
		cont := len(line) > 0 && (line[0] == ' ' || line[0] == '\t')
		if !cont {
			skipping = isForged(raw[i:fieldEnd(raw, i, end)], hostname)
		}
		if skipping {
			removed = true
		} else {
			out = append(out, line...)
		}
		i = next
	}
	if !removed {
		return raw
	}
	return append(out, raw[end:]...)
}

// fieldEnd returns where the field starting at i ends (after its
// continuation lines).
func fieldEnd(raw []byte, i, end int) int {
	for {
		j := bytes.IndexByte(raw[i:end], '\n')
		if j < 0 {
			return end
		}
		i += j + 1
		if i >= end || (raw[i] != ' ' && raw[i] != '\t') {
			return i
		}
	}
}

func isForged(field []byte, hostname string) bool {
	name, value, ok := bytes.Cut(field, []byte(":"))
	if !ok || !strings.EqualFold(strings.TrimSpace(string(name)), "Authentication-Results") {
		return false
	}
	v := strings.NewReplacer("\r", " ", "\n", " ", "\t", " ").Replace(string(value))
	v = stripComments(v)
	id, _, _ := strings.Cut(v, ";")
	f := strings.Fields(id)
	return len(f) > 0 && strings.EqualFold(strings.TrimSuffix(f[0], "."), strings.TrimSuffix(hostname, "."))
}

// stripComments drops RFC 5322 comments "(…)", which may hide the id.
func stripComments(s string) string {
	var b strings.Builder
	depth := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && depth > 0 && i+1 < len(s):
			i++
		case c == '(':
			depth++
		case c == ')' && depth > 0:
			depth--
		case depth == 0:
			b.WriteByte(c)
		}
	}
	return b.String()
}
