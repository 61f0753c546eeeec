package smtpserver

import (
	"context"
	"log/slog"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/mailroom/mailroom/dnsbl"
)

// blResolver answers DNSBL queries from a map and counts them.
type blResolver struct {
	mu    sync.Mutex
	a     map[string]string
	txt   map[string]string
	asked int
}

func (r *blResolver) LookupA(_ context.Context, name string) ([]netip.Addr, time.Duration, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.asked++
	if v, ok := r.a[name]; ok {
		return []netip.Addr{netip.MustParseAddr(v)}, time.Hour, nil
	}
	return nil, time.Hour, nil
}

func (r *blResolver) LookupTXT(_ context.Context, name string) ([]string, time.Duration, error) {
	if v, ok := r.txt[name]; ok {
		return []string{v}, time.Hour, nil
	}
	return nil, time.Hour, nil
}

func blocklistHarness(t *testing.T, mode Mode, r *blResolver, zones ...dnsbl.Zone) *harness {
	t.Helper()
	c, err := dnsbl.New(dnsbl.Config{Zones: zones, AllowZones: []string{"allow.test"}, Resolver: r, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return newHarness(t, mode, func(cfg *Config) { cfg.Blocklist = c })
}

// A client (127.0.0.1) listed in a reject zone gets 554 5.7.1 with the
// zone's text at MAIL, for every MAIL of the connection, with one
// lookup per zone; an authenticated client is not checked.
func TestDNSBLReject(t *testing.T) {
	t.Parallel()
	r := &blResolver{
		a:   map[string]string{"1.0.0.127.block.test": "127.0.0.2"},
		txt: map[string]string{"1.0.0.127.block.test": "Blocked, see https://block.test/q?127.0.0.1"},
	}
	h := blocklistHarness(t, ModeMX, r, dnsbl.Zone{Name: "block.test", Action: dnsbl.Reject})
	c := h.dial()
	c.cmd("EHLO client.test", "250 ")
	rep := c.do("MAIL FROM:<s@sender.test>", 554, "5.7.1")
	if want := "Service unavailable; client [127.0.0.1] blocked using block.test; Blocked, see https://block.test/q?127.0.0.1"; rep.text[0] != want {
		t.Fatalf("reply text %q, want %q", rep.text[0], want)
	}
	c.do("MAIL FROM:<t@sender.test>", 554, "5.7.1")
	c.login("alice@example.com")
	c.do("MAIL FROM:<alice@example.com>", 250, "2.0.0")
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.asked != 2 {
		t.Fatalf("%d A lookups, want 2 (the allow zone and the block zone, once)", r.asked)
	}
}

// A header zone's listing is a header field of the stored message; an
// allow zone's listing skips the blocking zones.
func TestDNSBLHeaderAndAllow(t *testing.T) {
	t.Parallel()
	r := &blResolver{a: map[string]string{"1.0.0.127.score.test": "127.0.0.3"}}
	h := blocklistHarness(t, ModeMX, r, dnsbl.Zone{Name: "score.test", Action: dnsbl.Header}, dnsbl.Zone{Name: "block.test", Action: dnsbl.Reject})
	c := h.dial()
	c.cmd("EHLO client.test", "250 ")
	c.sendMail("s@sender.test", []string{"alice@example.com"}, milterMessage)
	msgs := h.inbox("alice@example.com")
	if len(msgs) != 1 {
		t.Fatalf("%d messages", len(msgs))
	}
	if v := headerValue(msgs[0], "X-Mailroom-DNSBL"); v != "127.0.0.1 listed in score.test (127.0.0.3)" {
		t.Fatalf("X-Mailroom-DNSBL %q; fields %q", v, headerNames(msgs[0]))
	}

	allowed := &blResolver{a: map[string]string{"1.0.0.127.allow.test": "127.0.10.2", "1.0.0.127.block.test": "127.0.0.2"}}
	h2 := blocklistHarness(t, ModeMX, allowed, dnsbl.Zone{Name: "block.test", Action: dnsbl.Reject})
	c2 := h2.dial()
	c2.cmd("EHLO client.test", "250 ")
	c2.do("MAIL FROM:<s@sender.test>", 250, "2.0.0")
}
