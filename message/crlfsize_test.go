package message

import (
	"bytes"
	"testing"
)

// crlfSizeModel splits raw into lines the way POP3 RETR does (each line
// ends at LF, a CR before it belongs to the ending; a last line without an
// LF is a line too) and counts each line plus CRLF.
func crlfSizeModel(raw []byte) int64 {
	var n int64
	for len(raw) > 0 {
		var line []byte
		if i := bytes.IndexByte(raw, '\n'); i >= 0 {
			line, raw = raw[:i], raw[i+1:]
			line = bytes.TrimSuffix(line, []byte{'\r'})
		} else {
			line, raw = raw, nil
		}
		n += int64(len(line)) + 2
	}
	return n
}

func TestCRLFSize(t *testing.T) {
	for _, c := range []struct {
		raw  string
		want int64
	}{
		{"", 0},
		{"\r\n", 2},
		{"\n", 2},
		{"\r", 3}, // a line holding CR, then CRLF
		{"a", 3},
		{"a\r\n", 3},
		{"a\n", 3},
		{"a\nb\n", 6},
		{"a\r\nb", 6},
		{"a\rb\r\n", 5},
		{"a\r\r\n", 4},
		{"\n\n", 4},
		{"\r\n\r\n", 4},
		{"Subject: x\n\nbody", 10 + 2 + 2 + 4 + 2},
	} {
		if got := CRLFSize([]byte(c.raw)); got != c.want {
			t.Errorf("CRLFSize(%q) = %d, want %d", c.raw, got, c.want)
		}
		if got := crlfSizeModel([]byte(c.raw)); got != c.want {
			t.Errorf("model(%q) = %d, want %d", c.raw, got, c.want)
		}
	}
}

func FuzzCRLFSize(f *testing.F) {
	for _, s := range []string{"", "\n", "\r", "\r\n", "\n\r", "a\nb\r\nc", "a\r\rb\r", ".\n..\r\n.", "\x00\n\xff\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if got, want := CRLFSize(raw), crlfSizeModel(raw); got != want {
			t.Fatalf("CRLFSize(%q) = %d, model says %d", raw, got, want)
		}
	})
}
