package queue

import (
	"context"
	"testing"
	"time"

	"github.com/mailroom/mailroom/store"
)

// A crash after the last outcome was recorded but before the DSN: the next
// start sends the DSN once and removes the item.
func TestLeftoverFinishedAtStart(t *testing.T) {
	ctx := context.Background()
	st, _ := newStoreWith(t, "alice@example.org")
	id, err := st.Enqueue(ctx, store.QueuedMessage{From: "alice@example.org", Recipients: []string{"bob@remote.test"}, Raw: []byte(testMsg)})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.UpdateQueueRecipients(ctx, id, []store.QueueRecipient{{Addr: "bob@remote.test", Status: store.RcptFailed, Attempts: 1,
		LastError: "mx.remote.test said: 550 5.1.1 gone (in reply to RCPT TO)"}}); err != nil {
		t.Fatal(err)
	}
	startQueue(t, fastConfig(st, newTestResolver(), nil))
	waitFor(t, "the queue to empty", queueEmpty(t, st))
	time.Sleep(100 * time.Millisecond)
	if got := inbox(t, st, "alice@example.org"); len(got) != 1 {
		t.Fatalf("%d DSNs, want 1", len(got))
	}
}
