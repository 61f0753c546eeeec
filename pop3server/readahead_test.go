package pop3server

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mailroom/mailroom/store"
)

// TestRetrReadsAhead: a client downloading the maildrop in order (RETR 1,
// RETR 2, ...) costs one store read per readAheadBytes of messages, not
// one per message, and gets every message exactly; a client that jumps
// around, a deleted message and a message larger than the read-ahead
// budget still get what they ask for.
func TestRetrReadsAhead(t *testing.T) {
	ts := newTestServer(t, nil)
	var raws []string
	for i := range 20 {
		raw := fmt.Sprintf("Subject: m%d\r\n\r\n.starts with a dot\r\n%s\r\n", i, strings.Repeat("x", i*100))
		raws = append(raws, raw)
		ts.store.addMessage(ts.acct.ID, raw)
	}
	big := "Subject: big\r\n\r\n" + strings.Repeat(strings.Repeat("y", 998)+"\r\n", readAheadBytes/1000+10)
	raws = append(raws, big)
	ts.store.addMessage(ts.acct.ID, big)
	c := ts.login(t)
	retr := func(n int) { c.retrExact(n, raws[n-1]) }
	c.expect("DELE 7", "+OK message 7 deleted")
	before := ts.store.reads()
	for n := 1; n <= 6; n++ {
		retr(n)
	}
	if got := ts.store.reads() - before; got != 1 {
		t.Errorf("RETR 1..6 in order read the store %d times, want 1", got)
	}
	c.expect("RETR 7", "-ERR message 7 already deleted")
	retr(8)
	retr(3) // out of order: read alone
	retr(15)
	retr(16)
	retr(21) // larger than the budget: read alone
	retr(20)
	c.expect("RSET", fmt.Sprintf("+OK maildrop has 21 messages (%d octets)", totalLen(raws)))
	for n := 1; n <= 21; n++ {
		retr(n)
	}
	if got := ts.store.reads() - before; got > 12 {
		t.Errorf("%d store reads for 33 RETRs, want read-ahead to batch them", got)
	}
}

func totalLen(raws []string) int {
	n := 0
	for _, r := range raws {
		n += len(r)
	}
	return n
}

// TestRetrReadsNextBatchWhileSending: after a RETR in order, the next
// batch is read from the store without waiting for the client's next
// RETR, but no further (the session holds at most readAheadBatches
// batches); every message still arrives exactly, each read once.
func TestRetrReadsNextBatchWhileSending(t *testing.T) {
	ts := newTestServer(t, nil)
	var raws []string
	for i := range 6 {
		// Each more than half the batch budget: one message per batch.
		raw := fmt.Sprintf("Subject: m%d\r\n\r\n%s", i, strings.Repeat(".dot line\r\n"+strings.Repeat("z", 988)+"\r\n", readAheadBytes/2000+1))
		raws = append(raws, raw)
		ts.store.addMessage(ts.acct.ID, raw)
	}
	c := ts.login(t)
	retr := func(n int) { c.retrExact(n, raws[n-1]) }
	before := ts.store.reads()
	retr(1)
	waitReads(t, ts.store, before+readAheadBatches)
	time.Sleep(100 * time.Millisecond)
	if got := ts.store.reads() - before; got != readAheadBatches {
		t.Fatalf("after RETR 1 the store was read %d times, want %d (RETR 1's batch and the next)", got, readAheadBatches)
	}
	for n := 2; n <= len(raws); n++ {
		retr(n)
	}
	if got := ts.store.reads() - before; got != len(raws) {
		t.Errorf("%d store reads for %d messages in order, want one each", got, len(raws))
	}
}

// waitReads waits until the store has been read want times.
func waitReads(t *testing.T, f *fakeStore, want int) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); f.reads() < want; {
		if time.Now().After(deadline) {
			t.Fatalf("store read %d times, want %d", f.reads(), want)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestRetrReadAheadDeleAndExpunge: a message read ahead and then marked
// with DELE is refused like any deleted message, and served again after
// RSET; one expunged by another protocol after it was read ahead is
// still served (as had the RETR come a moment earlier), one expunged
// before gets -ERR [SYS/TEMP] and the messages after it are served.
func TestRetrReadAheadDeleAndExpunge(t *testing.T) {
	ts := newTestServer(t, nil)
	var raws []string
	var uids []uint32
	for i := range 8 {
		raw := fmt.Sprintf("Subject: m%d\r\n\r\nbody %d\r\n", i, i)
		raws = append(raws, raw)
		uids = append(uids, ts.store.addMessage(ts.acct.ID, raw))
	}
	ref := ts.store.inboxes[ts.acct.ID].mb.Ref()
	c := ts.login(t)
	retr := func(n int) { c.retrExact(n, raws[n-1]) }
	retr(1) // reads all 8 ahead
	c.expect("DELE 2", "+OK message 2 deleted")
	c.expect("RETR 2", "-ERR message 2 already deleted")
	if _, _, err := ts.store.Expunge(t.Context(), ref, uids[2:3], false); err != nil {
		t.Fatal(err)
	}
	retr(3) // expunged after it was read ahead
	c.expect("RSET", fmt.Sprintf("+OK maildrop has 8 messages (%d octets)", totalLen(raws)))
	retr(2)
	c.expect("QUIT", "+OK pop.example.com POP3 server signing off")
	c.closed()

	// A new session, with message 4 (UID uids[3]) of the new snapshot
	// expunged before anything is read.
	raws = append(raws[:2], raws[3:]...)
	uids = append(uids[:2], uids[3:]...)
	c = ts.login(t)
	if _, _, err := ts.store.Expunge(t.Context(), ref, uids[3:4], false); err != nil {
		t.Fatal(err)
	}
	before := ts.store.reads()
	for n := 1; n <= 3; n++ {
		retr(n)
	}
	c.expect("RETR 4", "-ERR [SYS/TEMP] message no longer available")
	for n := 5; n <= len(raws); n++ {
		retr(n)
	}
	if got := ts.store.reads() - before; got != 1 {
		t.Errorf("%d store reads, want 1: a message gone does not stop the read-ahead", got)
	}
}

// retrExact requires RETR n to send raw, with its size in the status line.
func (c *client) retrExact(n int, raw string) {
	c.t.Helper()
	c.expect(fmt.Sprintf("RETR %d", n), fmt.Sprintf("+OK %d octets", len(raw)))
	if got := unstuff(c.data()); got != raw {
		c.t.Fatalf("RETR %d sent %d bytes %.40q, want %d bytes %.40q", n, len(got), got, len(raw), raw)
	}
}

// gatedStore is a fakeStore whose batch reads (ListBodies) stop after
// their first message until gate is closed.
type gatedStore struct {
	*fakeStore
	gate chan struct{}
	once sync.Once
}

func (g *gatedStore) open() { g.once.Do(func() { close(g.gate) }) }

func (g *gatedStore) ListBodies(ctx context.Context, ref store.MailboxRef, uids []uint32, fn func(store.MessageMeta, []byte) error) error {
	first := true
	return g.fakeStore.ListBodies(ctx, ref, uids, func(meta store.MessageMeta, raw []byte) error {
		if !first {
			select {
			case <-g.gate:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		first = false
		return fn(meta, raw)
	})
}

// TestRetrServedBeforeBatchEnds: RETR gets its message as soon as the
// read-ahead query has read it, without waiting for the rest of the
// batch (here held back until the end of the test).
func TestRetrServedBeforeBatchEnds(t *testing.T) {
	fs := newFakeStore()
	acct := fs.addAccount(t, testUser, testPass)
	var raws []string
	for i := range 5 {
		raw := fmt.Sprintf("Subject: m%d\r\n\r\n.dot\r\nbody %d\r\n", i, i)
		raws = append(raws, raw)
		fs.addMessage(acct.ID, raw)
	}
	g := &gatedStore{fakeStore: fs, gate: make(chan struct{})}
	ts := startServer(t, g, fs, acct, nil)
	t.Cleanup(g.open) // before the server's Shutdown (cleanups run last first)
	c := ts.login(t)
	c.retrExact(1, raws[0]) // the rest of its batch is still being read
	c.expect("DELE 1", "+OK message 1 deleted")
	g.open()
	for n := 2; n <= len(raws); n++ {
		c.retrExact(n, raws[n-1])
	}
}

// boundedStore is a fakeStore that checks, at every batch read, that no
// session holds more than readAheadBatches batches of bytes it has not
// sent: what the account's reads returned so far, plus this read, minus
// what its client has received.
type boundedStore struct {
	*fakeStore
	t    *testing.T
	mu   sync.Mutex
	read map[int64]int64         // stored bytes read, by mailbox id
	sent map[int64]*atomic.Int64 // bytes its client received, by mailbox id
	peak int64
}

func (b *boundedStore) ListBodies(ctx context.Context, ref store.MailboxRef, uids []uint32, fn func(store.MessageMeta, []byte) error) error {
	var n int64
	b.fakeStore.mu.Lock()
	for _, m := range b.fakeStore.box(ref).msgs {
		if containsUID(uids, m.meta.UID) {
			n += m.meta.Size
		}
	}
	b.fakeStore.mu.Unlock()
	b.mu.Lock()
	b.read[ref.MailboxID] += n
	ahead := b.read[ref.MailboxID] - b.sent[ref.MailboxID].Load()
	b.peak = max(b.peak, ahead)
	b.mu.Unlock()
	if ahead > readAheadBatches*readAheadBytes {
		b.t.Errorf("mailbox %d: %d bytes read and not sent, bound %d", ref.MailboxID, ahead, readAheadBatches*readAheadBytes)
	}
	return b.fakeStore.ListBodies(ctx, ref, uids, fn)
}

// TestRetrReadAheadBoundedPerSession: many sessions downloading at once
// each hold at most readAheadBatches batches of bytes read ahead of what
// their client received, and every message arrives exactly.
func TestRetrReadAheadBoundedPerSession(t *testing.T) {
	const sessions, msgs = 8, 24
	fs := newFakeStore()
	b := &boundedStore{fakeStore: fs, t: t, read: map[int64]int64{}, sent: map[int64]*atomic.Int64{}}
	var accts []store.Account
	raws := make([]string, msgs)
	for i := range raws {
		// About 60 KB: four to a batch.
		raws[i] = fmt.Sprintf("Subject: m%d\r\n\r\n%s", i, strings.Repeat(".dot line\r\n"+strings.Repeat("q", 988)+"\r\n", 60))
	}
	for s := range sessions {
		a := fs.addAccount(t, fmt.Sprintf("u%d@example.com", s), testPass)
		accts = append(accts, a)
		for _, raw := range raws {
			fs.addMessage(a.ID, raw)
		}
		b.sent[fs.inboxes[a.ID].mb.ID] = new(atomic.Int64)
	}
	ts := startServer(t, b, fs, accts[0], nil)
	var wg sync.WaitGroup
	errs := make(chan error, sessions)
	for _, a := range accts {
		sent := b.sent[fs.inboxes[a.ID].mb.ID]
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- downloadAll(ts.addr, a.Email, raws, sent)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if b.peak == 0 {
		t.Error("nothing was read ahead")
	}
}

// downloadAll logs in as email and RETRs every message in order,
// requiring raws; sent counts the bytes received. It may run in a
// goroutine of its own (no testing.T).
func downloadAll(addr, email string, raws []string, sent *atomic.Int64) error {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(2 * time.Minute)) // a hang guard only
	r := bufio.NewReader(conn)
	line := func() (string, error) {
		s, err := r.ReadString('\n')
		return strings.TrimSuffix(s, "\r\n"), err
	}
	cmd := func(c string) (string, error) {
		if _, err := conn.Write([]byte(c + "\r\n")); err != nil {
			return "", err
		}
		return line()
	}
	if _, err := line(); err != nil {
		return err
	}
	for _, c := range []string{"USER " + email, "PASS " + testPass} {
		if l, err := cmd(c); err != nil || !strings.HasPrefix(l, "+OK") {
			return fmt.Errorf("%s: %s: %q %v", email, c, l, err)
		}
	}
	for n, raw := range raws {
		if l, err := cmd(fmt.Sprintf("RETR %d", n+1)); err != nil || l != fmt.Sprintf("+OK %d octets", len(raw)) {
			return fmt.Errorf("%s: RETR %d: %q %v", email, n+1, l, err)
		}
		var got strings.Builder
		for {
			l, err := line()
			if err != nil {
				return err
			}
			if l == "." {
				break
			}
			got.WriteString(l + "\r\n")
		}
		if unstuff(got.String()) != raw {
			return fmt.Errorf("%s: RETR %d: wrong bytes", email, n+1)
		}
		sent.Add(int64(len(raw)))
	}
	_, err = cmd("QUIT")
	return err
}
