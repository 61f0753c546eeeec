package postgres

import (
	"context"
	"io"
	"net"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailroom/mailroom/store"
	"github.com/mailroom/mailroom/store/storetest"
)

// outageProxy forwards TCP connections on a loopback port to PostgreSQL;
// down closes every connection and refuses new ones until up.
// Its listener stays open throughout, refusing by a reset at once: closed
// for the outage, its port could be taken by a listener of the tests
// running meanwhile, and the proxy could not come back up on it.
type outageProxy struct {
	t      *testing.T
	addr   string // the proxy's address
	target string
	// accepted receives the time of each connection accepted while up
	// (dropped when full).
	accepted chan time.Time

	mu       sync.Mutex
	l        net.Listener
	refusing bool
	conns    map[net.Conn]bool
}

func newOutageProxy(t *testing.T, target string) *outageProxy {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &outageProxy{t: t, addr: l.Addr().String(), target: target, l: l, conns: map[net.Conn]bool{},
		accepted: make(chan time.Time, 64)}
	go p.serve()
	t.Cleanup(p.close)
	return p
}

func (p *outageProxy) serve() {
	for {
		c, err := p.l.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		refusing := p.refusing
		p.mu.Unlock()
		if refusing {
			c.(*net.TCPConn).SetLinger(0) // a reset, as near a refusal as an accepted connection gets
			c.Close()
			continue
		}
		select {
		case p.accepted <- time.Now():
		default:
		}
		go p.forward(c)
	}
}

func (p *outageProxy) forward(c net.Conn) {
	s, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	if p.refusing { // went down meanwhile
		p.mu.Unlock()
		c.Close()
		s.Close()
		return
	}
	p.conns[c], p.conns[s] = true, true
	p.mu.Unlock()
	go func() { io.Copy(s, c); s.Close() }()
	io.Copy(c, s)
	c.Close()
}

// down closes every forwarded connection and refuses new ones.
func (p *outageProxy) down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.refusing = true
	for c := range p.conns {
		c.Close()
		delete(p.conns, c)
	}
}

// close ends the proxy: down, and the listener closed.
func (p *outageProxy) close() {
	p.down()
	p.l.Close()
}

// up forwards connections again; accepted holds only the connections
// accepted from now on.
func (p *outageProxy) up() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.accepted) > 0 {
		<-p.accepted
	}
	p.refusing = false
}

// TestListenOutageResync: node 2 reaches PostgreSQL through a proxy that
// goes down for 7 s (every connection refused, as in a database restart:
// reset as soon as accepted).
// A delivery by node 1 during the outage is missed by node 2's LISTEN;
// node 2 tries again within listenRetryMax (+25% jitter) of the database
// coming back, reconnects and wakes its watchers (what IDLE sessions wait
// on), so they re-sync and see it, and later changes arrive as before.
// With the old backoff (doubling to 10 s) the retry after 6.3 s failed
// and the next came at 12.7 s: about 6 s of lag after this outage.
// The lag is asserted on the first connection the proxy accepts after
// the outage (node 2's pool is idle: only the LISTEN connection tries),
// which only the retry schedule decides; the connection's handshake and
// the wake-up, slow under -race on a loaded machine, have a hang guard.
func TestListenOutageResync(t *testing.T) {
	ctx := context.Background()
	dsn := testDSN(t)
	n1 := openDSN(t, dsn)
	a, err := n1.CreateAccount(ctx, "alice@example.org", "h")
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	proxy := newOutageProxy(t, u.Host)
	u.Host = proxy.addr
	q := u.Query()
	q.Set("connect_timeout", "2")
	u.RawQuery = q.Encode()
	n2 := openDSN(t, u.String())
	inbox, err := n2.MailboxByName(ctx, a.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	ch, cancel := n2.Watch(a.ID)
	defer cancel()

	proxy.down()
	const outage = 7 * time.Second
	outageEnd := time.Now().Add(outage)
	if _, err := n1.Deliver(ctx, []store.Target{{AccountID: a.ID}}, newMsg("during the outage")); err != nil {
		t.Fatal(err)
	}
	// Drain what arrived before the proxy went down; nothing can arrive
	// during the outage.
	for time.Now().Before(outageEnd) {
		select {
		case <-ch:
		case <-time.After(time.Until(outageEnd)):
		}
	}
	proxy.up()
	back := time.Now()
	deadline := time.After(30 * time.Second) // a hang guard
	// The retry comes within listenRetryMax (1 s) +25%; the rest of the
	// bound is for a late timer on a loaded machine, well below the old
	// backoff's 5.7 s.
	const retryBound = 3 * time.Second
	select {
	case at := <-proxy.accepted:
		if lag := at.Sub(back); lag > retryBound {
			t.Errorf("node 2 tried to reconnect %v after the database came back, want within %v", lag.Round(time.Millisecond), retryBound)
		}
	case <-deadline:
		t.Fatal("node 2 did not try to reconnect within 30 s of the database coming back")
	}
	for woken := false; !woken; {
		select {
		case c := <-ch:
			woken = c.MailboxID == 0 || c.MailboxID == inbox.ID
		case <-deadline:
			t.Fatalf("no wake-up within 30 s of the database coming back")
		}
	}
	t.Logf("watchers woken %v after the database came back", time.Since(back).Round(time.Millisecond))
	// The woken session re-syncs and finds the message it was not told of.
	if uids, err := storetest.UIDs(ctx, n2, inbox.Ref()); err != nil || len(uids) != 1 {
		t.Fatalf("node 2 after the wake-up: %v, %v", uids, err)
	}
	d, err := n1.Deliver(ctx, []store.Target{{AccountID: a.ID}}, newMsg("after the outage"))
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, ch, "a delivery after the outage", func(c store.Change) bool { return c.MailboxID == d[0].MailboxID })
}

// TestRetryDelay: reconnect delays stay within ±25% of the backoff, never
// above 1.25 s, and are not all the same.
func TestRetryDelay(t *testing.T) {
	seen := map[time.Duration]bool{}
	for b := listenRetryMin; ; b = min(2*b, listenRetryMax) {
		for range 20 {
			d := retryDelay(b)
			if d < b-b/4 || d > b+b/4 {
				t.Fatalf("retryDelay(%v) = %v", b, d)
			}
			seen[d] = true
		}
		if b == listenRetryMax {
			break
		}
	}
	if len(seen) < 10 {
		t.Errorf("delays without jitter: %v", seen)
	}
}

// TestChangePayloads: a change survives its NOTIFY payload; a metadata
// change whose names exceed one payload is split, none over maxPayload.
func TestChangePayloads(t *testing.T) {
	long := make([]string, 20)
	for i := range long {
		long[i] = "/private/" + strings.Repeat(string(rune('a'+i)), 1000)
	}
	for _, c := range []store.Change{
		{AccountID: 3, MailboxID: 7},
		{AccountID: 3},
		{AccountID: 3, Metadata: []string{"/shared/comment"}},
		{AccountID: 3, MailboxID: 7, Metadata: []string{"/private/a", "/shared/b"}},
		{AccountID: 3, MailboxID: 7, Metadata: long},
	} {
		var back store.Change
		for i, p := range changePayloads(c) {
			if len(p) > maxPayload {
				t.Fatalf("payload of %d bytes", len(p))
			}
			got, ok := parsePayload(p)
			if !ok {
				t.Fatalf("parsePayload(%q) failed", p)
			}
			if i == 0 {
				back = got
			} else {
				back.Metadata = append(back.Metadata, got.Metadata...)
			}
		}
		if back.AccountID != c.AccountID || back.MailboxID != c.MailboxID || !slices.Equal(back.Metadata, c.Metadata) {
			t.Fatalf("%v came back as %v", c, back)
		}
	}
	if len(changePayloads(store.Change{AccountID: 1, Metadata: long})) < 2 {
		t.Fatal("20 KB of names in one payload")
	}
	for _, bad := range []string{"1", "a:2", "1:2:m:", "1:x:m:/private/a"} {
		if _, ok := parsePayload(bad); ok {
			t.Fatalf("parsePayload(%q) accepted", bad)
		}
	}
}

// FuzzParsePayload: any payload parses or is refused without panicking,
// and what parses encodes back to itself.
func FuzzParsePayload(f *testing.F) {
	for _, s := range []string{"1:2", "1:0", "1:0:m:/private/a /shared/b", "1:2:m:", "x", "1:2:m:a:m:b", "-1:-2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		c, ok := parsePayload(p)
		if !ok {
			return
		}
		if got := changePayloads(c); len(got) != 1 {
			t.Fatalf("%q: %v encodes as %q", p, c, got)
		} else if back, ok := parsePayload(got[0]); !ok || back.AccountID != c.AccountID || back.MailboxID != c.MailboxID || !slices.Equal(back.Metadata, c.Metadata) {
			t.Fatalf("%q: %v encodes as %q, parsed back as %v", p, c, got, back)
		}
	})
}
