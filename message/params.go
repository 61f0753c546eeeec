package message

import (
	"bytes"
	"io"
	"mime"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/emersion/go-message/charset"
)

// parseParamHeader parses a Content-Type or Content-Disposition value into
// its lower-cased value and its parameters in header order. RFC 2231
// continuations and charsets are decoded. ok is false when there is no
// usable value.
func parseParamHeader(v string) (value string, params []Param, ok bool) {
	mt, m, err := mime.ParseMediaType(v)
	loose := looseParams(v)
	if err != nil && err != mime.ErrInvalidMediaParameter {
		// Unparsable value or duplicate parameters: fall back to the
		// tolerant reading of both.
		base, _, _ := strings.Cut(v, ";")
		mt = strings.ToLower(strings.TrimSpace(base))
		if !isToken(strings.ReplaceAll(mt, "/", "")) || strings.Count(mt, "/") > 1 {
			return "", nil, false
		}
		return mt, loose, mt != ""
	}
	if mt == "" {
		return "", nil, false
	}
	if m == nil {
		return mt, loose, true
	}
	// Keep header order: the tolerant reading gives the order and fills in
	// values the standard library could not decode (e.g. RFC 2231 values in
	// charsets other than UTF-8).
	seen := map[string]bool{}
	for _, p := range loose {
		seen[p.Name] = true
		if sv, ok := m[p.Name]; ok {
			p.Value = sv
		}
		params = append(params, p)
	}
	var rest []string
	for k := range m {
		if !seen[k] {
			rest = append(rest, k)
		}
	}
	sort.Strings(rest)
	for _, k := range rest {
		params = append(params, Param{Name: k, Value: m[k]})
	}
	for i := range params {
		// mime decodes RFC 2231 UTF-8 values without validating them.
		params[i].Value = strings.ToValidUTF8(params[i].Value, "\uFFFD")
	}
	return mt, params, true
}

func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`()<>@,;:\"/[]?=`, c) >= 0 {
			return false
		}
	}
	return true
}

// rawParam is one name=value pair before RFC 2231 stitching.
type rawParam struct {
	base    string // lower-cased name without the RFC 2231 section
	section int    // -1 when the name has no "*n" section
	ext     bool   // value is RFC 2231 extended (charset'lang'%xx)
	value   string
}

// looseParams reads the parameters after the first ';' of v without ever
// failing: malformed pairs are skipped, quoted strings unquoted, RFC 2231
// continuations stitched in order and extended values decoded.
func looseParams(v string) []Param {
	_, rest, found := strings.Cut(v, ";")
	if !found {
		return nil
	}
	var raws []rawParam
	for len(rest) > 0 {
		var item string
		item, rest = cutParam(rest)
		name, val, ok := strings.Cut(item, "=")
		name = strings.ToLower(strings.TrimSpace(name))
		if !ok || name == "" {
			continue
		}
		val = strings.TrimSpace(val)
		if strings.HasPrefix(val, `"`) {
			val = unquote(val)
		}
		rp := rawParam{base: name, section: -1, value: val}
		if b, suffix, ok := strings.Cut(name, "*"); ok {
			rp.base = b
			if strings.HasSuffix(suffix, "*") || suffix == "" {
				rp.ext = true
				suffix = strings.TrimSuffix(suffix, "*")
			}
			if n, err := strconv.Atoi(suffix); err == nil && n >= 0 {
				rp.section = n
			}
		}
		raws = append(raws, rp)
	}
	return stitch(raws)
}

// cutParam returns the text up to the next ';' outside a quoted string.
func cutParam(s string) (item, rest string) {
	inQuote := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case inQuote && c == '\\':
			i++
		case c == '"':
			inQuote = !inQuote
		case !inQuote && c == ';':
			return s[:i], s[i+1:]
		}
	}
	return s, ""
}

// unquote removes the quotes of a quoted string and its backslash escapes;
// an unterminated string runs to the end.
func unquote(s string) string {
	var sb strings.Builder
	for i := 1; i < len(s); i++ {
		c := s[i]
		if c == '\\' && i+1 < len(s) {
			i++
			sb.WriteByte(s[i])
			continue
		}
		if c == '"' {
			break
		}
		sb.WriteByte(c)
	}
	return sb.String()
}

func stitch(raws []rawParam) []Param {
	var out []Param
	done := map[string]bool{}
	for _, r := range raws {
		if done[r.base] {
			continue
		}
		done[r.base] = true
		if r.section < 0 {
			v := r.value
			if r.ext {
				v = decode2231(v, true)
			}
			out = append(out, Param{Name: r.base, Value: v})
			continue
		}
		// Collect the sections of this name in section order.
		var secs []rawParam
		for _, s := range raws {
			if s.base == r.base && s.section >= 0 {
				secs = append(secs, s)
			}
		}
		sort.SliceStable(secs, func(i, j int) bool { return secs[i].section < secs[j].section })
		var cs string
		var sb strings.Builder
		for i, s := range secs {
			v := s.value
			if s.ext {
				if i == 0 {
					parts := strings.SplitN(v, "'", 3)
					if len(parts) == 3 {
						cs, v = parts[0], parts[2]
					}
				}
				v = percentDecode(v)
			}
			sb.WriteString(v)
		}
		out = append(out, Param{Name: r.base, Value: toUTF8(cs, []byte(sb.String()))})
	}
	return out
}

// decode2231 decodes an RFC 2231 extended value charset'language'%xx.
func decode2231(v string, withCharset bool) string {
	cs := ""
	if withCharset {
		parts := strings.SplitN(v, "'", 3)
		if len(parts) == 3 {
			cs, v = parts[0], parts[2]
		}
	}
	return toUTF8(cs, []byte(percentDecode(v)))
}

func percentDecode(s string) string {
	if d, err := url.PathUnescape(s); err == nil {
		return d
	}
	return s
}

// toUTF8 converts b from charset cs to valid UTF-8. Unknown charsets and
// us-ascii/utf-8 pass through, with invalid sequences replaced.
func toUTF8(cs string, b []byte) string {
	cs = strings.ToLower(strings.TrimSpace(cs))
	switch cs {
	case "", "us-ascii", "utf-8", "utf8", "ascii":
	default:
		if r, err := charset.Reader(cs, bytes.NewReader(b)); err == nil {
			if d, err := io.ReadAll(r); err == nil {
				b = d
			}
		}
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}
