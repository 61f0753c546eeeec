package delivery_test

import (
	"errors"
	"testing"
	"time"

	"github.com/mailroom/mailroom/delivery"
	"github.com/mailroom/mailroom/store"
)

var testEpoch = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// A script's redirect and vacation reply are in the delivery's one
// transaction: when another copy fails, nothing is queued and no
// vacation state is recorded; the retry queues each once.
func TestSieveActionsShareTheTransaction(t *testing.T) {
	st := openStore(t, "alice@example.com", "bob@example.com")
	a, _ := st.AccountByEmail(t.Context(), "alice@example.com")
	if _, err := st.PutSieveScript(t.Context(), a.ID, "r", []byte(`require ["copy", "vacation"];
redirect :copy "far@remote.example";
vacation :handle "h" "away";
`)); err != nil {
		t.Fatal(err)
	}
	if err := st.ActivateSieveScript(t.Context(), a.ID, "r"); err != nil {
		t.Fatal(err)
	}
	q := &signingQueue{}
	d := newDeliverer(t, delivery.Config{Store: st, Queue: q, Now: func() time.Time { return testEpoch }})
	raw := "From: <s@remote.example>\r\nTo: <alice@example.com>\r\nSubject: s\r\n\r\nbody\r\n"
	env := delivery.Envelope{From: "s@remote.example", Recipients: []delivery.Recipient{
		resolve(t, d, "alice@example.com", false), resolve(t, d, "bob@example.com", false)}}
	if err := st.DeleteAccount(t.Context(), "bob@example.com"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Deliver(t.Context(), env, newMessage(raw)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Deliver = %v, want ErrNotFound", err)
	}
	if items := queueItems(t, st); len(items) != 0 {
		t.Fatalf("failed delivery queued %+v", items)
	}
	if seen, err := st.SieveStateSeen(t.Context(), a.ID, store.SieveStateVacation, "h", "s@remote.example", testEpoch.Add(-time.Minute)); err != nil || seen {
		t.Fatalf("failed delivery recorded vacation state: %v, %v", seen, err)
	}
	env.Recipients = env.Recipients[:1]
	res, err := d.Deliver(t.Context(), env, newMessage(raw))
	if err != nil {
		t.Fatal(err)
	}
	items := queueItems(t, st)
	if len(items) != 2 || len(res.SieveQueued) != 2 || res.QueueID != 0 || len(res.Delivered) != 1 {
		t.Fatalf("result %+v, queue %+v: want alice's copy, a redirect and a reply", res, items)
	}
	if items[0].From != "s@remote.example" || items[0].Recipients[0].Addr != "far@remote.example" ||
		items[1].From != "" || items[1].Recipients[0].Addr != "s@remote.example" {
		t.Fatalf("queue %+v", items)
	}
	if seen, err := st.SieveStateSeen(t.Context(), a.ID, store.SieveStateVacation, "h", "s@remote.example", testEpoch.Add(-time.Minute)); err != nil || !seen {
		t.Fatalf("vacation state after the delivery: %v, %v", seen, err)
	}
	if n := inboxCount(t, st, "alice@example.com"); n != 1 {
		t.Fatalf("alice has %d messages", n)
	}
}
