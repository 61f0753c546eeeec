package dnsbl

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// fakeResolver answers from maps and counts lookups.
type fakeResolver struct {
	mu    sync.Mutex
	a     map[string]string // name -> "127.0.0.2"
	txt   map[string]string
	fail  map[string]bool
	ttl   time.Duration
	calls map[string]int
}

func (f *fakeResolver) LookupA(_ context.Context, name string) ([]netip.Addr, time.Duration, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls["A "+name]++
	if f.fail[name] {
		return nil, 0, errors.New("SERVFAIL")
	}
	if v, ok := f.a[name]; ok {
		return []netip.Addr{netip.MustParseAddr(v)}, f.ttl, nil
	}
	return nil, f.ttl, nil
}

func (f *fakeResolver) LookupTXT(_ context.Context, name string) ([]string, time.Duration, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls["TXT "+name]++
	if v, ok := f.txt[name]; ok {
		return []string{v}, f.ttl, nil
	}
	return nil, f.ttl, nil
}

func (f *fakeResolver) count(k string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[k]
}

func TestReverse(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"192.0.2.99":         "99.2.0.192",
		"::ffff:192.0.2.99":  "99.2.0.192",
		"2001:db8:1:2::abcd": "d.c.b.a.0.0.0.0.0.0.0.0.0.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2",
	} {
		if got := Reverse(netip.MustParseAddr(in)); got != want {
			t.Errorf("Reverse(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestCheck(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	r := &fakeResolver{
		a: map[string]string{
			"2.0.0.127.block.test": "127.0.0.2",
			"2.0.0.127.score.test": "127.0.0.4",
			"3.0.0.127.allow.test": "127.0.10.1",
			"3.0.0.127.block.test": "127.0.0.2",
			"4.0.0.127.block.test": "10.0.0.1", // not in 127/8: an error code, no listing
			"1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.block.test": "127.0.0.3",
		},
		txt:   map[string]string{"2.0.0.127.block.test": "Listed\r\nsee https://block.test/?127.0.0.2"},
		fail:  map[string]bool{"5.0.0.127.score.test": true},
		ttl:   10 * time.Minute,
		calls: map[string]int{},
	}
	c, err := New(Config{
		Zones:      []Zone{{Name: "score.test", Action: Header}, {Name: "block.test", Action: Reject}},
		AllowZones: []string{"allow.test"},
		Resolver:   r,
		Logger:     slog.New(slog.DiscardHandler),
		Now:        clock,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	res := c.Check(ctx, net.ParseIP("127.0.0.2"))
	if res.Reject == nil || res.Reject.Zone != "block.test" || res.Reject.Text != "Listed  see https://block.test/?127.0.0.2" {
		t.Fatalf("127.0.0.2: %+v", res)
	}
	if len(res.Headers) != 1 || res.Headers[0].HeaderField() != "X-Mailroom-DNSBL: 127.0.0.2 listed in score.test (127.0.0.4)" {
		t.Fatalf("127.0.0.2 headers %+v", res.Headers)
	}
	if got := res.Reject.Error(); got != "Service unavailable; client [127.0.0.2] blocked using block.test; Listed  see https://block.test/?127.0.0.2" {
		t.Fatalf("reject text %q", got)
	}
	// Allow zone first: not checked further.
	if res := c.Check(ctx, net.ParseIP("127.0.0.3")); res.Allowed != "allow.test" || res.Reject != nil || r.count("A 3.0.0.127.block.test") != 0 {
		t.Fatalf("127.0.0.3: %+v", res)
	}
	if res := c.Check(ctx, net.ParseIP("127.0.0.4")); res.Reject != nil || len(res.Headers) != 0 {
		t.Fatalf("answer outside 127/8 counted: %+v", res)
	}
	// A failing zone is skipped, the others still asked.
	if res := c.Check(ctx, net.ParseIP("127.0.0.5")); res.Reject != nil || len(res.Headers) != 0 || r.count("A 5.0.0.127.block.test") != 1 {
		t.Fatalf("127.0.0.5: %+v", res)
	}
	if res := c.Check(ctx, net.ParseIP("2001:db8::1")); res.Reject == nil {
		t.Fatalf("IPv6 not listed: %+v", res)
	}

	// Cached for the TTL, asked again after it; failures are not cached.
	c.Check(ctx, net.ParseIP("127.0.0.2"))
	c.Check(ctx, net.ParseIP("127.0.0.5"))
	if n := r.count("A 2.0.0.127.block.test"); n != 1 {
		t.Fatalf("block.test asked %d times within the TTL", n)
	}
	if n := r.count("A 5.0.0.127.score.test"); n != 2 {
		t.Fatalf("failed lookup asked %d times, want 2 (not cached)", n)
	}
	mu.Lock()
	now = now.Add(10*time.Minute + time.Second)
	mu.Unlock()
	c.Check(ctx, net.ParseIP("127.0.0.2"))
	if n := r.count("A 2.0.0.127.block.test"); n != 2 {
		t.Fatalf("block.test asked %d times after the TTL, want 2", n)
	}
}

func TestCacheBounded(t *testing.T) {
	t.Parallel()
	r := &fakeResolver{ttl: time.Hour, calls: map[string]int{}}
	c, err := New(Config{Zones: []Zone{{Name: "block.test"}}, Resolver: r, MaxCacheEntries: 50})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 500; i++ {
		c.Check(context.Background(), net.IPv4(10, 0, byte(i>>8), byte(i)))
	}
	if n := c.cached(); n > 50 {
		t.Fatalf("%d cached answers, limit 50", n)
	}
}

func TestBadZone(t *testing.T) {
	t.Parallel()
	for _, z := range []string{"", ".x", "x.", "a..b", "a b", "a/b"} {
		if _, err := New(Config{Zones: []Zone{{Name: z}}, Resolver: &fakeResolver{}}); err == nil {
			t.Errorf("zone %q accepted", z)
		}
	}
}

// DNSResolver against a real DNS server on loopback (miekg/dns's):
// TTLs of answers, the SOA's negative TTL for NXDOMAIN.
func TestDNSResolver(t *testing.T) {
	t.Parallel()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(q)
		name := q.Question[0].Name
		switch {
		case name == "2.0.0.127.block.test." && q.Question[0].Qtype == dns.TypeA:
			rr, _ := dns.NewRR(name + " 300 IN A 127.0.0.2")
			rr2, _ := dns.NewRR(name + " 120 IN A 127.0.0.4")
			m.Answer = append(m.Answer, rr, rr2)
		case name == "2.0.0.127.block.test." && q.Question[0].Qtype == dns.TypeTXT:
			rr, _ := dns.NewRR(name + ` 600 IN TXT "listed" "here"`)
			m.Answer = append(m.Answer, rr)
		default:
			m.Rcode = dns.RcodeNameError
			soa, _ := dns.NewRR("block.test. 3600 IN SOA ns.block.test. admin.block.test. 1 3600 600 86400 90")
			m.Ns = append(m.Ns, soa)
		}
		w.WriteMsg(m)
	})}
	go srv.ActivateAndServe()
	t.Cleanup(func() { srv.Shutdown() })
	r, err := NewDNSResolver(pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	// Hang guards: the answers are what is tested, not their speed, and
	// the resolver's 2 s per query could run out before a loaded machine
	// under -race has the test server answer.
	r.udp.Timeout, r.tcp.Timeout = 30*time.Second, 30*time.Second
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	addrs, ttl, err := r.LookupA(ctx, "2.0.0.127.block.test")
	if err != nil || len(addrs) != 2 || addrs[0] != netip.MustParseAddr("127.0.0.2") || ttl != 120*time.Second {
		t.Fatalf("A: %v %v %v", addrs, ttl, err)
	}
	txt, ttl, err := r.LookupTXT(ctx, "2.0.0.127.block.test")
	if err != nil || strings.Join(txt, " ") != "listed here" || ttl != 600*time.Second {
		t.Fatalf("TXT: %q %v %v", txt, ttl, err)
	}
	addrs, ttl, err = r.LookupA(ctx, "3.0.0.127.block.test")
	if err != nil || len(addrs) != 0 || ttl != 90*time.Second {
		t.Fatalf("NXDOMAIN: %v %v %v", addrs, ttl, err)
	}
}
