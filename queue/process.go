package queue

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/mailroom/mailroom/delivery"
	"github.com/mailroom/mailroom/message"
	"github.com/mailroom/mailroom/store"
)

// outcome is what one delivery attempt did for one recipient.
type outcome struct {
	rcpt string
	err  error  // nil: accepted
	text string // the reply, for the log and `queue show`
}

// process makes one delivery attempt for the due recipients of it, one
// connection per destination domain, and finishes the item once no
// recipient is pending. The attempt ends by deadline: recipients still
// waiting for a connection slot then are left as they are, ones whose
// delivery it cuts off are deferred. If the lease on the item is lost
// (f.ctx is cancelled), the attempt stops and records nothing.
func (q *Queue) process(f *flight, it store.QueueItem, deadline time.Time) {
	ctx := f.ctx
	actx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	raw, err := q.cfg.Store.QueueMessage(ctx, it.ID)
	if err != nil {
		if ctx.Err() != nil {
			return // shutting down or lost
		}
		if errors.Is(err, store.ErrNotFound) {
			// Deleted since the claim (queue delete, or finished by a
			// runner that held it before): nothing left to do.
			q.log.Debug("queue: item gone before its attempt", "qid", it.ID)
			return
		}
		q.log.Error("queue: reading message", "qid", it.ID, "err", err)
		return
	}
	now := q.cfg.Now()
	relay := q.currentRelay()
	groups := map[string][]store.QueueRecipient{}
	var order []string
	for _, r := range it.Recipients {
		if r.Status != store.RcptPending || r.NextAttempt.After(now) {
			continue
		}
		d := domainOf(r.Addr)
		if relay.Host != "" {
			d = "" // one connection to the smarthost for everything
		}
		if _, ok := groups[d]; !ok {
			order = append(order, d)
		}
		groups[d] = append(groups[d], r)
	}
	var wg sync.WaitGroup
	for _, d := range order {
		rcpts := groups[d]
		wg.Add(1)
		go func() {
			defer wg.Done()
			release, err := q.acquireDomain(actx, d)
			if err != nil {
				return
			}
			addrs := make([]string, len(rcpts))
			for i, r := range rcpts {
				addrs[i] = r.Addr
			}
			outs := q.deliverDomain(actx, relay, it.From, d, addrs, raw)
			release()
			if ctx.Err() != nil {
				return // shutting down or lost: leave them pending, untouched
			}
			updates := q.apply(it, rcpts, outs, q.cfg.Now())
			// Record the outcome even if Shutdown gave up meanwhile: the
			// remote side has answered and must not get it again. Not if
			// the lease was lost: the item's state is the new holder's.
			if f.lost.Load() {
				return
			}
			if err := q.cfg.Store.UpdateQueueRecipients(context.WithoutCancel(ctx), it.ID, updates); errors.Is(err, store.ErrNotFound) {
				q.log.Debug("queue: item gone during its attempt", "qid", it.ID)
			} else if err != nil {
				q.log.Error("queue: recording outcome", "qid", it.ID, "domain", d, "err", err)
			}
		}()
	}
	wg.Wait()
	if ctx.Err() != nil {
		if f.lost.Load() {
			q.log.Info("queue: attempt abandoned; another runner holds the item", "qid", it.ID)
		}
		return
	}
	cur, err := q.cfg.Store.QueueItem(ctx, it.ID)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) { // deleted meanwhile (CLI)
			q.log.Error("queue: reading item", "qid", it.ID, "err", err)
		}
		return
	}
	if !cur.Pending() {
		q.finish(ctx, cur)
	}
}

// apply turns outcomes into new recipient states.
func (q *Queue) apply(it store.QueueItem, rcpts []store.QueueRecipient, outs []outcome, now time.Time) []store.QueueRecipient {
	byAddr := map[string]outcome{}
	for _, o := range outs {
		byAddr[strings.ToLower(o.rcpt)] = o
	}
	var up []store.QueueRecipient
	for _, r := range rcpts {
		o, ok := byAddr[strings.ToLower(r.Addr)]
		if !ok {
			continue
		}
		r.Attempts++
		r.LastError = o.text
		switch {
		case o.err == nil:
			r.Status = store.RcptDelivered
			q.cfg.Metrics.QueueAttempt(AttemptDelivered)
			q.log.Info("queue: delivered", "qid", it.ID, "rcpt", r.Addr, "reply", o.text)
		case isPermanent(o.err):
			r.Status = store.RcptFailed
			q.cfg.Metrics.QueueAttempt(AttemptFailed)
			q.log.Info("queue: failed", "qid", it.ID, "rcpt", r.Addr, "reply", o.text)
			q.journal(now, it.From, r.Addr, "failed", o.text)
		default:
			sched := q.cfg.RetrySchedule
			wait := sched[min(r.Attempts-1, len(sched)-1)]
			r.NextAttempt = now.Add(wait)
			if r.NextAttempt.Sub(it.Created) > q.cfg.Lifetime {
				r.Status = store.RcptFailed
				r.LastError = fmt.Sprintf("gave up after %d attempts: %s", r.Attempts, o.text)
				q.cfg.Metrics.QueueAttempt(AttemptExpired)
				q.log.Info("queue: expired", "qid", it.ID, "rcpt", r.Addr, "reply", o.text)
				q.journal(now, it.From, r.Addr, "expired", o.text)
			} else {
				q.cfg.Metrics.QueueAttempt(AttemptDeferred)
				q.log.Info("queue: deferred", "qid", it.ID, "rcpt", r.Addr, "reply", o.text, "retry", wait)
			}
		}
		up = append(up, r)
	}
	return up
}

// journal tells Config.Journal of a recipient that failed for good.
func (q *Queue) journal(at time.Time, from, to, outcome, reply string) {
	if j := q.cfg.Journal; j != nil {
		j.OutboundFailure(at, from, to, outcome, reply)
	}
}

// finish removes an item whose recipients are all final, first giving the
// sender a DSN for the failed ones: only a local sender, never the null
// sender.
func (q *Queue) finish(ctx context.Context, it store.QueueItem) {
	var failed []store.QueueRecipient
	for _, r := range it.Recipients {
		if r.Status == store.RcptFailed {
			failed = append(failed, r)
		}
	}
	if len(failed) > 0 && it.From != "" {
		raw, _ := q.cfg.Store.QueueMessage(ctx, it.ID)
		dsn := buildDSN(q.cfg.Hostname, q.cfg.Now(), it, failed, raw)
		msg := store.NewMessage{Raw: dsn, Part: message.Parse(dsn), InternalDate: q.cfg.Now()}
		sent, err := q.deliverDSN(ctx, it, msg)
		if err != nil {
			q.log.Error("queue: delivering DSN", "qid", it.ID, "err", err)
			return
		}
		if sent {
			q.cfg.Metrics.DSNSent()
			q.log.Info("queue: DSN sent", "qid", it.ID, "to", it.From, "failed", len(failed))
		} else {
			q.log.Info("queue: sender not local; no DSN", "qid", it.ID, "from", it.From)
		}
	}
	if fc, ok := q.cfg.Deliverer.(FailureCounter); ok && len(failed) > 0 && it.From != "" {
		fc.CountFailedRecipients(ctx, it.From, len(failed))
	}
	if err := q.cfg.Store.DeleteQueueItem(ctx, it.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
		q.log.Error("queue: removing item", "qid", it.ID, "err", err)
	}
}

// deliverDSN delivers msg, the DSN for item it, to its sender when the
// sender is local, and reports whether it did. With a Deliverer the
// sender is resolved like any inbound recipient (accounts, aliases,
// subaddresses; never relayed to another domain, and over quota all the
// same) and the DSN goes from the null sender; without one, only an
// account of exactly that address gets it.
func (q *Queue) deliverDSN(ctx context.Context, it store.QueueItem, msg store.NewMessage) (bool, error) {
	if d := q.cfg.Deliverer; d != nil {
		rc, err := d.Resolve(ctx, delivery.Request{Addr: it.From, IgnoreQuota: true})
		switch {
		case errors.Is(err, delivery.ErrRelayDenied), errors.Is(err, delivery.ErrNoSuchUser), errors.Is(err, delivery.ErrBadAddress),
			errors.Is(err, delivery.ErrLoop), errors.Is(err, delivery.ErrRelayUnavailable):
			// Permanent: trying again at every claim would not help.
			return false, nil
		case err != nil:
			return false, err
		}
		_, err = d.Deliver(ctx, delivery.Envelope{From: "", Recipients: []delivery.Recipient{rc}, NoSieve: true}, msg)
		return err == nil, err
	}
	acct, err := q.cfg.Store.AccountByEmail(ctx, it.From)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if _, err := q.cfg.Store.Deliver(ctx, []store.Target{{AccountID: acct.ID}}, msg); err != nil {
		return false, err
	}
	return true, nil
}

// acquireDomain waits for a connection slot for domain d.
func (q *Queue) acquireDomain(ctx context.Context, d string) (func(), error) {
	q.mu.Lock()
	sem, ok := q.domains[d]
	if !ok {
		sem = make(chan struct{}, q.cfg.PerDomain)
		q.domains[d] = sem
	}
	q.mu.Unlock()
	select {
	case sem <- struct{}{}:
		return func() { <-sem }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func domainOf(addr string) string {
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return ""
	}
	return strings.ToLower(addr[at+1:])
}
