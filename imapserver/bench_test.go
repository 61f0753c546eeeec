package imapserver

import (
	"context"
	"fmt"
	"testing"

	"github.com/mailroom/mailroom/message"
	"github.com/mailroom/mailroom/store"
)

// fillInbox appends n small messages to the test account's INBOX in
// batches, straight through the store.
func (ts *testServer) fillInbox(n int) {
	ts.t.Helper()
	ts.appendToInbox(n, func(i int) []byte {
		return []byte(fmt.Sprintf("From: a@example.org\r\nTo: b@example.org\r\nSubject: message %d\r\n\r\nbody of message %d with the word needle%d\r\n", i, i, i%1000))
	})
}

// appendToInbox appends n messages, raw(i) the i-th, to the test
// account's INBOX straight through the store, 1,000 per Append.
func (ts *testServer) appendToInbox(n int, raw func(i int) []byte) {
	ts.t.Helper()
	ctx := context.Background()
	inbox, err := ts.st.MailboxByName(ctx, ts.acct.ID, store.Inbox)
	if err != nil {
		ts.t.Fatal(err)
	}
	const batch = 1000
	for done := 0; done < n; {
		k := min(batch, n-done)
		msgs := make([]store.NewMessage, k)
		for i := range msgs {
			b := raw(done + i)
			msgs[i] = store.NewMessage{Raw: b, Part: message.Parse(b)}
		}
		if _, _, err := ts.st.Append(ctx, inbox.Ref(), msgs); err != nil {
			ts.t.Fatal(err)
		}
		done += k
	}
}

// BenchmarkLargeMailbox measures what a client syncing a 100,000-message
// INBOX waits for: SELECT, FETCH 1:* (FLAGS), a header and a body SEARCH,
// and a SORT by subject.
// Run: go test -run '^$' -bench LargeMailbox -benchtime 5x ./imapserver
func BenchmarkLargeMailbox(b *testing.B) {
	ts := startTestServer(b)
	ts.fillInbox(100_000)
	tc := ts.login()
	b.Run("SELECT", func(b *testing.B) {
		for b.Loop() {
			tc.transactf("ok", "select INBOX")
		}
	})
	tc.transactf("ok", "select INBOX")
	b.Run("FETCH-1:*-FLAGS", func(b *testing.B) {
		for b.Loop() {
			if lines := tc.transactf("ok", "fetch 1:* (flags)"); len(lines) != 100_000 {
				b.Fatalf("%d FETCH lines", len(lines))
			}
		}
	})
	b.Run("UID-SEARCH-SUBJECT", func(b *testing.B) {
		for b.Loop() {
			tc.transactf("ok", "uid search subject \"message 4242\"")
		}
	})
	b.Run("UID-SORT-SUBJECT", func(b *testing.B) {
		for b.Loop() {
			tc.transactf("ok", "uid sort (subject) utf-8 all")
		}
	})
	b.Run("UID-SEARCH-BODY", func(b *testing.B) {
		for b.Loop() {
			tc.transactf("ok", "uid search body needle7")
		}
	})
}
