package queue

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/mailroom/mailroom/delivery"
)

// With a Deliverer, a DSN goes to the local sender along the inbound
// path: a subaddressed sender (alice+lists@) gets it in alice's INBOX,
// which the direct account lookup before package delivery missed; a
// sender in another domain gets none.
func TestDSNThroughDeliverer(t *testing.T) {
	st, _ := newStoreWith(t, "alice@example.org")
	sk := startSink(t, func(rcpt string, attempt int) error {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
	})
	res := newTestResolver()
	res.addMX("remote.test", "mx.remote.test")
	q := New(fastConfig(st, res, map[string]string{"mx.remote.test": sk.port()}))
	d, err := delivery.New(delivery.Config{Store: st, Queue: q, Hostname: "mail.example.org", RecipientDelimiter: "+", Logger: testLog})
	if err != nil {
		t.Fatal(err)
	}
	q.SetDeliverer(d)
	q.Start()
	t.Cleanup(func() { q.Shutdown(context.Background()) })

	for _, from := range []string{"alice+lists@example.org", "someone@elsewhere.test"} {
		if _, err := q.Enqueue(context.Background(), from, []string{"nobody@remote.test"}, []byte(testMsg)); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the queue to empty", queueEmpty(t, st))
	time.Sleep(100 * time.Millisecond) // a second DSN would come now
	dsns := inbox(t, st, "alice@example.org")
	if len(dsns) != 1 {
		t.Fatalf("%d DSNs, want 1", len(dsns))
	}
	for _, want := range []string{"Return-Path: <>", "To: <alice+lists@example.org>", "Final-Recipient: rfc822; nobody@remote.test", "Status: 5.1.1"} {
		if !strings.Contains(string(dsns[0]), want) {
			t.Fatalf("DSN lacks %q:\n%s", want, dsns[0])
		}
	}
}

// A bounce counts the failed recipients against the local sender's
// account (the failed-recipient ratio of delivery.OutboundLimits), once
// per finished item; a remote sender's bounce counts nowhere.
func TestBounceCountsFailedRecipients(t *testing.T) {
	st, _ := newStoreWith(t, "alice@example.org")
	sk := startSink(t, func(rcpt string, attempt int) error {
		if strings.HasPrefix(rcpt, "ok") {
			return nil
		}
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
	})
	res := newTestResolver()
	res.addMX("remote.test", "mx.remote.test")
	cfg := fastConfig(st, res, map[string]string{"mx.remote.test": sk.port()})
	j := &fakeJournal{}
	cfg.Journal = j
	q := New(cfg)
	d, err := delivery.New(delivery.Config{Store: st, Queue: q, Hostname: "mail.example.org", RecipientDelimiter: "+", Logger: testLog,
		OutboundLimits: &delivery.OutboundLimits{FailedRatio: 0.5, FailedMin: 10}})
	if err != nil {
		t.Fatal(err)
	}
	q.SetDeliverer(d)
	q.Start()
	t.Cleanup(func() { q.Shutdown(context.Background()) })

	ctx := context.Background()
	if _, err := q.Enqueue(ctx, "alice+lists@example.org", []string{"x@remote.test", "y@remote.test", "ok@remote.test"}, []byte(testMsg)); err != nil {
		t.Fatal(err)
	}
	if _, err := q.Enqueue(ctx, "someone@elsewhere.test", []string{"z@remote.test"}, []byte(testMsg)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the queue to empty", queueEmpty(t, st))
	alice, err := st.AccountByEmail(ctx, "alice@example.org")
	if err != nil {
		t.Fatal(err)
	}
	c, err := st.OutboundCounters(ctx, alice.ID, time.Now().UTC().Unix()/86400)
	if err != nil || c.DayFailed != 2 {
		t.Fatalf("alice's counters %+v, %v; want 2 failed", c, err)
	}
	// The Journal heard of each failed recipient, not of the delivered one.
	j.mu.Lock()
	got := slices.Sorted(slices.Values(j.got))
	j.mu.Unlock()
	want := []string{
		"alice+lists@example.org x@remote.test failed mx.remote.test said: 550 5.1.1 no such user (in reply to RCPT TO)",
		"alice+lists@example.org y@remote.test failed mx.remote.test said: 550 5.1.1 no such user (in reply to RCPT TO)",
		"someone@elsewhere.test z@remote.test failed mx.remote.test said: 550 5.1.1 no such user (in reply to RCPT TO)",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("journal %q, want %q", got, want)
	}
}

type fakeJournal struct {
	mu  sync.Mutex
	got []string
}

func (j *fakeJournal) OutboundFailure(_ time.Time, from, to, outcome, reply string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.got = append(j.got, strings.Join([]string{from, to, outcome, reply}, " "))
}
