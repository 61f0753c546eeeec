// Package recent keeps the last few delivery events in memory for the
// admin dashboard: a fixed-size ring per kind, so memory is bounded by
// its size whatever the traffic. Nothing is persisted; a restart starts
// empty. Package delivery and queue feed it through interfaces of their
// own (delivery.Journal, queue.Journal); webadmin reads it through
// webadmin.Recent.
package recent

import (
	"sync"
	"time"
)

// Bounds of one event: longer fields are cut.
const (
	maxAddr   = 320 // RFC 5321 path limit (256) plus room
	maxDetail = 300 // a remote reply line, cut
)

// Event is one delivery event.
type Event struct {
	Time     time.Time
	From, To string // envelope sender ("" for the null sender) and recipient
	Outcome  string // "delivered", "junk", "failed", "expired", ...
	Detail   string // the remote reply or error, if any
}

// Ring holds the last Size events, oldest overwritten first. Its
// methods are safe for concurrent use.
type Ring struct {
	mu   sync.Mutex
	buf  []Event
	next int
	full bool
}

// NewRing returns a Ring of size events (at least 1).
func NewRing(size int) *Ring { return &Ring{buf: make([]Event, max(size, 1))} }

// Add records e, cutting its fields to their bounds.
func (r *Ring) Add(e Event) {
	e.From, e.To, e.Detail = cut(e.From, maxAddr), cut(e.To, maxAddr), cut(e.Detail, maxDetail)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.buf[r.next] = e
	r.next++
	if r.next == len(r.buf) {
		r.next, r.full = 0, true
	}
}

// Last returns the events held, newest first.
func (r *Ring) Last() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := r.next
	if r.full {
		n = len(r.buf)
	}
	out := make([]Event, 0, n)
	for i := 1; i <= n; i++ {
		out = append(out, r.buf[(r.next-i+len(r.buf))%len(r.buf)])
	}
	return out
}

// cut returns s shortened to at most n bytes, on a rune boundary.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}

// DefaultSize is how many events of each kind Log keeps.
const DefaultSize = 50

// Log is the dashboard's two rings: local deliveries and outbound
// failures.
type Log struct {
	local, failed *Ring
}

// NewLog returns a Log keeping size events of each kind.
func NewLog(size int) *Log { return &Log{local: NewRing(size), failed: NewRing(size)} }

// LocalDelivery records a message stored in a local mailbox
// (delivery.Journal).
func (l *Log) LocalDelivery(at time.Time, from, to, outcome string) {
	l.local.Add(Event{Time: at, From: from, To: to, Outcome: outcome})
}

// OutboundFailure records a recipient the queue gave up on
// (queue.Journal).
func (l *Log) OutboundFailure(at time.Time, from, to, outcome, reply string) {
	l.failed.Add(Event{Time: at, From: from, To: to, Outcome: outcome, Detail: reply})
}

// Deliveries are the recent local deliveries, newest first.
func (l *Log) Deliveries() []Event { return l.local.Last() }

// Failures are the recent outbound failures, newest first.
func (l *Log) Failures() []Event { return l.failed.Last() }
