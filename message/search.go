package message

import (
	"io"
	"mime"
	"strings"
	"unicode/utf8"

	"github.com/emersion/go-message/charset"
	"golang.org/x/text/cases"
)

func wordDecoder() *mime.WordDecoder {
	return &mime.WordDecoder{CharsetReader: func(cs string, r io.Reader) (io.Reader, error) {
		return charset.Reader(cs, r)
	}}
}

// DecodeHeader decodes the RFC 2047 encoded-words of a header value to
// UTF-8, in any charset go-message knows. Words that cannot be decoded
// (unknown charset, bad encoding) are kept as written; invalid UTF-8 is
// replaced, so the result is always valid UTF-8.
func DecodeHeader(value string) string {
	dec := wordDecoder()
	if s, err := dec.DecodeHeader(value); err == nil {
		return strings.ToValidUTF8(s, "\uFFFD")
	}
	// Decode word by word, keeping the ones that fail.
	var sb strings.Builder
	prevWord := false
	for len(value) > 0 {
		start := strings.Index(value, "=?")
		if start < 0 {
			sb.WriteString(value)
			break
		}
		end := encodedWordEnd(value, start)
		if end < 0 {
			sb.WriteString(value)
			break
		}
		between := value[:start]
		word := value[start:end]
		d, err := dec.Decode(word)
		if err != nil {
			sb.WriteString(value[:end])
			prevWord = false
		} else {
			// Whitespace between two encoded-words is not displayed.
			if !prevWord || strings.Trim(between, " \t\r\n") != "" {
				sb.WriteString(between)
			}
			sb.WriteString(d)
			prevWord = true
		}
		value = value[end:]
	}
	return strings.ToValidUTF8(sb.String(), "\uFFFD")
}

// encodedWordEnd returns the end of the encoded-word "=?cs?e?text?=" that
// starts at start, or -1.
func encodedWordEnd(s string, start int) int {
	i := start + 2
	for q := 0; q < 2; q++ {
		k := strings.IndexByte(s[i:], '?')
		if k < 0 {
			return -1
		}
		i += k + 1
	}
	k := strings.Index(s[i:], "?=")
	if k < 0 {
		return -1
	}
	return i + k + 2
}

// Text returns the body of p with its Content-Transfer-Encoding and charset
// decoded, as valid UTF-8. An unknown encoding yields the body as stored;
// an unknown charset is read as UTF-8.
func (p *Part) Text(raw []byte) string {
	b := p.Body(raw)
	if d, err := Decode(b, p.Encoding); err == nil {
		b = d
	}
	return toUTF8(p.Param("charset"), b)
}

// TextForSearch returns the decoded text (see Text) of every text/* leaf of
// the tree rooted at p, embedded messages included, separated by newlines:
// what IMAP SEARCH BODY matches against (RFC 9051 §6.4.4). Combine it with
// HeaderText for SEARCH TEXT.
func (p *Part) TextForSearch(raw []byte) string {
	var sb strings.Builder
	var walk func(q *Part)
	walk = func(q *Part) {
		switch {
		case len(q.Parts) > 0:
			for _, c := range q.Parts {
				walk(c)
			}
		case q.Message != nil:
			walk(q.Message)
		case q.MediaType == "text":
			if sb.Len() > 0 {
				sb.WriteByte('\n')
			}
			sb.WriteString(q.Text(raw))
		}
	}
	walk(p)
	return sb.String()
}

// HeaderText returns the header of p with each field on one line as
// "Name: value", values unfolded and RFC 2047-decoded, for SEARCH TEXT and
// SEARCH HEADER matching.
func (p *Part) HeaderText(raw []byte) string {
	var sb strings.Builder
	for _, f := range scanFields(p.Header(raw)) {
		sb.WriteString(f.name)
		sb.WriteString(": ")
		sb.WriteString(DecodeHeader(f.value))
		sb.WriteByte('\n')
	}
	return sb.String()
}

// Fold returns s case-folded (Unicode full case folding) for
// case-insensitive substring matching: Fold(a) contains Fold(b).
//
// Full case folding maps each code point on its own, so runs of ASCII are
// lowered byte by byte and only the non-ASCII runs go through x/text's
// Caser, which costs ~30 times more per byte (SEARCH TEXT spent a third of
// its time here on mostly-ASCII mail).
func Fold(s string) string {
	i := 0
	for i < len(s) && s[i] < utf8.RuneSelf && (s[i] < 'A' || s[i] > 'Z') {
		i++
	}
	if i == len(s) {
		return s // ASCII with nothing to lower
	}
	b := make([]byte, 0, len(s))
	b = append(b, s[:i]...)
	var (
		c     cases.Caser
		haveC bool
	)
	for i < len(s) {
		if ch := s[i]; ch < utf8.RuneSelf {
			if 'A' <= ch && ch <= 'Z' {
				ch += 'a' - 'A'
			}
			b = append(b, ch)
			i++
			continue
		}
		j := i + 1
		for j < len(s) && s[j] >= utf8.RuneSelf {
			j++
		}
		if !haveC {
			c, haveC = cases.Fold(), true // a Caser is stateful: one per call
		}
		b = append(b, c.String(s[i:j])...)
		i = j
	}
	return string(b)
}
