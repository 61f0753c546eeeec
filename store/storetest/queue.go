package storetest

import (
	"testing"
	"time"

	"github.com/mailroom/mailroom/store"
)

var queueTests = []test{
	{"Queue/EnqueueAndRead", testQueueEnqueue},
	{"Queue/Due", testQueueDue},
	{"Queue/UpdateRecipients", testQueueUpdate},
	{"Queue/DeleteAndRetry", testQueueDeleteRetry},
}

var qt0 = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

func mustEnqueue(t *testing.T, s store.Store, from string, created time.Time, rcpts ...string) int64 {
	t.Helper()
	id, err := s.Enqueue(ctx(t), store.QueuedMessage{From: from, Recipients: rcpts, Raw: []byte("Subject: q\r\n\r\nhi\r\n"), Created: created})
	if err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
	return id
}

func testQueueEnqueue(t *testing.T, s store.Store) {
	id := mustEnqueue(t, s, "a@example.org", qt0, "b@remote.test", "C@remote.test", "c@remote.test", "d@other.test")
	it, err := s.QueueItem(ctx(t), id)
	if err != nil {
		t.Fatal(err)
	}
	if it.ID != id || it.From != "a@example.org" || !it.Created.Equal(qt0) || it.Size != 18 {
		t.Fatalf("item %+v", it)
	}
	if len(it.Recipients) != 3 || it.Recipients[0].Addr != "b@remote.test" || it.Recipients[1].Addr != "C@remote.test" || it.Recipients[2].Addr != "d@other.test" {
		t.Fatalf("recipients (duplicates must go, order must stay) %+v", it.Recipients)
	}
	for _, r := range it.Recipients {
		if r.Status != store.RcptPending || r.Attempts != 0 || !r.NextAttempt.Equal(qt0) {
			t.Fatalf("new recipient %+v", r)
		}
	}
	if !it.Pending() {
		t.Fatal("Pending() false for a new item")
	}
	raw, err := s.QueueMessage(ctx(t), id)
	if err != nil || string(raw) != "Subject: q\r\n\r\nhi\r\n" {
		t.Fatalf("QueueMessage %q, %v", raw, err)
	}
	_, err = s.QueueMessage(ctx(t), id+100)
	wantErr(t, "QueueMessage of unknown id", err, store.ErrNotFound)
	_, err = s.QueueItem(ctx(t), id+100)
	wantErr(t, "QueueItem of unknown id", err, store.ErrNotFound)
	_, err = s.Enqueue(ctx(t), store.QueuedMessage{From: "a@example.org", Raw: []byte("x")})
	wantErr(t, "Enqueue without recipients", err, store.ErrInvalid)

	null := mustEnqueue(t, s, "", qt0, "x@remote.test")
	items, err := s.QueueItems(ctx(t))
	if err != nil || len(items) != 2 || items[0].ID != id || items[1].ID != null || items[1].From != "" {
		t.Fatalf("QueueItems %+v, %v", items, err)
	}
}

func testQueueDue(t *testing.T, s store.Store) {
	a := mustEnqueue(t, s, "a@example.org", qt0, "b@remote.test")
	b := mustEnqueue(t, s, "a@example.org", qt0.Add(time.Hour), "b@remote.test")
	due, err := s.DueQueue(ctx(t), qt0, 10)
	if err != nil || len(due) != 1 || due[0].ID != a || len(due[0].Recipients) != 1 {
		t.Fatalf("DueQueue at t0: %+v, %v", due, err)
	}
	due, err = s.DueQueue(ctx(t), qt0.Add(2*time.Hour), 10)
	if err != nil || len(due) != 2 || due[0].ID != a || due[1].ID != b {
		t.Fatalf("DueQueue later: %+v, %v", due, err)
	}
	due, err = s.DueQueue(ctx(t), qt0.Add(2*time.Hour), 1)
	if err != nil || len(due) != 1 || due[0].ID != a {
		t.Fatalf("DueQueue limit 1: %+v, %v", due, err)
	}
	due, err = s.DueQueue(ctx(t), qt0.Add(-time.Second), 10)
	if err != nil || len(due) != 0 {
		t.Fatalf("DueQueue before: %+v, %v", due, err)
	}
}

func testQueueUpdate(t *testing.T, s store.Store) {
	id := mustEnqueue(t, s, "a@example.org", qt0, "b@remote.test", "c@remote.test", "d@remote.test")
	next := qt0.Add(5 * time.Minute)
	err := s.UpdateQueueRecipients(ctx(t), id, []store.QueueRecipient{
		{Addr: "B@remote.test", Status: store.RcptDelivered, Attempts: 1, LastError: "250 ok", NextAttempt: qt0},
		{Addr: "c@remote.test", Status: store.RcptPending, Attempts: 1, LastError: "451 later", NextAttempt: next},
		{Addr: "d@remote.test", Status: store.RcptFailed, Attempts: 1, LastError: "550 no", NextAttempt: qt0},
	})
	if err != nil {
		t.Fatal(err)
	}
	it, err := s.QueueItem(ctx(t), id)
	if err != nil {
		t.Fatal(err)
	}
	r := it.Recipients
	if r[0].Status != store.RcptDelivered || r[1].Status != store.RcptPending || r[1].Attempts != 1 || r[1].LastError != "451 later" || !r[1].NextAttempt.Equal(next) || r[2].Status != store.RcptFailed {
		t.Fatalf("after update %+v", r)
	}
	due, _ := s.DueQueue(ctx(t), qt0.Add(time.Minute), 10)
	if len(due) != 0 {
		t.Fatalf("item due before its retry time: %+v", due)
	}
	due, _ = s.DueQueue(ctx(t), next, 10)
	if len(due) != 1 {
		t.Fatalf("item not due at its retry time: %+v", due)
	}
	// All or nothing: an unknown recipient fails the whole update.
	err = s.UpdateQueueRecipients(ctx(t), id, []store.QueueRecipient{
		{Addr: "c@remote.test", Status: store.RcptDelivered},
		{Addr: "nobody@remote.test", Status: store.RcptDelivered},
	})
	wantErr(t, "update of an unknown recipient", err, store.ErrNotFound)
	err = s.UpdateQueueRecipients(ctx(t), id, []store.QueueRecipient{{Addr: "c@remote.test", Status: "bogus"}})
	wantErr(t, "update with a bad status", err, store.ErrInvalid)
	it, _ = s.QueueItem(ctx(t), id)
	if it.Recipients[1].Status != store.RcptPending {
		t.Fatalf("failed update changed state: %+v", it.Recipients[1])
	}
	if err := s.UpdateQueueRecipients(ctx(t), id, []store.QueueRecipient{{Addr: "c@remote.test", Status: store.RcptDelivered, Attempts: 2}}); err != nil {
		t.Fatal(err)
	}
	it, _ = s.QueueItem(ctx(t), id)
	if it.Pending() {
		t.Fatalf("Pending() with every recipient final: %+v", it.Recipients)
	}
	due, _ = s.DueQueue(ctx(t), next.Add(time.Hour), 10)
	if len(due) != 0 {
		t.Fatalf("final item still due: %+v", due)
	}
}

func testQueueDeleteRetry(t *testing.T, s store.Store) {
	a := mustEnqueue(t, s, "a@example.org", qt0, "b@remote.test")
	b := mustEnqueue(t, s, "a@example.org", qt0, "b@remote.test", "c@remote.test")
	later := qt0.Add(time.Hour)
	for _, id := range []int64{a, b} {
		if err := s.UpdateQueueRecipients(ctx(t), id, []store.QueueRecipient{{Addr: "b@remote.test", Status: store.RcptPending, Attempts: 1, NextAttempt: later}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.UpdateQueueRecipients(ctx(t), b, []store.QueueRecipient{{Addr: "c@remote.test", Status: store.RcptFailed, Attempts: 1, NextAttempt: later}}); err != nil {
		t.Fatal(err)
	}
	now := qt0.Add(time.Minute)
	if due, _ := s.DueQueue(ctx(t), now, 10); len(due) != 0 {
		t.Fatalf("due before retry: %+v", due)
	}
	n, err := s.RetryQueueItem(ctx(t), a, now)
	if err != nil || n != 1 {
		t.Fatalf("RetryQueueItem(a) = %d, %v", n, err)
	}
	if due, _ := s.DueQueue(ctx(t), now, 10); len(due) != 1 || due[0].ID != a {
		t.Fatalf("due after retry of a: %+v", due)
	}
	n, err = s.RetryQueueItem(ctx(t), 0, now)
	if err != nil || n != 2 {
		t.Fatalf("RetryQueueItem(all) = %d, %v", n, err)
	}
	it, _ := s.QueueItem(ctx(t), b)
	if it.Recipients[1].Status != store.RcptFailed {
		t.Fatalf("retry revived a failed recipient: %+v", it.Recipients[1])
	}
	_, err = s.RetryQueueItem(ctx(t), b+100, now)
	wantErr(t, "RetryQueueItem of unknown id", err, store.ErrNotFound)

	if err := s.DeleteQueueItem(ctx(t), a); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "second DeleteQueueItem", s.DeleteQueueItem(ctx(t), a), store.ErrNotFound)
	_, err = s.QueueItem(ctx(t), a)
	wantErr(t, "QueueItem after delete", err, store.ErrNotFound)
	items, _ := s.QueueItems(ctx(t))
	if len(items) != 1 || items[0].ID != b {
		t.Fatalf("items after delete %+v", items)
	}
}
