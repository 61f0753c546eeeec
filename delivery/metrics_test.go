package delivery_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/mailroom/mailroom/delivery"
	"github.com/mailroom/mailroom/internal/srs"
)

type countingMetrics struct {
	mu     sync.Mutex
	srs    map[string]int
	limits map[string]int
}

func (m *countingMetrics) SRSEvent(e string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.srs[e]++
}

func (m *countingMetrics) OutboundLimitHit(l string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.limits[l]++
}

func newCountingMetrics() *countingMetrics {
	return &countingMetrics{srs: map[string]int{}, limits: map[string]int{}}
}

// SRS rewrites, decoded bounces and forged addresses are counted.
func TestMetricsSRS(t *testing.T) {
	t.Parallel()
	st := openStore(t, "alice@example.com")
	m := newCountingMetrics()
	d := newDeliverer(t, delivery.Config{Store: st, Queue: &signingQueue{}, SRS: srsRewriter(t, "mx.example.com"), Metrics: m,
		Aliases: aliasMap{"fwd@example.com": {"far@remote.example"}}})
	env := delivery.Envelope{From: "s@sender.example", Recipients: []delivery.Recipient{resolve(t, d, "fwd@example.com", false)}}
	if _, err := d.Deliver(t.Context(), env, newMessage(testRaw)); err != nil {
		t.Fatal(err)
	}
	items := queueItems(t, st)
	if len(items) != 1 {
		t.Fatalf("queue %+v", items)
	}
	if _, err := d.Resolve(t.Context(), delivery.Request{Addr: items[0].From}); err != nil {
		t.Fatalf("bounce to %s: %v", items[0].From, err)
	}
	other, _ := srs.New("mx.example.com", [][]byte{[]byte("another key, 16+")}, 0, func() time.Time { return testEpoch })
	forged, _ := other.Forward("s@remote.example")
	if _, err := d.Resolve(t.Context(), delivery.Request{Addr: forged}); !errors.Is(err, delivery.ErrNoSuchUser) {
		t.Fatalf("forged: %v", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	want := map[string]int{delivery.SRSRewritten: 1, delivery.SRSBounceDecoded: 1, delivery.SRSRefused: 1}
	for k, v := range want {
		if m.srs[k] != v {
			t.Errorf("SRS %s = %d, want %d (all: %v)", k, m.srs[k], v, m.srs)
		}
	}
}

// A submission over a limit is counted under the limit's name.
func TestMetricsOutboundLimitHit(t *testing.T) {
	t.Parallel()
	st := openStore(t, "alice@example.com", "postmaster@example.com")
	alice, _ := st.AccountByEmail(t.Context(), "alice@example.com")
	m := newCountingMetrics()
	d := newDeliverer(t, delivery.Config{Store: st, Queue: &signingQueue{}, Hostname: "example.com", Metrics: m,
		OutboundLimits: &delivery.OutboundLimits{RecipientsPerMessage: 1}})
	if err := submit(t, d, alice, "bob@remote.example"); err != nil {
		t.Fatal(err)
	}
	if err := submit(t, d, alice, "bob@remote.example", "carol@remote.example"); !errors.Is(err, delivery.ErrOutboundLimit) {
		t.Fatalf("two recipients: %v, want ErrOutboundLimit", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.limits) != 1 || m.limits["recipients_per_message"] != 1 {
		t.Fatalf("limit hits %v, want recipients_per_message once", m.limits)
	}
}
