package imapwire

import (
	"bufio"
	"strconv"
)

// Encoder writes IMAP responses to a bufio.Writer. Methods chain and record
// the first error, which Flush and Err return.
type Encoder struct {
	w   *bufio.Writer
	err error
}

// NewEncoder returns an Encoder writing to w.
func NewEncoder(w *bufio.Writer) *Encoder { return &Encoder{w: w} }

// SetWriter makes the Encoder write to w from now on, keeping its error
// state; a connection that idles lends its buffered writer back to a pool.
func (e *Encoder) SetWriter(w *bufio.Writer) { e.w = w }

// Err returns the first write error.
func (e *Encoder) Err() error { return e.err }

// Flush writes buffered data to the connection.
func (e *Encoder) Flush() error {
	if e.err == nil {
		e.err = e.w.Flush()
	}
	return e.err
}

// Raw writes s as is.
func (e *Encoder) Raw(s string) *Encoder {
	if e.err == nil {
		_, e.err = e.w.WriteString(s)
	}
	return e
}

// RawBytes writes b as is.
func (e *Encoder) RawBytes(b []byte) *Encoder {
	if e.err == nil {
		_, e.err = e.w.Write(b)
	}
	return e
}

// Byte writes one byte (a special like '(' or ')').
func (e *Encoder) Byte(c byte) *Encoder {
	if e.err == nil {
		e.err = e.w.WriteByte(c)
	}
	return e
}

// SP writes a space.
func (e *Encoder) SP() *Encoder { return e.Byte(' ') }

// CRLF ends a response line.
func (e *Encoder) CRLF() *Encoder { return e.Raw("\r\n") }

// Atom writes s, which the caller knows to be a valid atom (or flag).
func (e *Encoder) Atom(s string) *Encoder { return e.Raw(s) }

// NIL writes NIL.
func (e *Encoder) NIL() *Encoder { return e.Raw("NIL") }

// Number writes n.
func (e *Encoder) Number(n uint32) *Encoder { return e.Number64(uint64(n)) }

// Number64 writes n.
func (e *Encoder) Number64(n uint64) *Encoder {
	if e.err == nil {
		// Appending to AvailableBuffer formats in place: a local array
		// would escape through Write and cost an allocation per number.
		_, e.err = e.w.Write(strconv.AppendUint(e.w.AvailableBuffer(), n, 10))
	}
	return e
}

// Quoted writes s as a quoted string; s must be quotable (see CanQuote).
func (e *Encoder) Quoted(s string) *Encoder {
	e.Byte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			e.Byte('\\')
		}
		e.Byte(s[i])
	}
	return e.Byte('"')
}

// CanQuote reports whether s can be sent as a quoted string: no CR, LF or
// NUL, and no 8-bit bytes unless utf8 (IMAP4rev2 allows UTF-8 in quoted).
func CanQuote(s string, utf8 bool) bool {
	if len(s) > 1024 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\r' || c == '\n' || c == 0 || (c >= 0x80 && !utf8) {
			return false
		}
	}
	return true
}

// String writes s quoted when possible, else as a literal.
func (e *Encoder) String(s string) *Encoder {
	if CanQuote(s, true) {
		return e.Quoted(s)
	}
	return e.Literal([]byte(s))
}

// AString writes s as an atom when it is one, else as String.
func (e *Encoder) AString(s string) *Encoder {
	if s == "" || equalFold(s, "NIL") {
		return e.String(s)
	}
	for i := 0; i < len(s); i++ {
		if !isAStringChar(s[i]) {
			return e.String(s)
		}
	}
	return e.Raw(s)
}

// Literal writes b as a literal "{n}\r\n" followed by the bytes.
func (e *Encoder) Literal(b []byte) *Encoder {
	return e.LiteralPrefix(len(b)).RawBytes(b)
}

// LiteralPrefix writes the "{n}\r\n" of a literal of n bytes, for a
// caller that writes the bytes itself.
func (e *Encoder) LiteralPrefix(n int) *Encoder {
	return e.Byte('{').Number64(uint64(n)).Raw("}\r\n")
}

// Literal8 writes b as a literal8 "~{n}\r\n" (RFC 3516 BINARY).
func (e *Encoder) Literal8(b []byte) *Encoder {
	e.Byte('~')
	return e.Literal(b)
}
