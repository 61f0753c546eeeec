package queue

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-smtp"
)

type recMetrics struct {
	mu       sync.Mutex
	outcomes map[string]int
	dsns     int
}

func (r *recMetrics) QueueAttempt(o string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.outcomes[o]++
}

func (r *recMetrics) DSNSent() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.dsns++
}

// Each recipient's attempt is reported with its outcome, the DSN once.
func TestMetricsAttemptsAndDSN(t *testing.T) {
	st, _ := newStoreWith(t, "alice@example.org")
	sk := startSink(t, func(rcpt string, attempt int) error {
		switch {
		case strings.HasPrefix(rcpt, "nobody@"):
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
		case strings.HasPrefix(rcpt, "later@") && attempt == 1:
			return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try later"}
		}
		return nil
	})
	res := newTestResolver()
	res.addMX("remote.test", "mx.remote.test")
	m := &recMetrics{outcomes: map[string]int{}}
	cfg := fastConfig(st, res, map[string]string{"mx.remote.test": sk.port()})
	cfg.Metrics = m
	q := startQueue(t, cfg)
	if _, err := q.Enqueue(context.Background(), "alice@example.org", []string{"bob@remote.test", "nobody@remote.test", "later@remote.test"}, []byte(testMsg)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the queue to empty", queueEmpty(t, st))
	waitFor(t, "the DSN", func() bool { m.mu.Lock(); defer m.mu.Unlock(); return m.dsns == 1 })
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.outcomes[AttemptDelivered] != 2 || m.outcomes[AttemptFailed] != 1 || m.outcomes[AttemptDeferred] != 1 || m.outcomes[AttemptExpired] != 0 {
		t.Errorf("outcomes %v", m.outcomes)
	}
}
