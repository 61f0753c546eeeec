package queue

// Metrics is what the queue reports to monitoring (*metrics.Metrics in
// cmd/mailroom).
type Metrics interface {
	// QueueAttempt: the outcome of one recipient's delivery attempt,
	// one of the Attempt* values.
	QueueAttempt(outcome string)
	// DSNSent: a delivery status notification went to a local sender.
	DSNSent()
}

// Attempt outcomes (label values, a fixed set).
const (
	AttemptDelivered = "delivered" // 2xx from the remote server
	AttemptDeferred  = "deferred"  // temporary failure, retried later
	AttemptFailed    = "failed"    // permanent failure (5xx, null MX, NXDOMAIN)
	AttemptExpired   = "expired"   // temporary failure past the lifetime: given up
)

type nopMetrics struct{}

func (nopMetrics) QueueAttempt(string) {}
func (nopMetrics) DSNSent()            {}
