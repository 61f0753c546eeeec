package storetest

import (
	"testing"

	"github.com/mailroom/mailroom/store"
)

var deliverEnqueueTests = []test{
	{"DeliverAndEnqueue/Both", testDeliverAndEnqueueBoth},
	{"DeliverAndEnqueue/FailureStoresNeither", testDeliverAndEnqueueAtomic},
}

// queuedIDs returns the ids of every queued item.
func queuedIDs(t *testing.T, s store.Store) []int64 {
	t.Helper()
	items, err := s.QueueItems(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, it := range items {
		ids = append(ids, it.ID)
	}
	return ids
}

// One call stores the local copies and the queue entry (whose bytes may
// differ: the queued copy is DKIM-signed); either alone works too.
func testDeliverAndEnqueueBoth(t *testing.T, s store.Store) {
	a := mustAccount(t, s, "alice@example.org")
	b := mustAccount(t, s, "bob@example.org")
	msg := testMessage("hi")
	signed := append([]byte("DKIM-Signature: x\r\n"), msg.Raw...)
	d, qid, err := s.DeliverAndEnqueue(ctx(t), []store.Target{{AccountID: a.ID}, {AccountID: b.ID}, {AccountID: a.ID}}, msg,
		&store.QueuedMessage{From: "alice@example.org", Recipients: []string{"x@remote.test", "X@remote.test", "y@remote.test"}, Raw: signed, Created: qt0})
	if err != nil {
		t.Fatal(err)
	}
	if len(d) != 2 || d[0].AccountID != a.ID || d[1].AccountID != b.ID || d[0].UID != 1 || d[1].UID != 1 {
		t.Fatalf("delivered %+v, want one copy each for alice and bob", d)
	}
	for _, dd := range d {
		ms := metas(t, s, dd.Ref(), nil)
		if len(ms) != 1 {
			t.Fatalf("mailbox %d has %d messages", dd.MailboxID, len(ms))
		}
		raw, err := s.MessageBody(ctx(t), dd.Ref(), ms[0].ID)
		if err != nil || string(raw) != string(msg.Raw) {
			t.Fatalf("local copy %q, %v", raw, err)
		}
	}
	it, err := s.QueueItem(ctx(t), qid)
	if err != nil {
		t.Fatal(err)
	}
	if it.From != "alice@example.org" || !it.Created.Equal(qt0) || len(it.Recipients) != 2 ||
		it.Recipients[0].Addr != "x@remote.test" || it.Recipients[1].Addr != "y@remote.test" || it.Recipients[0].Status != store.RcptPending {
		t.Fatalf("queued item %+v", it)
	}
	raw, err := s.QueueMessage(ctx(t), qid)
	if err != nil || string(raw) != string(signed) {
		t.Fatalf("queued bytes %q, %v", raw, err)
	}

	// Only the queue, only local copies.
	d, qid2, err := s.DeliverAndEnqueue(ctx(t), nil, msg, &store.QueuedMessage{From: "", Recipients: []string{"z@remote.test"}, Raw: msg.Raw})
	if err != nil || len(d) != 0 || qid2 <= qid {
		t.Fatalf("queue only: %+v, %d, %v", d, qid2, err)
	}
	d, qid3, err := s.DeliverAndEnqueue(ctx(t), []store.Target{{AccountID: b.ID}}, msg, nil)
	if err != nil || len(d) != 1 || d[0].UID != 2 || qid3 != 0 {
		t.Fatalf("local only: %+v, %d, %v", d, qid3, err)
	}
	if got := queuedIDs(t, s); len(got) != 2 {
		t.Fatalf("queue holds %v, want 2 items", got)
	}
	_, _, err = s.DeliverAndEnqueue(ctx(t), nil, msg, nil)
	wantErr(t, "DeliverAndEnqueue with nothing to do", err, store.ErrInvalid)
}

// A failure of either part stores neither: no local copy without its
// queue entry, and above all no queue entry without the local copies
// (the client's retry would send the remote copy twice).
func testDeliverAndEnqueueAtomic(t *testing.T, s store.Store) {
	a := mustAccount(t, s, "alice@example.org")
	b := mustAccount(t, s, "bob@example.org")
	junkB := mustMailbox(t, s, b.ID, "Junk")
	inboxA := mustMailbox(t, s, a.ID, "INBOX")
	q := &store.QueuedMessage{From: "alice@example.org", Recipients: []string{"x@remote.test"}, Raw: []byte("Subject: q\r\n\r\nhi\r\n")}
	for _, tc := range []struct {
		what    string
		targets []store.Target
		queued  *store.QueuedMessage
		want    error
	}{
		{"missing account", []store.Target{{AccountID: a.ID}, {AccountID: 987654}}, q, store.ErrNotFound},
		{"another account's mailbox", []store.Target{{AccountID: a.ID}, {AccountID: a.ID, MailboxID: junkB.ID}}, q, store.ErrNotFound},
		{"queue entry without recipients", []store.Target{{AccountID: a.ID}}, &store.QueuedMessage{From: "a@example.org", Raw: []byte("x")}, store.ErrInvalid},
	} {
		_, _, err := s.DeliverAndEnqueue(ctx(t), tc.targets, testMessage("x"), tc.queued)
		wantErr(t, "DeliverAndEnqueue, "+tc.what, err, tc.want)
		if u := uidsOf(t, s, inboxA.Ref()); len(u) != 0 {
			t.Fatalf("%s: failed delivery left %v in alice's INBOX", tc.what, u)
		}
		if u := uidsOf(t, s, junkB.Ref()); len(u) != 0 {
			t.Fatalf("%s: failed delivery left %v in bob's Junk", tc.what, u)
		}
		if got := queuedIDs(t, s); len(got) != 0 {
			t.Fatalf("%s: failed delivery left queue items %v", tc.what, got)
		}
	}
	checkCounts(t, s, "after failed deliveries", inboxA.Ref(), junkB.Ref())
	// The store is still usable and the retry stores exactly one of each.
	if _, _, err := s.DeliverAndEnqueue(ctx(t), []store.Target{{AccountID: a.ID}}, testMessage("x"), q); err != nil {
		t.Fatal(err)
	}
	if u := uidsOf(t, s, inboxA.Ref()); len(u) != 1 {
		t.Fatalf("retry: alice's INBOX holds %v", u)
	}
	if got := queuedIDs(t, s); len(got) != 1 {
		t.Fatalf("retry: queue holds %v", got)
	}
}
