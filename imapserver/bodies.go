package imapserver

import (
	"github.com/mailroom/mailroom/store"
)

// Reading bytes in batches: FETCH of headers or bodies and SEARCH on text
// read the bytes of up to bodyBatchCount messages with one store call
// (Store.ListBodies) instead of one or two calls per message, and parse the
// MIME tree from the bytes in hand (cheaper than decoding the stored tree,
// BenchmarkSearchPartSource). A batch holds at most bodyBatchBytes, so
// memory stays bounded whatever the mailbox holds; a message larger than
// bodyAloneSize is read on its own, only when an item needs it (FETCH
// ENVELOPE of a 40 MB message reads the stored tree, not 40 MB).
const (
	bodyBatchCount = 64
	bodyBatchBytes = 4 << 20
	bodyAloneSize  = 1 << 20
)

// bodyBatch returns how many messages at the start of metas form the next
// batch, and their bytes (raws[i] is nil for a message expunged meanwhile,
// or when the batch is a single large message read lazily).
func (c *conn) bodyBatch(mailboxID int64, metas []store.MessageMeta) (int, [][]byte, error) {
	if metas[0].Size > bodyAloneSize {
		return 1, nil, nil
	}
	n, total := 0, int64(0)
	for n < len(metas) && n < bodyBatchCount && metas[n].Size <= bodyAloneSize && total+metas[n].Size <= bodyBatchBytes {
		total += metas[n].Size
		n++
	}
	uids := make([]uint32, n)
	for i := range n {
		uids[i] = metas[i].UID
	}
	raws := make([][]byte, n)
	j := 0
	err := c.srv.cfg.Store.ListBodies(c.ctx, mailboxID, uids, func(m store.MessageMeta, raw []byte) error {
		for j < n && metas[j].UID < m.UID {
			j++
		}
		if j < n && metas[j].UID == m.UID && metas[j].ID == m.ID {
			raws[j] = raw
		}
		return nil
	})
	return n, raws, err
}

// withBytes returns the msgData of meta with its bytes already read (raw
// from bodyBatch), or one that reads them when first needed.
func (c *conn) withBytes(meta *store.MessageMeta, raw []byte) msgData {
	if raw == nil {
		return msgData{c: c, meta: meta}
	}
	return msgData{c: c, meta: meta, raw: raw, haveRaw: true, parse: true}
}
