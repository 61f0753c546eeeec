package queue

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync/atomic"
	"time"
)

// Several nodes may run the queue on one store. Each runner claims the
// items it works on (store.Store.ClaimQueue): the claim leases them to its
// Owner for Config.Lease (2 minutes by default), so no other runner picks
// them. While attempts run, the runner renews the leases of all the items
// it holds every Lease/4, in one store call (RenewQueueLeases), and it
// releases an item when its attempt is over. A runner that dies
// mid-delivery stops renewing, so its items are taken over by another
// runner about one Lease later, whatever AttemptTimeout is.
//
// A live runner can still lose an item: when its renewals fail or come
// late (a stalled store, a paused process) until the lease has ended and
// another runner claimed the item. The renewal then reports the item
// lost (or the lease's end passes with no renewal at all); the runner
// cancels that attempt and records nothing for it, since the item's
// state is the new holder's to write. The remote 250 that an attempt
// got before it noticed cannot be taken back: the message may then be
// delivered twice, which a lease long enough for renewals to succeed
// (Lease/4 apart, so three may fail in a row) keeps rare.

// dialTimeout bounds connecting to one server (the default Dial).
const dialTimeout = 30 * time.Second

// attemptCommands is how many command timeouts one item's attempt is given:
// greeting, EHLO, STARTTLS, EHLO again, MAIL, RCPT, DATA, the message (2,
// as go-smtp's SubmissionTimeout) and QUIT, with room for a second server.
const attemptCommands = 12

// defaultAttemptTimeout is the bound on one item's delivery attempt derived
// from the per-command timeout: 1 h with the default 5 min.
func defaultAttemptTimeout(commandTimeout time.Duration) time.Duration {
	return dialTimeout + attemptCommands*commandTimeout
}

// errLeaseLost cancels an attempt on an item whose lease another runner
// now holds.
var errLeaseLost = errors.New("queue: lease on the item lost to another runner")

// flight is one item a worker is busy with.
type flight struct {
	ctx    context.Context // the attempt's; cancelled on shutdown or loss
	cancel context.CancelCauseFunc
	until  time.Time   // end of the lease as last claimed or renewed; under Queue.mu
	lost   atomic.Bool // the lease is (or may be) another runner's
}

func newFlight(parent context.Context, until time.Time) *flight {
	ctx, cancel := context.WithCancelCause(parent)
	return &flight{ctx: ctx, cancel: cancel, until: until}
}

// extend records that the lease now lasts until until (under Queue.mu).
func (f *flight) extend(until time.Time) {
	if until.After(f.until) {
		f.until = until
	}
}

// lose stops the attempt on f: nothing more is recorded for it.
func (f *flight) lose() {
	f.lost.Store(true)
	f.cancel(errLeaseLost)
}

// renewLoop renews the leases of the items in flight every renewEvery
// until Shutdown is done with the workers.
func (q *Queue) renewLoop() {
	defer q.renewWG.Done()
	t := time.NewTicker(q.renewEvery)
	defer t.Stop()
	for {
		select {
		case <-q.ctx.Done():
			return
		case <-t.C:
		}
		q.renew()
	}
}

// renew extends the leases of every item in flight in one store call. An
// item the store no longer has leased to this runner, or whose lease
// ended while renewals failed, is lost: its attempt is cancelled.
func (q *Queue) renew() {
	q.mu.Lock()
	flights := make(map[int64]*flight, len(q.inflight))
	ids := make([]int64, 0, len(q.inflight))
	for id, f := range q.inflight {
		if !f.lost.Load() {
			flights[id] = f
			ids = append(ids, id)
		}
	}
	q.mu.Unlock()
	if len(ids) == 0 {
		return
	}
	slices.Sort(ids)
	now := q.cfg.Now()
	until := now.Add(q.lease)
	// A renewal that takes longer than the interval is as good as failed;
	// the next one starts afresh.
	ctx, cancel := context.WithTimeout(q.ctx, max(q.renewEvery, time.Second))
	renewed, err := q.cfg.Store.RenewQueueLeases(ctx, q.cfg.Owner, ids, until)
	cancel()
	if err != nil {
		if q.ctx.Err() != nil {
			return // shut down
		}
		q.log.Error("queue: renewing leases", "items", len(ids), "err", err)
	}
	ok := make(map[int64]bool, len(renewed))
	for _, id := range renewed {
		ok[id] = true
	}
	now = q.cfg.Now()
	var lost []int64
	q.mu.Lock()
	for _, id := range ids {
		f := flights[id]
		if q.inflight[id] != f {
			continue // done meanwhile (released before the renewal)
		}
		switch {
		case ok[id]:
			f.extend(until)
		case err == nil || !f.until.After(now):
			// Taken over (or deleted) in the store, or the lease ended
			// while renewals failed: another runner may hold it.
			f.lose()
			lost = append(lost, id)
		}
	}
	q.mu.Unlock()
	for _, id := range lost {
		q.log.Warn("queue: lease lost; abandoning the attempt", "qid", id, "owner", q.cfg.Owner)
	}
}

// defaultOwner names this runner for leases: host, process and a random
// part, so two runners never share a name even on one host.
func defaultOwner() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost"
	}
	var b [6]byte
	rand.Read(b[:])
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}

// release ends this runner's lease on item id. It runs after Shutdown may
// have cancelled q.ctx: a lease left behind keeps the item from the other
// nodes until it ends.
func (q *Queue) release(id int64) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(q.ctx), 10*time.Second)
	defer cancel()
	if err := q.cfg.Store.ReleaseQueueItem(ctx, id, q.cfg.Owner); err != nil {
		q.log.Error("queue: releasing item", "qid", id, "err", err)
	}
}
