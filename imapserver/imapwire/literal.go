package imapwire

import (
	"bufio"
	"bytes"
	"io"
	"strconv"
)

// LiteralInfo describes a literal header "{n}", "{n+}" or "~{n}".
type LiteralInfo struct {
	Size    int64
	NonSync bool // LITERAL+ "{n+}"
	Binary  bool // literal8 "~{n}" (RFC 3516)

	message bool // a message (APPEND): not counted into the command size
}

// LiteralHeader reads the header of a literal that is part of the command
// (a string argument) up to and including its CRLF, without reading the
// literal's bytes. binaryOK allows literal8. Its bytes count into the
// command's size: the literal may be at most MaxLiteralSize and what is
// left of MaxCommandSize.
func (d *Decoder) LiteralHeader(binaryOK bool) (LiteralInfo, error) {
	return d.literalHeader(binaryOK, false)
}

// MessageLiteralHeader is LiteralHeader for a message (APPEND): it is
// bounded by MaxLiteralSize only, not by MaxCommandSize; the caller bounds
// the total of the messages of one command.
func (d *Decoder) MessageLiteralHeader(binaryOK bool) (LiteralInfo, error) {
	return d.literalHeader(binaryOK, true)
}

func (d *Decoder) literalHeader(binaryOK, message bool) (LiteralInfo, error) {
	var li LiteralInfo
	if d.PeekIs('~') {
		if !binaryOK {
			return li, syntaxf("literal8 not allowed here")
		}
		d.readByte()
		li.Binary = true
	}
	if err := d.Expect('{'); err != nil {
		return li, err
	}
	s, err := d.readWhile(func(b byte) bool { return b >= '0' && b <= '9' })
	if err != nil {
		return li, err
	}
	n, perr := strconv.ParseInt(s, 10, 63)
	if s == "" || perr != nil {
		return li, syntaxf("bad literal size")
	}
	li.Size = n
	li.message = message
	if d.PeekIs('+') {
		d.readByte()
		li.NonSync = true
	}
	if err := d.Expect('}'); err != nil {
		return li, err
	}
	if err := d.CRLF(); err != nil {
		return li, err
	}
	// The line goes on after the literal: it is not the end of the command.
	d.eol = false
	if li.Size > d.MaxLiteralSize || (!message && d.MaxCommandSize > 0 && li.Size > d.MaxCommandSize-d.cmdLen) {
		if li.NonSync {
			d.skip = li.Size
		} else {
			d.eol = true // the client waits for "+" which never comes
		}
		return li, &LiteralTooBigError{Size: li.Size, NonSync: li.NonSync}
	}
	return li, nil
}

// RefuseLiteral refuses a literal whose header was accepted, for a reason
// of the caller's: Discard then skips its bytes if they come anyway
// (non-synchronizing), or stops before them (the client of a synchronizing
// literal waits for a continuation request that is not sent).
func (d *Decoder) RefuseLiteral(li LiteralInfo) {
	if li.NonSync {
		d.skip = li.Size
	} else {
		d.eol = true
	}
}

// LiteralBody reads the bytes of a literal whose header was accepted,
// sending the continuation request first for a synchronizing literal.
func (d *Decoder) LiteralBody(li LiteralInfo) ([]byte, error) {
	if !li.NonSync && d.Continue != nil {
		if err := d.Continue(); err != nil {
			return nil, err
		}
	}
	buf := make([]byte, li.Size)
	if _, err := io.ReadFull(d.r, buf); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	if d.Trace != nil {
		*d.Trace = append(*d.Trace, "<literal "+strconv.FormatInt(li.Size, 10)+" bytes>"...)
	}
	if !li.message {
		d.cmdLen += li.Size
	}
	d.lineLen = 0
	d.eol = false
	return buf, nil
}

// Literal reads a whole literal that is part of the command (see
// LiteralHeader).
func (d *Decoder) Literal(binaryOK bool) ([]byte, LiteralInfo, error) {
	li, err := d.LiteralHeader(binaryOK)
	if err != nil {
		return nil, li, err
	}
	b, err := d.LiteralBody(li)
	return b, li, err
}

// MessageLiteral reads a whole message literal (see MessageLiteralHeader).
func (d *Decoder) MessageLiteral(binaryOK bool) ([]byte, LiteralInfo, error) {
	li, err := d.MessageLiteralHeader(binaryOK)
	if err != nil {
		return nil, li, err
	}
	b, err := d.LiteralBody(li)
	return b, li, err
}

// Discard skips the rest of the current command after an error, so that the
// next read starts at a new command. It skips the bytes of non-synchronizing
// literals, and stops at a line ending in a synchronizing literal header
// (the client waits for a continuation that is not sent).
func (d *Decoder) Discard() error {
	if d.skip > 0 {
		n := d.skip
		d.skip = 0
		if _, err := io.CopyN(io.Discard, d.r, n); err != nil {
			return err
		}
	} else if d.eol {
		return nil
	}
	var tail []byte // the last bytes of the line, to spot a literal header
	for {
		chunk, err := d.r.ReadSlice('\n')
		if err != nil && err != bufio.ErrBufferFull {
			return err
		}
		tail = append(tail, chunk...)
		if len(tail) > 32 {
			tail = append(tail[:0], tail[len(tail)-32:]...)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		line := bytes.TrimRight(tail, "\r\n")
		tail = tail[:0]
		size, nonSync, ok := literalSuffix(line)
		if !ok || !nonSync {
			d.lineLen = 0
			d.eol = true
			return nil
		}
		if _, err := io.CopyN(io.Discard, d.r, size); err != nil {
			return err
		}
	}
}

// literalSuffix reports whether line ends with "{n}" or "{n+}".
func literalSuffix(line []byte) (size int64, nonSync, ok bool) {
	if len(line) < 3 || line[len(line)-1] != '}' {
		return 0, false, false
	}
	line = line[:len(line)-1]
	if line[len(line)-1] == '+' {
		nonSync = true
		line = line[:len(line)-1]
	}
	i := bytes.LastIndexByte(line, '{')
	if i < 0 {
		return 0, false, false
	}
	n, err := strconv.ParseInt(string(line[i+1:]), 10, 63)
	if err != nil {
		return 0, false, false
	}
	return n, nonSync, true
}
