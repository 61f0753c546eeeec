package pop3server

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/mailroom/mailroom/message"
	"github.com/mailroom/mailroom/store"
)

// Clients download a maildrop with RETR 1, RETR 2, ... one message at a
// time, each waiting for the previous one. One store query per RETR made
// that round trip the cost of a small message, so RETR reads ahead: a
// RETR that follows the previous message (or is the first) starts a
// goroutine that reads the message asked for and the next ones not
// deleted in batches (up to readAheadBytes of stored size, readAheadMax
// messages, one query each), the next batch while the client receives
// the messages of the current one. The goroutine hands each message over
// as soon as the query has copied it into the batch, so a RETR waits for
// its own message, never for the rest of its batch. The following RETRs
// are served from what it read. A client that jumps around reads what it
// asks for alone; a message larger than readAheadBytes is always read
// alone.
//
// A session holds at most readAheadBatches batches: the one RETR serves
// from and the one being read; the goroutine waits for RETR to be done
// with the first before reading a third. It stops when a RETR jumps ahead
// of it and when the session ends.
//
// A message another protocol expunges after it was read ahead is still
// served, as it would have been had the RETR come a moment earlier; one
// expunged before gets errMessageGone.

// readAheadBytes bounds the stored size of the messages one batch reads
// (at least one message).
const readAheadBytes = 256 << 10

// readAheadMax bounds the messages read ahead in one query.
const readAheadMax = 32

// readAheadBatches is how many batches a session holds read ahead.
const readAheadBatches = 2

// readAheadTimeout bounds one batch's store read, as storeCtx does a
// command's.
const readAheadTimeout = time.Minute

// ahead is a session's read-ahead state; only the session's goroutine
// touches it.
type ahead struct {
	last int       // the message number of the previous RETR, 0 before any
	run  *prefetch // the goroutine reading ahead, nil if none
}

// prefetch is one read-ahead goroutine and what RETR has taken from it.
type prefetch struct {
	plan   []planned // the messages it reads, in order; read-only
	pos    int       // plan[pos] is the message the next RETR in order asks for
	cur    *batch    // the batch of the last message taken, nil before the first
	failed bool      // a read failed: nothing more comes
	// out carries the plan's messages in order, each once. It holds
	// every message of the batches not yet done with, so the goroutine
	// never waits to hand one over (with a query in progress).
	out    chan item
	free   chan *batch
	cancel context.CancelFunc
	done   chan struct{}
}

// item is plan[i] as the goroutine hands it over: its bytes in batch b,
// or err (errMessageGone: expunged before the read; fatal: the read
// failed, and nothing comes after it).
type item struct {
	i     int
	raw   []byte
	b     *batch
	err   error
	fatal bool
}

// outCap is the capacity of prefetch.out: every message of the batches
// held, and a failure.
const outCap = readAheadBatches*readAheadMax + 1

// planned is a message of the snapshot as the goroutine needs it, copied
// so that it shares nothing the session changes (DELE).
type planned struct {
	num  int
	uid  uint32
	id   int64
	size int64
}

// batchPool recycles batches (their buffers) across sessions; a nil
// pool allocates.
type batchPool struct{ p sync.Pool }

func (bp *batchPool) get() *batch {
	if bp != nil {
		if b, ok := bp.p.Get().(*batch); ok {
			return b
		}
	}
	return &batch{}
}

func (bp *batchPool) put(b *batch) {
	if bp != nil && cap(b.arena) <= 2*readAheadBytes {
		bp.p.Put(b)
	}
}

// batch is the buffer the messages of one query are copied into, reused
// from batch to batch.
type batch struct {
	arena []byte
	uids  []uint32
}

// retrBody returns the bytes of message number n (m), from what was read
// ahead, else by a read that starts reading ahead when RETRs go in order,
// else into buf as bodyInto (inBuf true: the caller's buffer holds them).
// The bytes are valid until the next call.
func (d *maildrop) retrBody(ctx context.Context, n int, m *dropMessage, buf []byte) (raw []byte, inBuf bool, err error) {
	sequential := d.ahead.last == 0 || n == d.ahead.last+1
	d.ahead.last = n
	if p := d.ahead.run; p != nil && p.find(n) < 0 {
		if p.pos < len(p.plan) && n < p.plan[p.pos].num {
			// Behind the goroutine (again, or a message it skips): read alone.
			raw, err := d.bodyInto(ctx, m, buf)
			return raw, true, err
		}
		d.stopReadAhead() // jumped ahead of it, or past its end
	}
	if d.ahead.run == nil {
		if !sequential || m.meta.Size > readAheadBytes {
			raw, err := d.bodyInto(ctx, m, buf)
			return raw, true, err
		}
		d.startReadAhead(ctx, n)
	}
	p := d.ahead.run
	raw, err = p.take(ctx, p.find(n))
	if err != nil {
		if err != errMessageGone || p.failed {
			d.stopReadAhead() // the goroutine failed, or RETR gave up waiting
		}
		return nil, false, err
	}
	if m.size < 0 {
		m.size = message.CRLFSize(raw)
	}
	return raw, false, nil
}

// startReadAhead starts a goroutine reading message n and the next ones
// not deleted and not larger than readAheadBytes. It runs until
// stopReadAhead, not bound to ctx's deadline (each read has its own).
func (d *maildrop) startReadAhead(ctx context.Context, n int) {
	var plan []planned
	for i := n - 1; i < len(d.msgs); i++ { // d.msgs[i] is message i+1
		m := d.msgs[i]
		if !m.deleted && m.meta.Size <= readAheadBytes {
			plan = append(plan, planned{num: i + 1, uid: m.meta.UID, id: m.meta.ID, size: m.meta.Size})
		}
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	p := &prefetch{
		plan:   plan,
		out:    make(chan item, outCap),
		free:   make(chan *batch, readAheadBatches),
		cancel: cancel,
		done:   make(chan struct{}),
	}
	for range readAheadBatches {
		p.free <- d.batches.get()
	}
	d.ahead.run = p
	go p.read(ctx, d.backend, d.mailbox.Ref())
}

// stopReadAhead stops the read-ahead goroutine, if any, and waits for it
// (a store read in progress is cancelled), so that the session holds no
// store connection afterwards; the batches it can find go back to the
// pool.
func (d *maildrop) stopReadAhead() {
	p := d.ahead.run
	if p == nil {
		return
	}
	d.ahead.run = nil
	p.cancel()
	<-p.done
	var seen [readAheadBatches + 1]*batch // each batch once: it is in cur, out and free at most
	n := 0
	keep := func(b *batch) {
		for _, s := range seen[:n] {
			if b == nil || s == b {
				return
			}
		}
		if b != nil && n < len(seen) {
			seen[n] = b
			n++
			d.batches.put(b)
		}
	}
	keep(p.cur)
	for {
		select {
		case it := <-p.out:
			keep(it.b)
		case b := <-p.free:
			keep(b)
		default:
			return
		}
	}
}

// find returns the index in the plan of message n if it is the next one
// in order or one of the readAheadMax after it (skipping the messages
// before it), else -1.
func (p *prefetch) find(n int) int {
	for i := p.pos; i < len(p.plan) && i < p.pos+readAheadMax && p.plan[i].num <= n; i++ {
		if p.plan[i].num == n {
			return i
		}
	}
	return -1
}

// take returns the bytes of plan[i] (i from find), waiting for the
// goroutine to hand them over; the messages before it are dropped. A
// batch goes back to the goroutine when the first message of the next
// one is taken: its bytes were the previous RETR's, which is done.
func (p *prefetch) take(ctx context.Context, i int) ([]byte, error) {
	p.pos = i + 1
	for {
		var it item
		select {
		case it = <-p.out:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if it.b != nil && it.b != p.cur {
			if p.cur != nil {
				p.free <- p.cur
			}
			p.cur = it.b
		}
		if it.fatal {
			p.failed = true
			if errors.Is(it.err, store.ErrNotFound) {
				return nil, errMessageGone
			}
			return nil, it.err
		}
		if it.i == i {
			return it.raw, it.err
		}
	}
}

// read is the goroutine: it reads the plan batch by batch, each into a
// free batch, handing the messages over in order. It ends after the
// plan, after a failed read and when ctx is cancelled.
func (p *prefetch) read(ctx context.Context, b Backend, ref store.MailboxRef) {
	defer close(p.done)
	for from := 0; from < len(p.plan); {
		var bt *batch
		select {
		case bt = <-p.free:
		case <-ctx.Done():
			return
		}
		to, total := from+1, p.plan[from].size
		for to < len(p.plan) && to-from < readAheadMax && total+p.plan[to].size <= readAheadBytes {
			total += p.plan[to].size
			to++
		}
		next, handed, err := bt.fill(ctx, b, ref, p.plan, from, to, total, p.out)
		if handed == 0 {
			// Nothing refers to it (every message expunged, or the read
			// failed first): free again at once, as RETR would never
			// give it back.
			p.free <- bt
		}
		if err != nil {
			p.out <- item{i: next, err: err, fatal: true}
			return
		}
		from = to
	}
}

// fill reads plan[from:to] (total stored bytes) into bt with one query
// and hands each message over on out as soon as it is copied. It returns
// how many messages it handed over with their bytes in bt, and on a
// failed read the error and the index of the first message not handed
// over.
func (bt *batch) fill(ctx context.Context, b Backend, ref store.MailboxRef, plan []planned, from, to int, total int64, out chan<- item) (next, handed int, err error) {
	ctx, cancel := context.WithTimeout(ctx, readAheadTimeout)
	defer cancel()
	bt.arena = bt.arena[:0]
	if int64(cap(bt.arena)) < total {
		bt.arena = make([]byte, 0, total)
	}
	bt.uids = bt.uids[:0]
	for _, m := range plan[from:to] {
		bt.uids = append(bt.uids, m.uid)
	}
	k := from // plan[k] is the next message to hand over; rows come in UID order, the plan's
	add := func(id int64, uid uint32, raw []byte) error {
		for k < to && plan[k].uid < uid {
			out <- item{i: k, err: errMessageGone} // expunged before this read
			k++
		}
		if k == to || plan[k].uid != uid {
			return nil
		}
		if plan[k].id != id {
			out <- item{i: k, err: errMessageGone}
			k++
			return nil
		}
		start := len(bt.arena)
		bt.arena = append(bt.arena, raw...)
		out <- item{i: k, raw: bt.arena[start:len(bt.arena):len(bt.arena)], b: bt}
		k++
		handed++
		return nil
	}
	if rb, ok := b.(bodyStreamer); ok {
		err = rb.ReadBodies(ctx, ref, bt.uids, add)
	} else {
		err = b.ListBodies(ctx, ref, bt.uids, func(meta store.MessageMeta, raw []byte) error {
			return add(meta.ID, meta.UID, raw)
		})
	}
	if err != nil {
		return k, handed, err
	}
	for ; k < to; k++ {
		out <- item{i: k, err: errMessageGone}
	}
	return k, handed, nil
}

// bodyStreamer is a Backend that hands over a batch's bytes as it reads
// them, without a copy of its own (ListBodies allocates one per message);
// the read-ahead goroutine copies them into its batch (store/sqlite).
type bodyStreamer interface {
	ReadBodies(ctx context.Context, ref store.MailboxRef, uids []uint32, fn func(id int64, uid uint32, raw []byte) error) error
}
