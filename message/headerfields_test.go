package message

import (
	"strings"
	"testing"
)

// headerFieldsRef is HeaderFields as it was before it stopped building a
// field (name string, unfolded value) per header line: the reference the
// allocation-free version must agree with.
func headerFieldsRef(header []byte, names []string, not bool) []byte {
	var out []byte
	for _, f := range scanFields(header) {
		match := false
		for _, n := range names {
			if strings.EqualFold(f.name, n) {
				match = true
				break
			}
		}
		if match == not {
			continue
		}
		for i := 0; i < len(f.raw); i++ {
			switch c := f.raw[i]; {
			case c == '\r' && i+1 < len(f.raw) && f.raw[i+1] == '\n':
				out = append(out, '\r', '\n')
				i++
			case c == '\n':
				out = append(out, '\r', '\n')
			default:
				out = append(out, c)
			}
		}
		if n := len(out); n < 2 || out[n-2] != '\r' || out[n-1] != '\n' {
			out = append(out, '\r', '\n')
		}
	}
	return append(out, '\r', '\n')
}

// FuzzHeaderFields: HeaderFields gives the bytes of the reference for any
// header and field name, with and without NOT.
func FuzzHeaderFields(f *testing.F) {
	for _, s := range []string{walkthrough, nested, "", "\r\n", "Subject: a\r\n folded\r\nFrom: A <a@b>\r\n\r\nbody",
		"Subject: bare\nFrom: x\r\r\n\r\n", "Subject : spaced\r\n\tcont\n\n", " stray\r\nSubject:x", "Subject: no line ending",
		"From: a\rb\r\nK: kelvin\r\n\r\n"} {
		f.Add([]byte(s), "subject")
		f.Add([]byte(s), "\u212a")
	}
	f.Fuzz(func(t *testing.T, hdr []byte, name string) {
		for _, not := range []bool{false, true} {
			names := []string{name, "from"}
			if got, want := HeaderFields(hdr, names, not), headerFieldsRef(hdr, names, not); string(got) != string(want) {
				t.Fatalf("HeaderFields(%q, %q, not=%v) = %q, want %q", hdr, names, not, got, want)
			}
		}
	})
}

func TestHeaderFieldsAllocs(t *testing.T) {
	hdr := []byte("From: Alice <a@example.org>\r\nTo: b@example.org\r\nSubject: message\r\n folded\r\nDate: Thu, 26 Nov 2026 09:00:00 +0000\r\nMessage-ID: <1@example.org>\r\nMIME-Version: 1.0\r\n\r\n")
	names := []string{"FROM", "TO", "SUBJECT", "DATE", "MESSAGE-ID"}
	if n := testing.AllocsPerRun(100, func() { HeaderFields(hdr, names, false) }); n > 4 {
		t.Errorf("HeaderFields: %v allocations, want at most 4 (the result growing)", n)
	}
}
