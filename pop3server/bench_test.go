package pop3server

import (
	"fmt"
	"strings"
	"testing"
)

// BenchmarkStat measures STAT of a 1,000-message maildrop in a new
// session, the command a POP3 client sends first. The sizes come from the
// metadata read at login (MessageMeta.WireSize); no body is read. Login is
// not timed.
// Run: go test -run '^$' -bench Stat -benchtime 20x ./pop3server
func BenchmarkStat(b *testing.B) {
	const n = 1000
	msgs := make([]string, n)
	total := 0
	for i := range msgs {
		msgs[i] = fmt.Sprintf("From: a@example.org\r\nSubject: message %d\r\n\r\n%s\r\n", i, strings.Repeat("a line of body text in a message of about 30 KB, as the bench mix\r\n", 450))
		total += len(msgs[i])
	}
	ts, _ := newSQLiteServer(b, msgs...)
	want := fmt.Sprintf("+OK %d %d", n, total)
	for b.Loop() {
		b.StopTimer()
		c := loginEventually(b, ts)
		b.StartTimer()
		c.expect("STAT", want)
		b.StopTimer()
		c.expect("QUIT", "+OK pop.example.com POP3 server signing off")
		c.closed()
		b.StartTimer()
	}
}
