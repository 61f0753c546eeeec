package imapserver

import (
	"fmt"
	"strings"
	"testing"
)

// TestFetchBodiesBatched: FETCH of bytes for many messages reads them a
// batch at a time, bounded in bytes, and every message comes back exactly
// as stored, large ones included; ENVELOPE of a large message reads
// neither its bytes nor its tree (only its header, TestFetchHeaders).
func TestFetchBodiesBatched(t *testing.T) {
	cs := &countingStore{}
	ts := startTestServer(t, func(c *Config) { cs.Store = c.Store; c.Store = cs })
	var want []string
	add := func(subject string, bodySize int) {
		body := strings.Repeat(subject+" line of text\n", bodySize/(len(subject)+14)+1)
		raw := "Subject: " + subject + "\n\n" + body
		ts.deliver("", raw)
		want = append(want, strings.ReplaceAll(raw, "\n", "\r\n"))
	}
	for i := range 100 {
		add(fmt.Sprintf("small%d", i), 200)
	}
	add("huge", 3<<20) // above bodyAloneSize: read on its own
	for i := range 6 {
		add(fmt.Sprintf("big%d", i), 900<<10) // four fill a batch
	}
	tc := ts.login()
	tc.transactf("ok", "select INBOX")
	cs.lists.Store(0)
	lines := tc.transactf("ok", "fetch 1:* (UID BODY.PEEK[])")
	if len(lines) != len(want) {
		t.Fatalf("%d FETCH responses, want %d", len(lines), len(want))
	}
	for i, l := range lines {
		prefix := fmt.Sprintf("* %d FETCH (UID %d BODY[] {%d}\r\n", i+1, i+1, len(want[i]))
		if !strings.HasPrefix(l, prefix) || l[len(prefix):] != want[i]+")" {
			t.Fatalf("response %d: got %.80q..., want %q + the message", i+1, l, prefix)
		}
	}
	// 100 small ones in batches of 64 (2), the huge one alone (1, through
	// MessageBody), six of 900 KiB four per 4 MiB batch (2).
	if n, b := cs.lists.Load(), cs.bodies.Load(); n > 5 || b != 1 {
		t.Errorf("%d ReadBodies/ListBodies and %d MessageBody calls for %d messages, want <= 5 and 1", n, b, len(want))
	}

	cs.lists.Store(0)
	cs.bodies.Store(0)
	cs.parts.Store(0)
	lines = tc.transactf("ok", "fetch 101 (ENVELOPE)")
	hasLine(t, lines, `"huge"`)
	if cs.lists.Load() != 0 || cs.bodies.Load() != 0 || cs.parts.Load() != 0 {
		t.Errorf("ENVELOPE of the huge message: %d ListBodies, %d MessageBody, %d MessagePart; want none",
			cs.lists.Load(), cs.bodies.Load(), cs.parts.Load())
	}
	hasLine(t, tc.transactf("ok", "uid search body huge"), "* SEARCH 101")
	hasLine(t, tc.transactf("ok", "search text small7"), "* SEARCH 8 71 72 73 74 75 76 77 78 79 80")
	hasLine(t, tc.transactf("ok", "search body big5"), "* SEARCH 107")
}
