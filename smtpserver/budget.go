package smtpserver

import (
	"context"
	"sync"

	"golang.org/x/sync/semaphore"
)

// DefaultMaxInFlightBytes bounds the message bytes all SMTP sessions of a
// Budget hold at once (announced with SIZE= or received so far).
const DefaultMaxInFlightBytes = 1 << 30

// reserveStep is how much in-flight budget a transaction takes at a time
// while its message streams in without a SIZE= announcement (or past it).
const reserveStep = 256 << 10

// commitOverhead is what each message costs the commit gate besides its
// size: trace headers, the MIME structure, store bookkeeping.
const commitOverhead = 64 << 10

// Budget is the server-wide bound on message bytes in flight, shared by
// every Server built with it (MX and submission share one in `serve`).
//
// Receiving: every transaction reserves its SIZE= at MAIL and, as the
// message streams into its spool, whatever it receives beyond that; a
// reservation that does not fit is refused with 452 4.3.1 (RFC 3463 X.3.1
// mail system full, RFC 1870 §6.1). The reservation is returned when the
// transaction ends.
//
// Committing: the message is read back from the spool into one buffer,
// checked and stored; that phase holds the whole message in memory (the
// store takes a []byte), so it runs under a gate of commitMax bytes: one
// message of the largest allowed size at a time, or many small ones.
type Budget struct {
	max int64

	mu   sync.Mutex
	used int64

	commitMax int64
	commit    *semaphore.Weighted
}

// NewBudget returns a Budget allowing maxInFlight bytes in flight and
// maxMessage (the largest message a server accepts) bytes in the commit
// phase at once.
func NewBudget(maxInFlight, maxMessage int64) *Budget {
	if maxInFlight <= 0 {
		maxInFlight = DefaultMaxInFlightBytes
	}
	if maxMessage <= 0 {
		maxMessage = DefaultMaxMessageBytes
	}
	cm := maxMessage + commitOverhead
	return &Budget{max: maxInFlight, commitMax: cm, commit: semaphore.NewWeighted(cm)}
}

// InFlight reports the bytes currently reserved.
func (b *Budget) InFlight() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used
}

func (b *Budget) take(n int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if n > b.max-b.used {
		return false
	}
	b.used += n
	return true
}

func (b *Budget) give(n int64) {
	b.mu.Lock()
	b.used -= n
	b.mu.Unlock()
}

// enterCommit waits until a message of size bytes may enter the commit
// phase; the returned function leaves it.
func (b *Budget) enterCommit(ctx context.Context, size int64) (func(), error) {
	w := min(size+commitOverhead, b.commitMax)
	if err := b.commit.Acquire(ctx, w); err != nil {
		return nil, err
	}
	return func() { b.commit.Release(w) }, nil
}

// reservation is one transaction's share of a Budget. It is used from
// the connection goroutine (MAIL, Reset) and, for BDAT, go-smtp's data
// goroutine, hence the lock. Once closed it reserves nothing more.
type reservation struct {
	b *Budget

	mu     sync.Mutex
	held   int64
	closed bool
}

func (b *Budget) newReservation() *reservation { return &reservation{b: b} }

// ensure makes the reservation cover total bytes, taking at least
// reserveStep more at a time. It reports false when the budget is full.
func (r *reservation) ensure(total int64) bool {
	if r == nil {
		return true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return false
	}
	if total <= r.held {
		return true
	}
	more := max(total-r.held, reserveStep)
	if !r.b.take(more) {
		// Take exactly what is needed if the step does not fit.
		more = total - r.held
		if !r.b.take(more) {
			return false
		}
	}
	r.held += more
	return true
}

// close returns everything reserved.
func (r *reservation) close() {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	r.b.give(r.held)
	r.held = 0
}
