package message

import (
	"reflect"
	"testing"
)

// FuzzParseTop: ParseTop agrees with Parse on the root's offsets and
// envelope, for any input.
func FuzzParseTop(f *testing.F) {
	for _, s := range []string{walkthrough, nested, "", "\r\n", "\n\nbody", "not a header\r\n\r\nx",
		"Subject: a\r\n folded\r\nFrom: A <a@b>\r\n\r\nbody", "Subject: no body", "Subject: x\n\n",
		"Content-Type: multipart/mixed; boundary=b\n\n--b\n--b--"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		full, top := Parse(raw), ParseTop(raw)
		if top.HeaderStart != full.HeaderStart || top.BodyStart != full.BodyStart || top.BodyEnd != full.BodyEnd {
			t.Fatalf("ParseTop offsets %d/%d/%d, Parse %d/%d/%d", top.HeaderStart, top.BodyStart, top.BodyEnd, full.HeaderStart, full.BodyStart, full.BodyEnd)
		}
		if !reflect.DeepEqual(top.Envelope, full.Envelope) {
			t.Fatalf("ParseTop envelope %+v, Parse %+v", top.Envelope, full.Envelope)
		}
		// The header alone (what the store keeps apart) ends where it ends.
		hdr := raw[:BodyStart(raw)]
		if n := BodyStart(hdr); n != len(hdr) {
			t.Fatalf("BodyStart of the header alone %q = %d, want %d", hdr, n, len(hdr))
		}
	})
}
