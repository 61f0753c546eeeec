// Package imapwire is mailroom's IMAP wire codec: a streaming Decoder for
// client commands (RFC 9051 §9 formal syntax) and an Encoder for server
// responses, plus modified UTF-7 for IMAP4rev1 mailbox names.
package imapwire

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// Errors returned by the Decoder. After any of them except I/O errors, the
// caller replies BAD (or NO [TOOBIG]) and calls Discard to resynchronize.
var (
	ErrLineTooLong = errors.New("imapwire: line too long")
	// ErrCommandTooBig: the command's lines and literals together exceed
	// MaxCommandSize.
	ErrCommandTooBig = errors.New("imapwire: command too big")
)

// SyntaxError is a malformed command.
type SyntaxError struct{ Msg string }

func (e *SyntaxError) Error() string { return "imapwire: syntax error: " + e.Msg }

// LiteralTooBigError reports a literal larger than MaxLiteralSize. For a
// synchronizing literal nothing was sent by the client yet; for a
// non-synchronizing one, Discard skips its bytes.
type LiteralTooBigError struct {
	Size    int64
	NonSync bool
}

func (e *LiteralTooBigError) Error() string {
	return fmt.Sprintf("imapwire: literal of %d bytes too big", e.Size)
}

func syntaxf(format string, args ...any) error {
	return &SyntaxError{Msg: fmt.Sprintf(format, args...)}
}

// Defaults for the Decoder limits.
const (
	DefaultMaxLineLength  = 64 * 1024
	DefaultMaxLiteralSize = 50 * 1024 * 1024
)

// Decoder reads IMAP client commands from a bufio.Reader.
type Decoder struct {
	r *bufio.Reader

	// MaxLineLength bounds the bytes of one line, literals excluded.
	MaxLineLength int
	// MaxLiteralSize bounds a single literal.
	MaxLiteralSize int64
	// MaxCommandSize, when positive, bounds the bytes of one command: its
	// lines and its literals, except message literals (APPEND), which
	// MaxLiteralSize bounds one by one. BeginCommand starts the count.
	MaxCommandSize int64
	// Continue is called before the decoder reads a synchronizing literal
	// that it accepts; it must send a continuation request and flush.
	Continue func() error

	lineLen int
	cmdLen  int64 // bytes of the current command, see MaxCommandSize
	eol     bool  // the last thing consumed was the CRLF ending a command line
	skip    int64 // bytes of a refused non-synchronizing literal still to skip

	// Trace, when non-nil, receives the bytes of the current line (literal
	// contents are replaced by a placeholder). The caller resets it.
	Trace *[]byte
}

// NewDecoder returns a Decoder reading from r.
func NewDecoder(r *bufio.Reader) *Decoder {
	return &Decoder{r: r, MaxLineLength: DefaultMaxLineLength, MaxLiteralSize: DefaultMaxLiteralSize, eol: true}
}

// SetReader makes the Decoder read from r from now on, keeping its line
// state; a connection that idles lends its buffered reader back to a pool.
func (d *Decoder) SetReader(r *bufio.Reader) { d.r = r }

// BeginCommand starts counting the bytes of a new command against
// MaxCommandSize.
func (d *Decoder) BeginCommand() { d.cmdLen = 0 }

func (d *Decoder) readByte() (byte, error) {
	if d.lineLen >= d.MaxLineLength {
		return 0, ErrLineTooLong
	}
	if d.MaxCommandSize > 0 && d.cmdLen >= d.MaxCommandSize {
		return 0, ErrCommandTooBig
	}
	b, err := d.r.ReadByte()
	if err != nil {
		return 0, err
	}
	d.eol = false
	d.lineLen++
	d.cmdLen++
	if d.Trace != nil && len(*d.Trace) < 4096 {
		*d.Trace = append(*d.Trace, b)
	}
	return b, nil
}

func (d *Decoder) unreadByte() {
	d.r.UnreadByte()
	d.lineLen--
	d.cmdLen--
	if d.Trace != nil && len(*d.Trace) > 0 && len(*d.Trace) < 4096 {
		*d.Trace = (*d.Trace)[:len(*d.Trace)-1]
	}
}

// Peek returns the next byte without consuming it.
func (d *Decoder) Peek() (byte, error) {
	b, err := d.r.Peek(1)
	if err != nil {
		return 0, err
	}
	return b[0], nil
}

// PeekIs reports whether the next byte is c.
func (d *Decoder) PeekIs(c byte) bool {
	b, err := d.Peek()
	return err == nil && b == c
}

// PeekFold reports whether the next bytes are s, ASCII case-insensitively,
// without consuming them. It peeks one byte more at a time and stops at
// the first that differs, so with s free of CR it never waits for input
// beyond the end of the line. s must be shorter than the reader's buffer.
func (d *Decoder) PeekFold(s string) bool {
	for i := 1; i <= len(s); i++ {
		b, err := d.r.Peek(i)
		if err != nil || !equalFold(string(b[i-1]), s[i-1:i]) {
			return false
		}
	}
	return true
}

// Expect consumes the byte c or fails.
func (d *Decoder) Expect(c byte) error {
	b, err := d.readByte()
	if err != nil {
		return err
	}
	if b != c {
		d.unreadByte()
		return syntaxf("expected %q, got %q", c, b)
	}
	return nil
}

// SP consumes one space.
func (d *Decoder) SP() error { return d.Expect(' ') }

// AtEOL reports whether the next bytes end the line.
func (d *Decoder) AtEOL() bool {
	b, err := d.Peek()
	return err == nil && (b == '\r' || b == '\n')
}

// CRLF consumes the end of a line ("\r\n"; a bare "\n" is tolerated).
func (d *Decoder) CRLF() error {
	b, err := d.readByte()
	if err != nil {
		return err
	}
	if b == '\r' {
		if b, err = d.readByte(); err != nil {
			return err
		}
	}
	if b != '\n' {
		d.unreadByte()
		return syntaxf("expected end of line, got %q", b)
	}
	d.lineLen = 0
	d.eol = true
	return nil
}

// IsAtomChar reports whether c is an ATOM-CHAR (RFC 9051 §9).
func IsAtomChar(c byte) bool {
	switch c {
	case '(', ')', '{', ' ', '%', '*', '"', '\\', ']':
		return false
	}
	return c > 0x1f && c < 0x7f
}

// readWhile reads bytes as long as ok says so.
func (d *Decoder) readWhile(ok func(byte) bool) (string, error) {
	var buf []byte
	for {
		b, err := d.readByte()
		if err != nil {
			if err == io.EOF && len(buf) > 0 {
				return string(buf), nil
			}
			return string(buf), err
		}
		if !ok(b) {
			d.unreadByte()
			return string(buf), nil
		}
		buf = append(buf, b)
	}
}

// Atom reads a non-empty atom.
func (d *Decoder) Atom() (string, error) {
	s, err := d.readWhile(IsAtomChar)
	if err != nil {
		return "", err
	}
	if s == "" {
		return "", d.unexpected("atom")
	}
	return s, nil
}

// AtomFunc reads a non-empty run of bytes accepted by ok (for tags, list
// patterns, sequence sets and flags, whose grammars widen or narrow ATOM-CHAR).
func (d *Decoder) AtomFunc(what string, ok func(byte) bool) (string, error) {
	s, err := d.readWhile(ok)
	if err != nil {
		return "", err
	}
	if s == "" {
		return "", d.unexpected(what)
	}
	return s, nil
}

func (d *Decoder) unexpected(what string) error {
	b, err := d.Peek()
	if err != nil {
		return err
	}
	return syntaxf("expected %s, got %q", what, b)
}

// Number reads a 32-bit unsigned number.
func (d *Decoder) Number() (uint32, error) {
	n, err := d.number(32)
	return uint32(n), err
}

// Number64 reads a 63-bit unsigned number (RFC 9051 number64).
func (d *Decoder) Number64() (uint64, error) { return d.number(63) }

func (d *Decoder) number(bits int) (uint64, error) {
	s, err := d.readWhile(func(b byte) bool { return b >= '0' && b <= '9' })
	if err != nil {
		return 0, err
	}
	if s == "" {
		return 0, d.unexpected("number")
	}
	n, err := strconv.ParseUint(s, 10, bits)
	if err != nil {
		return 0, syntaxf("bad number %q", s)
	}
	return n, nil
}

// Quoted reads a quoted string.
func (d *Decoder) Quoted() (string, error) {
	if err := d.Expect('"'); err != nil {
		return "", err
	}
	var buf []byte
	for {
		b, err := d.readByte()
		if err != nil {
			return "", err
		}
		switch b {
		case '"':
			return string(buf), nil
		case '\\':
			if b, err = d.readByte(); err != nil {
				return "", err
			}
			if b != '"' && b != '\\' {
				return "", syntaxf("bad escape in quoted string")
			}
		case '\r', '\n':
			d.unreadByte()
			return "", syntaxf("end of line in quoted string")
		}
		buf = append(buf, b)
	}
}

// String reads a quoted string or a literal.
func (d *Decoder) String() (string, error) {
	b, err := d.Peek()
	if err != nil {
		return "", err
	}
	switch b {
	case '"':
		return d.Quoted()
	case '{':
		lit, _, err := d.Literal(false)
		return string(lit), err
	}
	return "", d.unexpected("string")
}

func isAStringChar(b byte) bool { return IsAtomChar(b) || b == ']' }

// AString reads an astring: a string or a run of ASTRING-CHARs.
func (d *Decoder) AString() (string, error) {
	b, err := d.Peek()
	if err != nil {
		return "", err
	}
	if b == '"' || b == '{' {
		return d.String()
	}
	return d.AtomFunc("astring", isAStringChar)
}

// NString reads a string or NIL; isNil reports NIL.
func (d *Decoder) NString() (s string, isNil bool, err error) {
	b, err := d.Peek()
	if err != nil {
		return "", false, err
	}
	if b == '"' || b == '{' {
		s, err = d.String()
		return s, false, err
	}
	a, err := d.Atom()
	if err != nil {
		return "", false, err
	}
	if !equalFold(a, "NIL") {
		return "", false, syntaxf("expected string or NIL")
	}
	return "", true, nil
}

// List reads a parenthesized list, calling item for each element. An empty
// list "()" is accepted.
func (d *Decoder) List(item func() error) error {
	if err := d.Expect('('); err != nil {
		return err
	}
	if d.PeekIs(')') {
		d.readByte()
		return nil
	}
	for {
		if err := item(); err != nil {
			return err
		}
		b, err := d.readByte()
		if err != nil {
			return err
		}
		switch b {
		case ')':
			return nil
		case ' ':
		default:
			d.unreadByte()
			return syntaxf("expected SP or ')' in list, got %q", b)
		}
	}
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'a' <= x && x <= 'z' {
			x -= 'a' - 'A'
		}
		if 'a' <= y && y <= 'z' {
			y -= 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
