package pop3server

import (
	"context"
	"errors"

	"github.com/mailroom/mailroom/message"
	"github.com/mailroom/mailroom/store"
)

// Clients download a maildrop with RETR 1, RETR 2, ... one message at a
// time, each waiting for the previous one. One store query per RETR made
// that round trip the cost of a small message, so RETR reads ahead: the
// message asked for and the next ones not deleted, up to readAheadBytes
// of stored size (at least the one asked for), in one ListBodies query,
// and serves the following RETRs from what it read. Only a RETR that
// follows the previous message (or is the first) reads ahead, so a client
// that jumps around reads what it asks for alone.
//
// A message another protocol expunges after it was read ahead is still
// served, as it would have been had the RETR come a moment earlier.

// readAheadBytes bounds the bytes one session holds read ahead (stored
// size of the messages read; a single message larger than this is read
// alone, as without read-ahead).
const readAheadBytes = 256 << 10

// readAheadMax bounds the messages read ahead in one query.
const readAheadMax = 32

// ahead holds bodies read ahead of RETR: message number n's bytes (a
// slice of buf) at raws[n], for the numbers read.
type ahead struct {
	raws map[int][]byte
	buf  []byte // the bytes raws' slices are of, while any is left
	last int    // the message number of the previous RETR, 0 before any
}

// retrBody returns the bytes of message number n (m), from what was read
// ahead, else by a read that also reads ahead when RETRs go in order,
// else into buf as bodyInto (inBuf true: the caller's buffer holds them).
// The bytes are valid until the next call.
func (d *maildrop) retrBody(ctx context.Context, n int, m *dropMessage, buf []byte) (raw []byte, inBuf bool, err error) {
	sequential := d.ahead.last == 0 || n == d.ahead.last+1
	d.ahead.last = n
	if raw, ok := d.ahead.raws[n]; ok {
		delete(d.ahead.raws, n)
		if len(d.ahead.raws) == 0 {
			d.ahead.buf = nil // raw stays valid; the session holds no more
		}
		return raw, false, nil
	}
	clear(d.ahead.raws)
	if !sequential || m.meta.Size > readAheadBytes {
		raw, err := d.bodyInto(ctx, m, buf)
		return raw, true, err
	}
	// The message asked for and the next ones not deleted, within the
	// byte budget.
	byUID := map[uint32]int{m.meta.UID: n}
	uids := []uint32{m.meta.UID}
	total := m.meta.Size
	for i := n; i < len(d.msgs) && len(uids) < readAheadMax; i++ { // d.msgs[i] is message i+1
		next := d.msgs[i]
		if next.deleted {
			continue
		}
		if total+next.meta.Size > readAheadBytes {
			break
		}
		total += next.meta.Size
		uids = append(uids, next.meta.UID)
		byUID[next.meta.UID] = i + 1
	}
	if len(uids) == 1 {
		raw, err := d.bodyInto(ctx, m, buf)
		return raw, true, err
	}
	if d.ahead.raws == nil {
		d.ahead.raws = make(map[int][]byte, readAheadMax)
	}
	// One arena for all (the store's bytes are valid only during fn),
	// cut into slices once every message is in.
	type span struct{ num, start, end int }
	var spans []span
	arena := make([]byte, 0, total)
	err = d.backend.ListBodies(ctx, d.mailbox.Ref(), uids, func(meta store.MessageMeta, raw []byte) error {
		num, ok := byUID[meta.UID]
		if !ok || d.msgs[num-1].meta.ID != meta.ID {
			return nil
		}
		start := len(arena)
		arena = append(arena, raw...)
		spans = append(spans, span{num, start, len(arena)})
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, false, errMessageGone
	}
	if err != nil {
		return nil, false, err
	}
	d.ahead.buf = arena
	found := false
	for _, s := range spans {
		b := arena[s.start:s.end:s.end]
		if dm := d.msgs[s.num-1]; dm.size < 0 {
			dm.size = message.CRLFSize(b)
		}
		if s.num == n {
			raw, found = b, true
			continue
		}
		d.ahead.raws[s.num] = b
	}
	if !found {
		clear(d.ahead.raws)
		d.ahead.buf = nil
		return nil, false, errMessageGone
	}
	return raw, false, nil
}
