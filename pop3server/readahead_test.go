package pop3server

import (
	"fmt"
	"strings"
	"testing"
)

// TestRetrReadsAhead: a client downloading the maildrop in order (RETR 1,
// RETR 2, ...) costs one store read per readAheadBytes of messages, not
// one per message, and gets every message exactly; a client that jumps
// around, a deleted message and a message larger than the read-ahead
// budget still get what they ask for.
func TestRetrReadsAhead(t *testing.T) {
	ts := newTestServer(t, nil)
	var raws []string
	for i := range 20 {
		raw := fmt.Sprintf("Subject: m%d\r\n\r\n.starts with a dot\r\n%s\r\n", i, strings.Repeat("x", i*100))
		raws = append(raws, raw)
		ts.store.addMessage(ts.acct.ID, raw)
	}
	big := "Subject: big\r\n\r\n" + strings.Repeat(strings.Repeat("y", 998)+"\r\n", readAheadBytes/1000+10)
	raws = append(raws, big)
	ts.store.addMessage(ts.acct.ID, big)
	c := ts.login(t)
	retr := func(n int) {
		t.Helper()
		c.expect(fmt.Sprintf("RETR %d", n), fmt.Sprintf("+OK %d octets", len(raws[n-1])))
		if got := unstuff(c.data()); got != raws[n-1] {
			t.Fatalf("RETR %d sent %d bytes %.40q, want %d bytes %.40q", n, len(got), got, len(raws[n-1]), raws[n-1])
		}
	}
	c.expect("DELE 7", "+OK message 7 deleted")
	before := ts.store.reads()
	for n := 1; n <= 6; n++ {
		retr(n)
	}
	if got := ts.store.reads() - before; got != 1 {
		t.Errorf("RETR 1..6 in order read the store %d times, want 1", got)
	}
	c.expect("RETR 7", "-ERR message 7 already deleted")
	retr(8)
	retr(3) // out of order: read alone
	retr(15)
	retr(16)
	retr(21) // larger than the budget: read alone
	retr(20)
	c.expect("RSET", fmt.Sprintf("+OK maildrop has 21 messages (%d octets)", totalLen(raws)))
	for n := 1; n <= 21; n++ {
		retr(n)
	}
	if got := ts.store.reads() - before; got > 12 {
		t.Errorf("%d store reads for 33 RETRs, want read-ahead to batch them", got)
	}
}

func totalLen(raws []string) int {
	n := 0
	for _, r := range raws {
		n += len(r)
	}
	return n
}
