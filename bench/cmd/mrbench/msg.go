package main

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"time"
)

var words = []string{"alpha", "budget", "meeting", "report", "quarter", "server", "deploy", "coffee",
	"lunch", "review", "invoice", "travel", "schedule", "project", "update", "release", "kernel", "backup"}

// searchWord appears in one message in ten, for SEARCH TEXT.
const searchWord = "zebrafish"

// makeMessage builds a realistic message of roughly size bytes. Messages
// above 16 KB are multipart/mixed with a base64 attachment.
func makeMessage(rng *rand.Rand, i int, size int, to string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: Sender %d <sender%d@example.net>\r\n", i%50, i%50)
	fmt.Fprintf(&b, "To: <%s>\r\n", to)
	fmt.Fprintf(&b, "Subject: %s %s %d\r\n", words[rng.IntN(len(words))], words[rng.IntN(len(words))], i)
	fmt.Fprintf(&b, "Date: %s\r\n", time.Now().Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Message-ID: <bench-%d-%d@example.net>\r\nMIME-Version: 1.0\r\n", i, rng.Int64())
	text := func(n int) {
		col := 0
		if i%10 == 0 {
			b.WriteString(searchWord + " ")
		}
		for w := 0; w < n; {
			s := words[rng.IntN(len(words))]
			b.WriteString(s)
			w += len(s) + 1
			col += len(s) + 1
			if col > 70 {
				b.WriteString("\r\n")
				col = 0
				w++
			} else {
				b.WriteByte(' ')
			}
		}
		b.WriteString("\r\n")
	}
	if size <= 16<<10 {
		b.WriteString("Content-Type: text/plain; charset=utf-8\r\n\r\n")
		text(size - b.Len())
		return b.Bytes()
	}
	bnd := fmt.Sprintf("bnd%d", i)
	fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=%q\r\n\r\n", bnd)
	fmt.Fprintf(&b, "--%s\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n", bnd)
	text(2000)
	fmt.Fprintf(&b, "--%s\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"file%d.bin\"\r\n\r\n", bnd, i)
	raw := make([]byte, (size-b.Len()-len(bnd)-10)*3/4*76/78) // base64 + CRLF per 76
	for k := range raw {
		raw[k] = byte(rng.Uint32())
	}
	enc := base64.StdEncoding.EncodeToString(raw)
	for len(enc) > 76 {
		b.WriteString(enc[:76])
		b.WriteString("\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc)
	fmt.Fprintf(&b, "\r\n--%s--\r\n", bnd)
	return b.Bytes()
}

// mixSize draws from the size mix: 70% 2–10 KB, 20% 20–60 KB with an
// attachment, 10% 100–200 KB with an attachment.
func mixSize(rng *rand.Rand) int {
	switch p := rng.IntN(10); {
	case p < 7:
		return 2<<10 + rng.IntN(8<<10)
	case p < 9:
		return 20<<10 + rng.IntN(40<<10)
	default:
		return 100<<10 + rng.IntN(100<<10)
	}
}
