package imapmsg

import (
	"testing"

	"github.com/mailroom/mailroom/message"
)

func TestBodyStructureWalkthrough(t *testing.T) {
	p := message.Parse([]byte(walkthroughMsg))
	text := `("TEXT" "PLAIN" ("CHARSET" "ISO-8859-1" "FORMAT" "flowed") NIL NIL "7BIT" 34 1`
	att := `("TEXT" "PLAIN" ("NAME" "foo.txt") NIL NIL "BASE64" 4 1`
	wantExt := `(` + text + ` NIL NIL NIL NIL)` + att + ` NIL ("INLINE" ("FILENAME" "foo.txt")) NIL NIL)` +
		` "MIXED" ("BOUNDARY" "------------030709070003020306050102") NIL NIL NIL)`
	if got := string(AppendBodyStructure(nil, p, true)); got != wantExt {
		t.Errorf("BODYSTRUCTURE:\n got %s\nwant %s", got, wantExt)
	}
	want := `(` + text + `)` + att + `) "MIXED")`
	if got := string(AppendBodyStructure(nil, p, false)); got != want {
		t.Errorf("BODY:\n got %s\nwant %s", got, want)
	}
}

func TestBodyStructureSimple(t *testing.T) {
	p := message.Parse([]byte(crlf("Subject: x\n\nhello\nworld\n")))
	if got, want := string(AppendBodyStructure(nil, p, true)), `("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 14 2 NIL NIL NIL NIL)`; got != want {
		t.Errorf("BODYSTRUCTURE = %s, want %s", got, want)
	}
	p = message.Parse([]byte(crlf("Content-Type: image/png; name=a.png\nContent-ID: <id1>\nContent-Description: a picture\nContent-Transfer-Encoding: base64\nContent-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==\nContent-Location: http://example.com/a.png\n\niVBORw0KGgo=\n")))
	want := `("IMAGE" "PNG" ("NAME" "a.png") "<id1>" "a picture" "BASE64" 14 "Q2hlY2sgSW50ZWdyaXR5IQ==" NIL NIL "http://example.com/a.png")`
	if got := string(AppendBodyStructure(nil, p, true)); got != want {
		t.Errorf("BODYSTRUCTURE = %s, want %s", got, want)
	}
	if got, want := string(AppendBodyStructure(nil, p, false)), `("IMAGE" "PNG" ("NAME" "a.png") "<id1>" "a picture" "BASE64" 14)`; got != want {
		t.Errorf("BODY = %s, want %s", got, want)
	}
}

func TestBodyStructureNested(t *testing.T) {
	p := message.Parse([]byte(nestedMsg))
	innerEnv := `(NIL "inner subject" ((NIL NIL "inner" "example.net")) ((NIL NIL "inner" "example.net")) ((NIL NIL "inner" "example.net")) NIL NIL NIL NIL NIL)`
	inner := `(("TEXT" "PLAIN" NIL NIL NIL "7BIT" 18 1 NIL NIL NIL NIL)("TEXT" "HTML" NIL NIL NIL "7BIT" 17 1 NIL NIL NIL NIL) "ALTERNATIVE" ("BOUNDARY" "inner") NIL NIL NIL)`
	want := `(("TEXT" "PLAIN" ("CHARSET" "iso-8859-1") NIL NIL "QUOTED-PRINTABLE" 29 1 NIL NIL ("de") NIL)` +
		`("MESSAGE" "RFC822" NIL NIL "forwarded" "7BIT" 225 ` + innerEnv + ` ` + inner + ` 13 NIL NIL NIL NIL)` +
		` "MIXED" ("BOUNDARY" "outer") NIL NIL NIL)`
	if got := string(AppendBodyStructure(nil, p, true)); got != want {
		t.Errorf("BODYSTRUCTURE:\n got %s\nwant %s", got, want)
	}
}

func TestBodyStructureDegenerate(t *testing.T) {
	for _, p := range []*message.Part{nil, {MediaType: "multipart", MediaSubtype: "mixed"}, {MediaType: "message", MediaSubtype: "rfc822"}} {
		for _, ext := range []bool{false, true} {
			b := AppendBodyStructure(nil, p, ext)
			if !balanced(b) {
				t.Errorf("AppendBodyStructure(%+v, %v) = %s: unbalanced", p, ext, b)
			}
		}
	}
	got := string(AppendBodyStructure(nil, &message.Part{MediaType: "multipart", MediaSubtype: "mixed"}, false))
	if want := `(("TEXT" "PLAIN" NIL NIL NIL "7BIT" 0 0) "MIXED")`; got != want {
		t.Errorf("empty multipart = %s, want %s", got, want)
	}
}

// balanced reports whether the parentheses of an IMAP response fragment
// outside quoted strings and literals balance.
func balanced(b []byte) bool {
	depth := 0
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '"':
			for i++; i < len(b) && b[i] != '"'; i++ {
				if b[i] == '\\' {
					i++
				}
			}
			if i >= len(b) {
				return false
			}
		case '{':
			n, j := 0, i+1
			for ; j < len(b) && b[j] >= '0' && b[j] <= '9'; j++ {
				n = n*10 + int(b[j]-'0')
			}
			if j+2 >= len(b) || b[j] != '}' || b[j+1] != '\r' || b[j+2] != '\n' {
				return false
			}
			// The literal's n bytes follow the CRLF; i ends on the last.
			i = j + 2 + n
			if i >= len(b) {
				return false
			}
		case '(':
			depth++
		case ')':
			depth--
			if depth < 0 {
				return false
			}
		}
	}
	return depth == 0
}
