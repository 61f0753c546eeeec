package sieve

import (
	"fmt"
	"strconv"
	"strings"
)

// tokKind is the kind of a lexical token (RFC 5228 §8.1).
type tokKind int

const (
	tokEOF tokKind = iota
	tokIdent
	tokTag
	tokNumber
	tokString // quoted string or multi-line text
	tokLBracket
	tokRBracket
	tokLParen
	tokRParen
	tokComma
	tokSemicolon
	tokLBrace
	tokRBrace
)

func (k tokKind) String() string {
	switch k {
	case tokEOF:
		return "end of script"
	case tokIdent:
		return "identifier"
	case tokTag:
		return "tag"
	case tokNumber:
		return "number"
	case tokString:
		return "string"
	case tokLBracket:
		return "'['"
	case tokRBracket:
		return "']'"
	case tokLParen:
		return "'('"
	case tokRParen:
		return "')'"
	case tokComma:
		return "','"
	case tokSemicolon:
		return "';'"
	case tokLBrace:
		return "'{'"
	case tokRBrace:
		return "'}'"
	}
	return "token"
}

type token struct {
	kind tokKind
	line int
	text string // identifier/tag name (tag without ':'), string value
	num  uint64
}

// maxNumber bounds numeric literals: RFC 5228 §2.4.1 requires 2^31; we
// accept up to 2^53 so sizes in bytes fit and arithmetic never overflows.
const maxNumber = 1 << 53

// lexer turns script bytes into tokens. It never allocates more than the
// script size (already bounded by Limits.MaxScriptSize) plus per-token copies.
type lexer struct {
	src       string
	pos       int
	line      int
	maxString int
}

func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func (l *lexer) errf(format string, args ...any) error {
	return &Error{Line: l.line, Msg: fmt.Sprintf(format, args...)}
}

// skip skips white space and comments.
func (l *lexer) skip() error {
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		switch {
		case c == '\n':
			l.line++
			l.pos++
		case c == ' ' || c == '\t' || c == '\r':
			l.pos++
		case c == '#':
			for l.pos < len(l.src) && l.src[l.pos] != '\n' {
				l.pos++
			}
		case c == '/' && l.pos+1 < len(l.src) && l.src[l.pos+1] == '*':
			start := l.line
			l.pos += 2
			end := strings.Index(l.src[l.pos:], "*/")
			if end < 0 {
				l.line = start
				return l.errf("unterminated comment")
			}
			l.line += strings.Count(l.src[l.pos:l.pos+end], "\n")
			l.pos += end + 2
		default:
			return nil
		}
	}
	return nil
}

func (l *lexer) next() (token, error) {
	if err := l.skip(); err != nil {
		return token{}, err
	}
	if l.pos >= len(l.src) {
		return token{kind: tokEOF, line: l.line}, nil
	}
	c := l.src[l.pos]
	t := token{line: l.line}
	single := map[byte]tokKind{'[': tokLBracket, ']': tokRBracket, '(': tokLParen, ')': tokRParen,
		',': tokComma, ';': tokSemicolon, '{': tokLBrace, '}': tokRBrace}
	if k, ok := single[c]; ok {
		l.pos++
		t.kind = k
		return t, nil
	}
	switch {
	case c == '"':
		s, err := l.quoted()
		t.kind, t.text = tokString, s
		return t, err
	case c == ':':
		l.pos++
		if l.pos >= len(l.src) || !isAlpha(l.src[l.pos]) {
			return t, l.errf("expected tag name after ':'")
		}
		t.kind, t.text = tokTag, l.ident()
		return t, nil
	case isDigit(c):
		return l.number()
	case isAlpha(c):
		id := l.ident()
		if strings.EqualFold(id, "text") && l.pos < len(l.src) && l.src[l.pos] == ':' {
			l.pos++
			s, err := l.multiline()
			t.kind, t.text = tokString, s
			return t, err
		}
		t.kind, t.text = tokIdent, strings.ToLower(id)
		return t, nil
	}
	return t, l.errf("unexpected character %q", rune(c))
}

func (l *lexer) ident() string {
	start := l.pos
	for l.pos < len(l.src) && (isAlpha(l.src[l.pos]) || isDigit(l.src[l.pos])) {
		l.pos++
	}
	return l.src[start:l.pos]
}

func (l *lexer) number() (token, error) {
	t := token{kind: tokNumber, line: l.line}
	start := l.pos
	for l.pos < len(l.src) && isDigit(l.src[l.pos]) {
		l.pos++
	}
	n, err := strconv.ParseUint(l.src[start:l.pos], 10, 64)
	if err != nil || n > maxNumber {
		return t, l.errf("number %s is too large", l.src[start:l.pos])
	}
	if l.pos < len(l.src) {
		var mul uint64 = 1
		switch l.src[l.pos] {
		case 'k', 'K':
			mul = 1 << 10
		case 'm', 'M':
			mul = 1 << 20
		case 'g', 'G':
			mul = 1 << 30
		}
		if mul != 1 {
			l.pos++
			if n > maxNumber/mul {
				return t, l.errf("number %s is too large", l.src[start:l.pos])
			}
			n *= mul
		}
	}
	if l.pos < len(l.src) && (isAlpha(l.src[l.pos])) {
		return t, l.errf("invalid number suffix %q", l.src[l.pos])
	}
	t.num = n
	return t, nil
}

// quoted reads a quoted string (RFC 5228 §2.4.2): "\\" and "\"" are the
// only escapes; any other backslash drops the backslash.
func (l *lexer) quoted() (string, error) {
	startLine := l.line
	l.pos++ // opening quote
	var b strings.Builder
	for {
		if l.pos >= len(l.src) {
			l.line = startLine
			return "", l.errf("unterminated string")
		}
		c := l.src[l.pos]
		l.pos++
		switch c {
		case '"':
			return b.String(), nil
		case '\\':
			if l.pos >= len(l.src) {
				continue
			}
			c = l.src[l.pos]
			l.pos++
		}
		if c == '\n' {
			l.line++
		}
		if b.Len() >= l.maxString {
			return "", l.errf("string longer than %d bytes", l.maxString)
		}
		b.WriteByte(c)
	}
}

// multiline reads "text:" up to a line holding only "." (RFC 5228 §2.4.2);
// a leading ".." on a line is unstuffed to ".".
func (l *lexer) multiline() (string, error) {
	startLine := l.line
	// Rest of the "text:" line: white space and an optional hash comment.
	for l.pos < len(l.src) && (l.src[l.pos] == ' ' || l.src[l.pos] == '\t') {
		l.pos++
	}
	if l.pos < len(l.src) && l.src[l.pos] == '#' {
		for l.pos < len(l.src) && l.src[l.pos] != '\n' {
			l.pos++
		}
	}
	if l.pos < len(l.src) && l.src[l.pos] == '\r' {
		l.pos++
	}
	if l.pos >= len(l.src) || l.src[l.pos] != '\n' {
		return "", l.errf("expected end of line after text:")
	}
	l.pos++
	l.line++
	var b strings.Builder
	for {
		if l.pos >= len(l.src) {
			l.line = startLine
			return "", l.errf("unterminated multi-line string")
		}
		end := strings.IndexByte(l.src[l.pos:], '\n')
		var line string
		if end < 0 {
			line = l.src[l.pos:]
			l.pos = len(l.src)
		} else {
			line = l.src[l.pos : l.pos+end]
			l.pos += end + 1
			l.line++
		}
		line = strings.TrimSuffix(line, "\r")
		if line == "." {
			return b.String(), nil
		}
		if strings.HasPrefix(line, "..") {
			line = line[1:]
		}
		if b.Len()+len(line)+2 > l.maxString {
			return "", l.errf("string longer than %d bytes", l.maxString)
		}
		b.WriteString(line)
		b.WriteString("\r\n")
	}
}
