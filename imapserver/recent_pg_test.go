package imapserver

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mailroom/mailroom/message"
	"github.com/mailroom/mailroom/store"
)

// TestRecentAcrossNodes: two nodes on one PostgreSQL database, an
// IMAP4rev1 session on each with INBOX selected; each delivered message
// is \Recent in exactly one of them (issue 14 item 2, "across nodes").
func TestRecentAcrossNodes(t *testing.T) {
	ctx := context.Background()
	nodes, servers := pgNodes(t, 2)
	acct := servers[0].acct
	a, b := servers[0].login(), servers[1].login()
	a.transactf("ok", "select inbox")
	b.transactf("ok", "select inbox")
	const n = 6
	raw := strings.ReplaceAll(simpleMsg, "\n", "\r\n")
	for i := range n {
		// Alternate the delivering node.
		if _, err := nodes[i%2].Deliver(ctx, []store.Target{{AccountID: acct.ID}}, store.NewMessage{Raw: []byte(raw), Part: message.Parse([]byte(raw))}); err != nil {
			t.Fatal(err)
		}
		// Let one session or the other (or both) sync in between.
		switch i % 3 {
		case 0:
			a.transactf("ok", "noop")
		case 1:
			b.transactf("ok", "noop")
		}
	}
	// Both sessions see all messages (b's node learns by LISTEN/NOTIFY).
	deadline := time.Now().Add(30 * time.Second)
	for _, tc := range []*testConn{a, b} {
		for {
			rs := parseResps(t, tc.transactf("ok", "fetch 1:* (uid flags)"))
			if len(find(rs, "FETCH")) == n {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("session sees %q", rs)
			}
			time.Sleep(50 * time.Millisecond)
			tc.transactf("ok", "noop")
		}
	}
	recentIn := func(tc *testConn) map[string]bool {
		out := map[string]bool{}
		for _, r := range find(parseResps(t, tc.transactf("ok", "fetch 1:* (uid flags)")), "FETCH") {
			a := r.fetchAttrs()
			uid, _ := a["UID"].(string)
			out[uid] = slices.Contains(strs(a["FLAGS"]), `\Recent`)
		}
		return out
	}
	ra, rb := recentIn(a), recentIn(b)
	if len(ra) != n || len(rb) != n {
		t.Fatalf("FETCH %v %v", ra, rb)
	}
	inA := 0
	for uid := range ra {
		if ra[uid] == rb[uid] {
			t.Errorf("UID %s: \\Recent in A %v, in B %v; want exactly one", uid, ra[uid], rb[uid])
		}
		if ra[uid] {
			inA++
		}
	}
	if inA == 0 || inA == n {
		t.Errorf("all recent messages went to one node (%d of %d in A): the alternation did not happen", inA, n)
	}
}
