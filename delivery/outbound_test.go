package delivery_test

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailroom/mailroom/delivery"
	"github.com/mailroom/mailroom/store"
)

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func submit(t *testing.T, d *delivery.Deliverer, acct store.Account, rcpts ...string) error {
	t.Helper()
	var rs []delivery.Recipient
	for _, r := range rcpts {
		rs = append(rs, resolve(t, d, r, true))
	}
	_, err := d.Deliver(t.Context(), delivery.Envelope{From: acct.Email, Recipients: rs, Submitter: &acct}, newMessage(testRaw))
	return err
}

// Messages per hour and per day: over the limit a submission is
// ErrOutboundLimit, the postmaster gets one notice that day, and the
// next hour (or day) the account may send again.
func TestOutboundMessageLimits(t *testing.T) {
	t.Parallel()
	st := openStore(t, "alice@example.com", "postmaster@example.com")
	alice, _ := st.AccountByEmail(t.Context(), "alice@example.com")
	clock := &fakeClock{now: time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)}
	d := newDeliverer(t, delivery.Config{Store: st, Queue: &signingQueue{}, Hostname: "example.com", Now: clock.Now,
		OutboundLimits: &delivery.OutboundLimits{MessagesPerHour: 2, MessagesPerDay: 3}})
	for i := range 2 {
		if err := submit(t, d, alice, "bob@remote.example"); err != nil {
			t.Fatalf("message %d: %v", i+1, err)
		}
	}
	for range 2 {
		if err := submit(t, d, alice, "bob@remote.example"); !errors.Is(err, delivery.ErrOutboundLimit) {
			t.Fatalf("third message this hour: %v, want ErrOutboundLimit", err)
		}
	}
	if n := len(queueItems(t, st)); n != 2 {
		t.Fatalf("%d queued, want 2", n)
	}
	if n := inboxCount(t, st, "postmaster@example.com"); n != 1 {
		t.Fatalf("postmaster has %d notices, want 1", n)
	}
	clock.add(time.Hour)
	if err := submit(t, d, alice, "bob@remote.example"); err != nil {
		t.Fatalf("next hour: %v", err)
	}
	if err := submit(t, d, alice, "bob@remote.example"); !errors.Is(err, delivery.ErrOutboundLimit) {
		t.Fatalf("fourth message of the day: %v, want ErrOutboundLimit (per day)", err)
	}
	if n := inboxCount(t, st, "postmaster@example.com"); n != 1 {
		t.Fatalf("postmaster has %d notices, want still 1", n)
	}
	clock.add(24 * time.Hour)
	if err := submit(t, d, alice, "bob@remote.example"); err != nil {
		t.Fatalf("next day: %v", err)
	}
	// Inbound mail (no Submitter) is not counted or limited.
	for range 3 {
		if _, err := d.Deliver(t.Context(), delivery.Envelope{From: "x@remote.example", Recipients: []delivery.Recipient{resolve(t, d, "alice@example.com", false)}}, newMessage(testRaw)); err != nil {
			t.Fatal(err)
		}
	}
}

// Recipients per message and per day, distinct external recipients per
// day, and hard = true.
func TestOutboundRecipientLimits(t *testing.T) {
	t.Parallel()
	st := openStore(t, "alice@example.com", "bob@example.com", "postmaster@example.com")
	alice, _ := st.AccountByEmail(t.Context(), "alice@example.com")
	clock := &fakeClock{now: time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)}
	lim := &delivery.OutboundLimits{RecipientsPerMessage: 3, RecipientsPerDay: 6, ExternalPerDay: 4}
	d := newDeliverer(t, delivery.Config{Store: st, Queue: &signingQueue{}, Hostname: "example.com", Now: clock.Now, OutboundLimits: lim})
	if err := submit(t, d, alice, "a@r.example", "b@r.example", "c@r.example", "bob@example.com"); !errors.Is(err, delivery.ErrOutboundLimit) || !strings.Contains(err.Error(), "recipients_per_message") {
		t.Fatalf("4 recipients: %v", err)
	}
	if err := submit(t, d, alice, "a@r.example", "b@r.example", "c@r.example"); err != nil {
		t.Fatal(err)
	}
	// The same external recipients again: not new distinct ones.
	if err := submit(t, d, alice, "A@r.example", "b@r.example", "bob@example.com"); err != nil {
		t.Fatal(err)
	}
	if err := submit(t, d, alice, "bob@example.com"); !errors.Is(err, delivery.ErrOutboundLimit) || !strings.Contains(err.Error(), "recipients_per_day") {
		t.Fatalf("7th recipient of the day: %v", err)
	}
	clock.add(24 * time.Hour)
	if err := submit(t, d, alice, "a@r.example", "b@r.example", "c@r.example"); err != nil {
		t.Fatal(err)
	}
	lim.Hard = true
	if err := submit(t, d, alice, "d@r.example", "e@r.example"); !errors.Is(err, delivery.ErrOutboundLimitHard) || !strings.Contains(err.Error(), "external_recipients_per_day") {
		t.Fatalf("5th distinct external recipient: %v, want ErrOutboundLimitHard", err)
	}
	if err := submit(t, d, alice, "d@r.example"); err != nil {
		t.Fatalf("4th distinct external recipient: %v", err)
	}
}
