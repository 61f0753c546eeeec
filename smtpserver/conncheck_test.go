package smtpserver

import (
	"context"
	"net"
	"sync"
	"testing"
)

// fakeDNS answers PTR and forward lookups from maps; a name in temp
// fails temporarily, an absent one is NXDOMAIN.
type fakeDNS struct {
	mu    sync.Mutex
	ptr   map[string][]string
	host  map[string][]string
	temp  map[string]bool
	asked int
}

func (f *fakeDNS) answer(m map[string][]string, name string) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked++
	if f.temp[name] {
		return nil, &net.DNSError{Err: "server misbehaving", Name: name, IsTemporary: true}
	}
	if v, ok := m[name]; ok {
		return v, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
}

func (f *fakeDNS) lookupAddr(_ context.Context, ip string) ([]string, error) {
	return f.answer(f.ptr, ip)
}
func (f *fakeDNS) lookupHost(_ context.Context, h string) ([]string, error) {
	return f.answer(f.host, h)
}

func checksHarness(t *testing.T, d *fakeDNS, cc ClientChecks) *harness {
	t.Helper()
	cc.LookupHost = d.lookupHost
	return newHarness(t, ModeMX, func(c *Config) {
		c.LookupAddr = d.lookupAddr
		c.ClientChecks = cc
	})
}

// Reverse DNS in reject mode, Postfix's reject_unknown_client_hostname:
// no PTR or a PTR that does not resolve back is 550 5.7.25, a temporary
// DNS failure 450 4.7.25, a forward-confirmed name passes; the verdict
// is kept for the connection; an authenticated client is not checked.
func TestClientCheckReverseDNSReject(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		dns  *fakeDNS
		code int
		enh  string
	}{
		{"no PTR", &fakeDNS{}, 550, "5.7.25"},
		{"PTR not confirmed", &fakeDNS{ptr: map[string][]string{"127.0.0.1": {"mx.sender.test."}}, host: map[string][]string{"mx.sender.test": {"192.0.2.9"}}}, 550, "5.7.25"},
		{"PTR temporary failure", &fakeDNS{temp: map[string]bool{"127.0.0.1": true}}, 450, "4.7.25"},
		{"forward temporary failure", &fakeDNS{ptr: map[string][]string{"127.0.0.1": {"mx.sender.test."}}, temp: map[string]bool{"mx.sender.test": true}}, 450, "4.7.25"},
		{"confirmed", &fakeDNS{ptr: map[string][]string{"127.0.0.1": {"other.test.", "mx.sender.test."}}, host: map[string][]string{"mx.sender.test": {"192.0.2.9", "127.0.0.1"}}}, 250, "2.0.0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := checksHarness(t, tc.dns, ClientChecks{ReverseDNS: CheckReject})
			c := h.dial()
			c.cmd("EHLO mx.sender.test", "250 ")
			r := c.do("MAIL FROM:<s@sender.test>", tc.code, tc.enh)
			if tc.code == 550 && r.text[0] != "Client host rejected: cannot find your hostname" {
				t.Fatalf("reply text %q", r.text)
			}
			if tc.code != 250 {
				tc.dns.mu.Lock()
				asked := tc.dns.asked
				tc.dns.mu.Unlock()
				c.do("MAIL FROM:<t@sender.test>", tc.code, tc.enh)
				tc.dns.mu.Lock()
				again := tc.dns.asked
				tc.dns.mu.Unlock()
				// The Received field may look the PTR up once more; the
				// checks do not run again.
				if again != asked {
					t.Fatalf("second MAIL made %d more lookups", again-asked)
				}
				c.login("alice@example.com")
				c.do("MAIL FROM:<alice@example.com>", 250, "2.0.0")
			}
		})
	}
}

// HELO syntax in reject mode: Postfix's reject_invalid_helo_hostname
// (501 5.5.2) and reject_non_fqdn_helo_hostname (504 5.5.2).
func TestClientCheckHELOReject(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		helo string
		code int
		enh  string
		text string
	}{
		{"localhost", 504, "5.5.2", "Helo command rejected: need fully-qualified hostname"},
		{"bad_host!.test", 501, "5.5.2", "Helo command rejected: Invalid name"},
		{"192.0.2.1", 501, "5.5.2", "Helo command rejected: Invalid name"},
		{"[192.0.2.1]", 250, "2.0.0", ""},
		{"mx.sender.test", 250, "2.0.0", ""},
	} {
		t.Run(tc.helo, func(t *testing.T) {
			t.Parallel()
			h := checksHarness(t, &fakeDNS{}, ClientChecks{HELO: CheckReject})
			c := h.dial()
			c.cmd("EHLO "+tc.helo, "250 ")
			r := c.do("MAIL FROM:<s@sender.test>", tc.code, tc.enh)
			if tc.text != "" && r.text[0] != tc.text {
				t.Fatalf("reply text %q, want %q", r.text, tc.text)
			}
		})
	}
}

// Score mode: nothing is refused, the verdicts are header fields of
// the stored message.
func TestClientChecksScore(t *testing.T) {
	t.Parallel()
	h := checksHarness(t, &fakeDNS{}, ClientChecks{ReverseDNS: CheckScore, HELO: CheckScore})
	c := h.dial()
	c.cmd("EHLO localhost", "250 ")
	c.sendMail("s@sender.test", []string{"alice@example.com"}, milterMessage)
	msgs := h.inbox("alice@example.com")
	if len(msgs) != 1 {
		t.Fatalf("%d messages", len(msgs))
	}
	if v := headerValue(msgs[0], "X-Mailroom-RDNS"); v != "fail" {
		t.Errorf("X-Mailroom-RDNS %q, want fail; fields %q", v, headerNames(msgs[0]))
	}
	if v := headerValue(msgs[0], "X-Mailroom-HELO"); v != "non-fqdn" {
		t.Errorf("X-Mailroom-HELO %q, want non-fqdn; fields %q", v, headerNames(msgs[0]))
	}
}

func TestHELOVerdict(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]string{
		"mx.example.org": "pass", "mx.example.org.": "pass", "a-b.c_d.example": "pass",
		"[192.0.2.1]": "pass", "[IPv6:2001:db8::1]": "pass", "[ipv6:2001:db8::1]": "pass",
		"localhost": "non-fqdn", "": "invalid", ".": "invalid", "a..b": "invalid", "-a.example": "invalid",
		"a-.example": "invalid", "192.0.2.1": "invalid", "mx.123": "invalid", "[192.0.2.1": "invalid",
		"[IPv6:192.0.2.1]": "invalid", "[2001:db8::1]": "invalid", "[300.1.1.1]": "invalid", "mx.exa mple.org": "invalid",
	} {
		if got := HELOVerdict(name); got != want {
			t.Errorf("HELOVerdict(%q) = %q, want %q", name, got, want)
		}
	}
}

func FuzzHELOVerdict(f *testing.F) {
	for _, s := range []string{"mx.example.org", "[192.0.2.1]", "[IPv6:2001:db8::1]", "localhost", "a..b", "mx.123"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		switch v := HELOVerdict(s); v {
		case "pass", "non-fqdn", "invalid":
			if v != "invalid" && len(s) > maxHELOLength+1 {
				t.Fatalf("%d-byte name %s", len(s), v)
			}
		default:
			t.Fatalf("HELOVerdict(%q) = %q", s, v)
		}
	})
}
