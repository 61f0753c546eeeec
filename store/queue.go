package store

import "time"

// Per-recipient states of a queued message.
const (
	RcptPending   = "pending"   // not delivered yet; tried again at NextAttempt
	RcptDelivered = "delivered" // accepted by the next hop (final)
	RcptFailed    = "failed"    // permanent failure or expired (final)
)

// QueuedMessage is a message to put in the outbound queue.
type QueuedMessage struct {
	From       string   // reverse-path; "" is the null sender (never bounced)
	Recipients []string // forward-paths; duplicates (case-insensitive) are dropped
	Raw        []byte   // the message exactly as it is to be sent
	// Created is the arrival time; zero means now. NextAttempt of every
	// recipient starts at Created.
	Created time.Time
}

// QueueRecipient is the delivery state of one recipient of a queued message.
type QueueRecipient struct {
	Addr        string
	Status      string // RcptPending, RcptDelivered or RcptFailed
	Attempts    int
	LastError   string    // the last reply or error, for DSNs and `queue show`
	NextAttempt time.Time // meaningful while Status is RcptPending
}

// QueueItem is a queued message without its bytes.
type QueueItem struct {
	ID         int64
	From       string
	Created    time.Time
	Size       int64
	Recipients []QueueRecipient // in the order they were enqueued
	// LeaseOwner is the queue runner that holds the item (ClaimQueue)
	// until LeaseUntil; "" when nobody does. A lease whose LeaseUntil has
	// passed is held by nobody, whatever LeaseOwner says.
	LeaseOwner string
	LeaseUntil time.Time
}

// LeasedAt reports who holds the item at now ("" for nobody).
func (q *QueueItem) LeasedAt(now time.Time) string {
	if q.LeaseOwner == "" || !q.LeaseUntil.After(now) {
		return ""
	}
	return q.LeaseOwner
}

// Pending reports whether some recipient still waits for delivery.
func (q *QueueItem) Pending() bool {
	for _, r := range q.Recipients {
		if r.Status == RcptPending {
			return true
		}
	}
	return false
}
