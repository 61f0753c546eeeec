package imapmsg

import (
	"bytes"
	"encoding/base64"
	"testing"

	"github.com/mailroom/mailroom/message"
)

func TestEncodeNULParts(t *testing.T) {
	raw := []byte("Subject: x\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n" +
		"--b\r\nContent-Transfer-Encoding:\r\n binary\r\nContent-Type: application/octet-stream\r\n\r\nA\x00B\r\n" +
		"--b\r\nContent-Type: text/plain\r\n\r\nplain\r\n" +
		"--b\r\nContent-Transfer-Encoding: base64\r\n\r\nQUJD\r\n--b--\r\n")
	out, changed := EncodeNULParts(raw, message.Parse(raw))
	if !changed || bytes.IndexByte(out, 0) >= 0 {
		t.Fatalf("changed %v: %q", changed, out)
	}
	p := message.Parse(out)
	if len(p.Parts) != 3 || p.Parts[0].Encoding != "base64" || p.Parts[1].Encoding != "" || p.Parts[2].Encoding != "base64" {
		t.Fatalf("parts %+v", p.Parts)
	}
	if b, err := BinaryBytes(out, p, []int{1}); err != nil || string(b) != "A\x00B" {
		t.Fatalf("BINARY[1] %q %v", b, err)
	}
	if b, _ := SectionBytes(out, p, Section{Part: []int{2}}); string(b) != "plain" {
		t.Fatalf("part 2 %q", b)
	}
	if want := base64.StdEncoding.EncodeToString([]byte("A\x00B")); !bytes.Contains(out, []byte("\r\n\r\n"+want+"\r\n--b\r\n")) {
		t.Fatalf("%q", out)
	}
	// Nothing to do: the same bytes.
	plain := []byte("Subject: x\r\n\r\nhi\r\n")
	if out, changed := EncodeNULParts(plain, message.Parse(plain)); changed || !bytes.Equal(out, plain) {
		t.Fatal("changed a message without NUL")
	}
}
