package sqlite

import (
	"context"
	"fmt"
	"slices"

	"github.com/mailroom/mailroom/store"
)

// DeliverBatch implements store.Store: every copy and queue entry is
// written by one job, so they commit together or not at all.
func (s *Store) DeliverBatch(ctx context.Context, copies []store.Copy, queued []store.QueuedMessage) ([]store.Delivered, []int64, error) {
	type group struct {
		targets []store.Target
		p       prepared
	}
	var groups []group
	for _, c := range copies {
		var uniq []store.Target
		for _, t := range c.Targets {
			if !slices.Contains(uniq, t) {
				uniq = append(uniq, t)
			}
		}
		if len(uniq) == 0 {
			continue
		}
		p, err := s.prepare(c.Message)
		if err != nil {
			return nil, nil, err
		}
		groups = append(groups, group{uniq, p})
	}
	qs := make([]preparedQueue, len(queued))
	for i, q := range queued {
		var err error
		if qs[i], err = s.prepareQueue(q); err != nil {
			return nil, nil, err
		}
	}
	if len(groups) == 0 && len(qs) == 0 {
		return nil, nil, fmt.Errorf("%w: delivery without targets", store.ErrInvalid)
	}
	var out []store.Delivered
	var qids []int64
	err := s.write(ctx, func(tx *wtx) error {
		out, qids = out[:0], qids[:0]
		for i := range qs {
			id, err := enqueueTx(tx, &qs[i])
			if err != nil {
				return err
			}
			qids = append(qids, id)
		}
		for i := range groups {
			var err error
			if out, err = deliverTx(tx, groups[i].targets, &groups[i].p, out); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return out, qids, nil
}
