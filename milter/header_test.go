package milter

import (
	"bytes"
	"strings"
	"testing"

	gomilter "github.com/emersion/go-milter"
)

func TestApplyEdits(t *testing.T) {
	t.Parallel()
	raw := []byte("Received: from a\r\n\tby b\r\nSubject: one\r\nX-Tag: 1\r\nx-tag: 2\r\n\r\nbody\r\n")
	hdr, body := splitHeader(raw)
	fields := parseFields(hdr)
	if len(fields) != 4 || fields[0].name != "Received" || fields[0].milterValue() != "from a\n\tby b" {
		t.Fatalf("fields %+v", fields)
	}
	out := applyEdits(hdr, body, fields, []edit{
		{code: gomilter.ActChangeHeader, index: 2, name: "X-Tag", value: "two"},
		{code: gomilter.ActChangeHeader, index: 1, name: "Subject", value: ""},
		{code: gomilter.ActInsertHeader, index: 1, name: "X-Second", value: "s"},
		{code: gomilter.ActAddHeader, name: "X-Multi", value: "a\nb\r\n c\r"},
		{code: gomilter.ActChangeHeader, index: 1, name: "X-Absent", value: "added"},
		{code: gomilter.ActChangeHeader, index: 1, name: "X-Absent-Too", value: ""},
	})
	want := "Received: from a\r\n\tby b\r\nX-Second: s\r\nX-Tag: 1\r\nX-Tag: two\r\nX-Multi: a\r\n\tb\r\n c\r\nX-Absent: added\r\n\r\nbody\r\n"
	if string(out) != want {
		t.Fatalf("got\n%q\nwant\n%q", out, want)
	}
}

func TestParseReply(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		code int
		text string
		want *Reply
	}{
		{554, "5.7.1 Spam message rejected", &Reply{554, [3]int{5, 7, 1}, "Spam message rejected"}},
		{451, "4.7.1 Try later", &Reply{451, [3]int{4, 7, 1}, "Try later"}},
		{550, "4.7.1 wrong class", &Reply{550, [3]int{}, "4.7.1 wrong class"}},
		{550, "Go away\r\n550 second line", &Reply{550, [3]int{}, "Go away"}},
		{550, "bad\x00\x1bbytes\xff", &Reply{550, [3]int{}, "bad  bytes"}},
		{250, "2.0.0 ok", nil},
		{999, "x", nil},
	} {
		got := parseReply(tc.code, tc.text)
		if (got == nil) != (tc.want == nil) || (got != nil && *got != *tc.want) {
			t.Errorf("parseReply(%d, %q) = %+v, want %+v", tc.code, tc.text, got, tc.want)
		}
	}
}

func TestParseAddress(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"inet:127.0.0.1:11332":  "tcp 127.0.0.1:11332",
		"inet6:[::1]:11332":     "tcp [::1]:11332",
		"unix:/run/milter.sock": "unix /run/milter.sock",
		"inet:localhost":        "error",
		"tcp:127.0.0.1:1":       "error",
		"inet:127.0.0.1:99999":  "error",
		"unix:":                 "error",
	} {
		n, a, err := ParseAddress(in)
		got := n + " " + a
		if err != nil {
			got = "error"
		}
		if got != want {
			t.Errorf("ParseAddress(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzApplyEdits: whatever the message and the milter's change, the
// body is kept byte for byte, the header the edit wrote is one field
// (CRLF line ends, continuation lines folded, no control characters
// but tab), and parsing never loses bytes of the original header.
func FuzzApplyEdits(f *testing.F) {
	f.Add([]byte("Subject: a\r\nX: b\r\n\r\nbody"), byte('h'), 1, "X-New", "v\nw")
	f.Add([]byte("Subject: a\r\n folded\r\n\r\n"), byte('m'), 1, "subject", "")
	f.Add([]byte("\r\nno header"), byte('i'), 0, "X", "\x00\r\r\n")
	f.Add([]byte("no blank line\nbare LF: x"), byte('m'), 3, "No", "z")
	f.Fuzz(func(t *testing.T, raw []byte, code byte, index int, name, value string) {
		hdr, body := splitHeader(raw)
		fields := parseFields(hdr)
		var joined []byte
		for _, fl := range fields {
			joined = append(joined, fl.raw...)
			_ = fl.milterValue()
		}
		if !bytes.Equal(joined, hdr) {
			t.Fatalf("fields %q do not add up to the header %q", joined, hdr)
		}
		m := gomilter.ModifyAction{Code: gomilter.ModifyActCode(code), HeaderIndex: uint32(index), HeaderName: name, HeaderValue: value}
		switch m.Code {
		case gomilter.ActAddHeader, gomilter.ActInsertHeader, gomilter.ActChangeHeader:
		default:
			return
		}
		e, err := newEdit(m)
		if err != nil {
			return
		}
		out := applyEdits(hdr, body, fields, []edit{e})
		if !bytes.HasSuffix(out, body) {
			t.Fatalf("body changed: %q -> %q", body, out)
		}
		nf := e.format()
		if !bytes.HasSuffix(nf, []byte("\r\n")) || bytes.Count(nf, []byte("\r")) != bytes.Count(nf, []byte("\r\n")) ||
			bytes.Count(nf, []byte("\n")) != bytes.Count(nf, []byte("\r\n")) {
			t.Fatalf("added field %q has bare CR or LF", nf)
		}
		for i, line := range strings.Split(strings.TrimSuffix(string(nf), "\r\n"), "\r\n") {
			if i > 0 && (line == "" || (line[0] != ' ' && line[0] != '\t')) {
				t.Fatalf("added field %q: line %d is not a continuation", nf, i)
			}
			for _, c := range []byte(line) {
				if (c < ' ' && c != '\t') || c == 0x7f {
					t.Fatalf("added field %q has control character %#x", nf, c)
				}
			}
		}
	})
}

// FuzzParseReply: a reply a milter chooses is either refused or a 4xx/5xx
// with a printable one-line text of bounded length and a matching
// enhanced code.
func FuzzParseReply(f *testing.F) {
	f.Add(554, "5.7.1 Spam message rejected")
	f.Add(451, "4.7.1\r\nmore")
	f.Add(550, "550-5.7.1 first\r\n550 5.7.1 second")
	f.Fuzz(func(t *testing.T, code int, text string) {
		r := parseReply(code, text)
		if r == nil {
			return
		}
		if r.Code < 400 || r.Code > 599 || len(r.Text) > maxReplyText {
			t.Fatalf("reply %+v", r)
		}
		if r.Enhanced != ([3]int{}) && r.Enhanced[0] != r.Code/100 {
			t.Fatalf("enhanced code %v for %d", r.Enhanced, r.Code)
		}
		for _, c := range []byte(r.Text) {
			if c < ' ' || c > '~' {
				t.Fatalf("text %q", r.Text)
			}
		}
	})
}
