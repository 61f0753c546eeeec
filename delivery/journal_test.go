package delivery_test

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/mailroom/mailroom/delivery"
)

type journalEntry struct{ from, to, outcome string }

type fakeJournal struct {
	mu  sync.Mutex
	got []journalEntry
}

func (j *fakeJournal) LocalDelivery(_ time.Time, from, to, outcome string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.got = append(j.got, journalEntry{from, to, outcome})
}

// The Journal hears of each local copy once committed, with its
// outcome; a remote recipient is not a local delivery.
func TestJournalHearsLocalDeliveries(t *testing.T) {
	t.Parallel()
	st := openStore(t, "alice@example.com", "bob@example.com")
	j := &fakeJournal{}
	d := newDeliverer(t, delivery.Config{Store: st, Queue: &signingQueue{}, Hostname: "example.com", Journal: j})
	env := delivery.Envelope{From: "x@remote.example", Recipients: []delivery.Recipient{
		resolve(t, d, "alice@example.com", false), resolve(t, d, "bob@example.com", false),
	}}
	if _, err := d.Deliver(t.Context(), env, newMessage(testRaw)); err != nil {
		t.Fatal(err)
	}
	env = delivery.Envelope{From: "", Junk: true, Recipients: []delivery.Recipient{resolve(t, d, "alice@example.com", false)}}
	if _, err := d.Deliver(t.Context(), env, newMessage(testRaw)); err != nil {
		t.Fatal(err)
	}
	want := []journalEntry{
		{"x@remote.example", "alice@example.com", "inbox"},
		{"x@remote.example", "bob@example.com", "inbox"},
		{"", "alice@example.com", "junk"},
	}
	if !slices.Equal(j.got, want) {
		t.Fatalf("journal %+v, want %+v", j.got, want)
	}
}
