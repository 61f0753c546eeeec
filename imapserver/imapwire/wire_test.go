package imapwire

import (
	"bufio"
	"bytes"
	"errors"
	"strings"
	"testing"
)

func newDec(s string) (*Decoder, *int) {
	d := NewDecoder(bufio.NewReaderSize(strings.NewReader(s), 4096))
	n := new(int)
	d.Continue = func() error { *n++; return nil }
	return d, n
}

func TestDecodeCommand(t *testing.T) {
	d, conts := newDec("a1 LOGIN \"us\\\"er\" {4}\r\npass\r\nb FETCH 1 (FLAGS)\r\n")
	tag, _ := d.AtomFunc("tag", IsAtomChar)
	d.SP()
	cmd, _ := d.Atom()
	d.SP()
	user, err := d.AString()
	if err != nil || user != `us"er` {
		t.Fatalf("user %q %v", user, err)
	}
	d.SP()
	pass, err := d.AString()
	if err != nil || pass != "pass" || *conts != 1 {
		t.Fatalf("pass %q %v conts %d", pass, err, *conts)
	}
	if err := d.CRLF(); err != nil {
		t.Fatal(err)
	}
	if tag != "a1" || cmd != "LOGIN" {
		t.Fatal(tag, cmd)
	}
	tag, _ = d.Atom()
	if tag != "b" {
		t.Fatal(tag)
	}
}

func TestDiscardResync(t *testing.T) {
	d, conts := newDec("a BAD \"x {3+}\r\nabc more\r\nz NOOP\r\n")
	d.Atom()
	d.SP()
	d.Atom()
	d.SP()
	if _, err := d.Number(); err == nil {
		t.Fatal("expected error")
	}
	if err := d.Discard(); err != nil {
		t.Fatal(err)
	}
	tag, err := d.Atom()
	if tag != "z" || err != nil || *conts != 0 {
		t.Fatalf("%q %v", tag, err)
	}
}

func TestLiteralTooBig(t *testing.T) {
	d, conts := newDec("a APPEND x {100}\r\nb NOOP\r\n")
	d.MaxLiteralSize = 10
	d.Atom()
	d.SP()
	d.Atom()
	d.SP()
	d.Atom()
	d.SP()
	_, _, err := d.Literal(true)
	var tb *LiteralTooBigError
	if !errors.As(err, &tb) || *conts != 0 {
		t.Fatal(err)
	}
	d.Discard()
	if tag, _ := d.Atom(); tag != "b" {
		t.Fatal(tag)
	}
	// Non-synchronizing: the bytes are skipped.
	d, _ = newDec("a APPEND x {12+}\r\n0123456789\r\n\r\nb NOOP\r\n")
	d.MaxLiteralSize = 10
	for range 3 {
		d.Atom()
		d.SP()
	}
	if _, _, err := d.Literal(true); !errors.As(err, &tb) {
		t.Fatal(err)
	}
	d.Discard()
	if tag, _ := d.Atom(); tag != "b" {
		t.Fatal(tag)
	}
}

func TestLineTooLong(t *testing.T) {
	d, _ := newDec("a " + strings.Repeat("x", 100) + "\r\nb NOOP\r\n")
	d.MaxLineLength = 50
	d.Atom()
	d.SP()
	if _, err := d.Atom(); err != ErrLineTooLong {
		t.Fatal(err)
	}
	d.Discard()
	if tag, _ := d.Atom(); tag != "b" {
		t.Fatal(tag)
	}
}

func TestEncoder(t *testing.T) {
	var buf bytes.Buffer
	w := bufio.NewWriter(&buf)
	e := NewEncoder(w)
	e.Raw("* ").Quoted(`a"b\`).SP().String("x\r\ny").SP().AString("INBOX").SP().AString("a b").SP().NIL().SP().Number(7).CRLF()
	e.Flush()
	want := "* \"a\\\"b\\\\\" {4}\r\nx\r\ny INBOX \"a b\" NIL 7\r\n"
	if buf.String() != want {
		t.Fatalf("%q", buf.String())
	}
}

func TestMUTF7(t *testing.T) {
	cases := map[string]string{
		"INBOX":          "INBOX",
		"a&b":            "a&-b",
		"Entwürfe":       "Entw&APw-rfe",
		"日本語":            "&ZeVnLIqe-",
		"~peter/mail/台北": "~peter/mail/&U,BTFw-",
	}
	for in, want := range cases {
		if got := EncodeMUTF7(in); got != want {
			t.Errorf("encode %q = %q want %q", in, got, want)
		}
		if got, err := DecodeMUTF7(want); err != nil || got != in {
			t.Errorf("decode %q = %q %v", want, got, err)
		}
	}
	for _, bad := range []string{"&", "&Jjo", "&AGE-", "\x80"} {
		if _, err := DecodeMUTF7(bad); err == nil {
			t.Errorf("decode %q: no error", bad)
		}
	}
}

// FuzzDecoder reads arbitrary input as a sequence of commands made of
// astrings and lists; it must never panic or loop.
func FuzzDecoder(f *testing.F) {
	for _, s := range []string{"a LOGIN u p\r\n", "a x {3}\r\nabc\r\n", "a (b (c) \"d\") {2+}\r\nxy\r\n", "~{1}\r\nx", "a \"\\q\"\r\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, _ := newDec(s)
		d.MaxLiteralSize = 100
		d.MaxLineLength = 200
		for range 1000 {
			var err error
			var item func() error
			item = func() error {
				if d.PeekIs('(') {
					return d.List(item)
				}
				if d.PeekIs('~') {
					_, _, err := d.Literal(true)
					return err
				}
				_, err := d.AString()
				return err
			}
			for err == nil && !d.AtEOL() {
				if err = item(); err == nil && !d.AtEOL() {
					err = d.SP()
				}
			}
			if err == nil {
				err = d.CRLF()
			}
			if err != nil {
				if err := d.Discard(); err != nil {
					return
				}
			}
		}
	})
}

func FuzzMUTF7(f *testing.F) {
	f.Add("Entw&APw-rfe")
	f.Fuzz(func(t *testing.T, s string) {
		dec, err := DecodeMUTF7(s)
		if err != nil {
			return
		}
		if got, err := DecodeMUTF7(EncodeMUTF7(dec)); err != nil || got != dec {
			t.Fatalf("round trip %q -> %q -> %q", s, dec, got)
		}
	})
}

// TestCommandSize: a command's literals count into MaxCommandSize, its
// message literals (MessageLiteral) do not; RefuseLiteral skips a refused
// non-synchronizing literal.
func TestCommandSize(t *testing.T) {
	d, _ := newDec("a S {5+}\r\n01234 {5+}\r\n01234\r\nb NOOP\r\n")
	d.MaxCommandSize = 24 // 22 bytes of lines and literal before the second literal
	d.BeginCommand()
	d.Atom()
	d.SP()
	d.Atom()
	d.SP()
	if _, _, err := d.Literal(false); err != nil {
		t.Fatal(err)
	}
	d.SP()
	var tb *LiteralTooBigError
	if _, _, err := d.Literal(false); !errors.As(err, &tb) {
		t.Fatalf("second literal: %v, want LiteralTooBigError", err)
	}
	d.Discard()
	d.BeginCommand()
	if tag, _ := d.Atom(); tag != "b" {
		t.Fatal(tag)
	}
	d.SP()
	d.Atom()
	d.CRLF()

	// Message literals are bounded by MaxLiteralSize only.
	d, _ = newDec("a A {20+}\r\n01234567890123456789 {3+}\r\nabc\r\nb NOOP\r\n")
	d.MaxCommandSize = 20
	d.BeginCommand()
	d.Atom()
	d.SP()
	d.Atom()
	d.SP()
	if b, _, err := d.MessageLiteral(false); err != nil || len(b) != 20 {
		t.Fatalf("message literal: %q %v", b, err)
	}
	d.SP()
	li, err := d.MessageLiteralHeader(false)
	if err != nil {
		t.Fatal(err)
	}
	d.RefuseLiteral(li)
	d.Discard()
	if tag, _ := d.Atom(); tag != "b" {
		t.Fatal(tag)
	}

	// Line bytes count too.
	d, _ = newDec("a " + strings.Repeat("x", 30) + "\r\n")
	d.MaxCommandSize = 16
	d.BeginCommand()
	d.Atom()
	d.SP()
	if _, err := d.Atom(); !errors.Is(err, ErrCommandTooBig) {
		t.Fatalf("long command: %v", err)
	}
}
