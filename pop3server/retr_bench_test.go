package pop3server

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"
)

// BenchmarkRetr: RETR of 200 messages of about 30 KB (CRLF, a few lines
// starting with "."), as bench/run's POP3 scenario; reports MB/s of
// message data (SetBytes).
// Run: go test -run '^$' -bench Retr -benchtime 5x ./pop3server
func BenchmarkRetr(b *testing.B) {
	const n = 200
	msgs := make([]string, n)
	var total int64
	for i := range msgs {
		body := strings.Repeat("a line of body text in a message of about 30 KB, as the bench mix\r\n.and one that starts with a dot\r\n", 225)
		msgs[i] = fmt.Sprintf("From: a@example.org\r\nSubject: message %d\r\n\r\n%s", i, body)
		total += int64(len(msgs[i]))
	}
	ts, _ := newSQLiteServer(b, msgs...)
	c := loginEventually(b, ts)
	b.SetBytes(total)
	for b.Loop() {
		for i := 1; i <= n; i++ {
			c.send(fmt.Sprintf("RETR %d", i))
			c.conn.SetReadDeadline(time.Now().Add(time.Minute))
			first, err := c.r.ReadSlice('\n')
			if err != nil || !bytes.HasPrefix(first, []byte("+OK ")) {
				b.Fatalf("RETR %d: %q %v", i, first, err)
			}
			for {
				l, err := c.r.ReadSlice('\n')
				if err != nil {
					b.Fatal(err)
				}
				if len(l) == 3 && l[0] == '.' {
					break
				}
			}
		}
	}
}

// BenchmarkWriteMessage: the CPU cost of formatting one 30 KB message for
// RETR, without network or store: line by line (the former writer) and
// in one pass (writeWhole), for a CRLF message with no dot-lines and one
// where every other line starts with ".".
// Run: go test -run '^$' -bench WriteMessage ./pop3server
func BenchmarkWriteMessage(b *testing.B) {
	for _, m := range []struct{ name, line string }{
		{"plain", "a line of body text in a message of about 30 KB, as the bench mix\r\n"},
		{"dots", "a line of body text in a message of about 30 KB, as the bench mix\r\n.and a dot\r\n"},
	} {
		raw := []byte("From: a@example.org\r\nSubject: x\r\n\r\n" + strings.Repeat(m.line, 30<<10/len(m.line)))
		w := bufio.NewWriter(io.Discard)
		b.Run(m.name+"/lines", func(b *testing.B) {
			b.SetBytes(int64(len(raw)))
			for b.Loop() {
				eachLine(raw, func(line []byte) bool { writeDataLine(w, line); return true })
				w.WriteString(".\r\n")
			}
		})
		b.Run(m.name+"/onepass", func(b *testing.B) {
			b.SetBytes(int64(len(raw)))
			for b.Loop() {
				writeWhole(w, raw)
			}
		})
	}
}
