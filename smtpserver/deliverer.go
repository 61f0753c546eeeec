package smtpserver

import (
	"context"
	"fmt"

	"github.com/mailroom/mailroom/delivery"
)

// defaultDeliverer builds the Deliverer of a Config that names none, from
// its Store, Queue, Aliases, RecipientDelimiter and Quota. A store with
// DeliverAndEnqueue and no queue, or a queue that signs for package
// delivery (*queue.Queue), commit in one transaction; any other
// combination (test doubles: a Store with only Deliver, a Queue with
// only EnqueueAs) goes through enqueueThenDeliver, which is not atomic.
func defaultDeliverer(cfg Config) Deliverer {
	dc := delivery.Config{
		Store:              cfg.Store,
		Hostname:           cfg.Hostname,
		Aliases:            cfg.Aliases,
		RecipientDelimiter: cfg.RecipientDelimiter,
		Quota:              cfg.Quota,
		Logger:             cfg.Logger,
		Now:                cfg.Now,
	}
	_, tx := cfg.Store.(delivery.Store)
	dq, signs := cfg.Queue.(delivery.Queue)
	switch {
	case tx && cfg.Queue == nil:
	case tx && signs:
		dc.Queue = dq
	default:
		dc.Committer = enqueueThenDeliver{st: cfg.Store, q: cfg.Queue}
	}
	d, err := delivery.New(dc)
	if err != nil {
		panic(fmt.Sprintf("smtpserver: %v", err))
	}
	return d
}

// enqueueThenDeliver commits with two calls, Queue.EnqueueAs and then
// Store.Deliver, as this package did before package delivery: if the
// second fails, the first stays. It serves stores and queues that cannot
// share a transaction (the tests' in-memory store and recording queue).
type enqueueThenDeliver struct {
	st Store
	q  Queue
}

func (c enqueueThenDeliver) Outbound() bool { return c.q != nil }

func (c enqueueThenDeliver) Commit(ctx context.Context, cm delivery.Commit) (delivery.Result, error) {
	var res delivery.Result
	if len(cm.Remote) > 0 {
		id, err := c.q.EnqueueAs(ctx, cm.From, cm.Remote, cm.Raw, cm.SignDomain)
		if err != nil {
			return res, err
		}
		res.QueueID = id
	}
	if len(cm.Targets) > 0 {
		d, err := c.st.Deliver(ctx, cm.Targets, cm.Message)
		if err != nil {
			return res, err
		}
		res.Delivered = d
	}
	return res, nil
}
