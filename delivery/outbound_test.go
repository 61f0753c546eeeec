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

// The failed-recipient ratio: once FailedMin recipients were sent that
// day and more than FailedRatio of them failed for good
// (CountFailedRecipients, as the queue reports bounces), the next
// submission is refused (hard: ErrOutboundLimitHard), the postmaster
// gets one notice, and the next day the account may send again. A
// remote or unknown sender counts nowhere.
func TestOutboundFailedRecipientRatio(t *testing.T) {
	t.Parallel()
	st := openStore(t, "alice@example.com", "postmaster@example.com")
	alice, _ := st.AccountByEmail(t.Context(), "alice@example.com")
	clock := &fakeClock{now: time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)}
	d := newDeliverer(t, delivery.Config{Store: st, Queue: &signingQueue{}, Hostname: "example.com", Now: clock.Now,
		OutboundLimits: &delivery.OutboundLimits{FailedRatio: 0.5, FailedMin: 4, Hard: true}})
	ctx := t.Context()
	// 3 recipients, all failed: under FailedMin, no limit yet.
	if err := submit(t, d, alice, "a@remote.example", "b@remote.example", "c@remote.example"); err != nil {
		t.Fatal(err)
	}
	d.CountFailedRecipients(ctx, "alice@example.com", 3)
	d.CountFailedRecipients(ctx, "someone@remote.example", 50) // not local
	d.CountFailedRecipients(ctx, "nobody@example.com", 50)     // no such user
	if err := submit(t, d, alice, "d@remote.example"); err != nil {
		t.Fatalf("3 of 3 failed but under failed_recipient_min: %v", err)
	}
	// Now 4 sent, 3 failed: 75% > 50%.
	for range 2 {
		if err := submit(t, d, alice, "e@remote.example"); !errors.Is(err, delivery.ErrOutboundLimitHard) {
			t.Fatalf("3 of 4 failed: %v, want ErrOutboundLimitHard", err)
		}
	}
	if n := inboxCount(t, st, "postmaster@example.com"); n != 1 {
		t.Fatalf("postmaster has %d notices, want 1", n)
	}
	c, err := st.OutboundCounters(ctx, alice.ID, clock.Now().Unix()/86400)
	if err != nil || c.DayFailed != 3 || c.DayRecipients != 4 {
		t.Fatalf("counters %+v, %v; want 3 failed of 4", c, err)
	}
	clock.add(24 * time.Hour)
	if err := submit(t, d, alice, "f@remote.example"); err != nil {
		t.Fatalf("next day: %v", err)
	}
}
