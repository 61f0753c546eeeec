package message

import (
	"strings"
	"testing"
)

func BenchmarkParseLarge(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(crlf("From: a@b\nSubject: big\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nhello\n--b\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\n"))
	line := strings.Repeat("QUJD", 19) + "\r\n"
	for sb.Len() < 10<<20 {
		sb.WriteString(line)
	}
	sb.WriteString("--b--\r\n")
	raw := []byte(sb.String())
	b.SetBytes(int64(len(raw)))
	b.ResetTimer()
	for b.Loop() {
		if p := Parse(raw); len(p.Parts) != 2 {
			b.Fatal("bad parse")
		}
	}
}
