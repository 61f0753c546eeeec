package imapserver

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/mailroom/mailroom/message"
	"github.com/mailroom/mailroom/store"
)

// TestManyMessages crosses the chunk boundaries of FETCH and SEARCH.
func TestManyMessages(t *testing.T) {
	ts := startTestServer(t)
	raw := []byte(strings.ReplaceAll(simpleMsg, "\n", "\r\n"))
	msgs := make([]store.NewMessage, max(2*chunk, fetchChunk)+10)
	for i := range msgs {
		msgs[i] = store.NewMessage{Raw: raw, Part: message.Parse(raw)}
	}
	mb, err := ts.st.MailboxByName(context.Background(), ts.acct.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := ts.st.Append(context.Background(), mb.Ref(), msgs); err != nil {
		t.Fatal(err)
	}
	tc := ts.login()
	tc.transactf("ok", "select inbox")
	lines := tc.transactf("ok", "fetch 1:* (uid body[header.fields (subject)])")
	if len(lines) != len(msgs) {
		t.Fatalf("%d fetch responses for %d messages", len(lines), len(msgs))
	}
	n := len(msgs)
	hasLine(t, lines, fmt.Sprintf("* %d FETCH (UID %d FLAGS (\\Seen \\Recent) BODY[HEADER.FIELDS (SUBJECT)]", n, n))
	lines = tc.transactf("ok", "search return (count) seen")
	hasLine(t, lines, fmt.Sprintf("COUNT %d", n))
}

func TestExpungeModSeqAndMoveVanished(t *testing.T) {
	ts := startTestServer(t)
	for range 3 {
		ts.deliver("", simpleMsg)
	}
	tc := ts.login()
	tc.transactf("ok", "enable qresync")
	tc.transactf("ok", "select inbox")
	tc.transactf("ok", `store 1 +flags.silent (\Deleted)`)
	lines := tc.transactf("ok", "expunge")
	hasLine(t, lines, "* VANISHED 1")
	if tc.taggedCode() != "HIGHESTMODSEQ" || len(tc.tagged().codeArgs()) != 1 {
		t.Fatal(tc.lastTagged)
	}
	lines = tc.transactf("ok", "move 1:2 Archive")
	hasLine(t, lines, "* OK [COPYUID ")
	hasLine(t, lines, "* VANISHED 2:3")
	lines = tc.transactf("ok", "status Archive (messages)")
	hasLine(t, lines, "MESSAGES 2")
}
