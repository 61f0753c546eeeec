// Package batch walks a mailbox's messages in bounded chunks for the store
// backends, so that both read bodies the same way with only their SQL
// differing.
package batch

import (
	"slices"

	"github.com/mailroom/mailroom/store"
)

// Row is one message read by a backend query.
type Row struct {
	Meta store.MessageMeta
	Raw  []byte
}

// Queries are a backend's two ways of reading a chunk: After reads up to n
// messages with a UID above last, in UID order; In reads the messages with
// the given UIDs (at most one chunk), in UID order.
type Queries struct {
	After func(last uint32, n int) ([]Row, error)
	In    func(uids []uint32) ([]Row, error)
}

// Each calls fn for every message whose UID is in uids (nil means the
// whole mailbox), in UID order, reading n messages per query. Messages
// expunged meanwhile are skipped, since the queries do not return them.
func Each(uids []uint32, n int, q Queries, fn func(store.MessageMeta, []byte) error) error {
	if uids != nil && !slices.IsSorted(uids) {
		uids = slices.Clone(uids)
		slices.Sort(uids)
	}
	var last uint32
	for {
		var rows []Row
		var err error
		if uids == nil {
			rows, err = q.After(last, n)
		} else {
			if len(uids) == 0 {
				return nil
			}
			k := min(len(uids), n)
			rows, err = q.In(uids[:k])
			uids = uids[k:]
		}
		if err != nil {
			return err
		}
		for _, r := range rows {
			if err := fn(r.Meta, r.Raw); err != nil {
				return err
			}
		}
		if uids == nil {
			if len(rows) < n {
				return nil
			}
			last = rows[len(rows)-1].Meta.UID
		}
	}
}
