package managesieve

import (
	"net"
	"strings"
	"testing"

	"github.com/mailroom/mailroom/sieve"
)

func TestGreetingCapabilities(t *testing.T) {
	t.Parallel()
	srvTLS, _ := testTLS(t)
	ts := startServer(t, func(c *Config) { c.TLSConfig = srvTLS; c.SieveLimits.MaxRedirects = 3 })
	c := dial(t, ts.addr)
	g := c.greet()
	m := caps(g)
	want := map[string]string{
		"IMPLEMENTATION": "mailroom",
		"SASL":           "PLAIN LOGIN SCRAM-SHA-256",
		"SIEVE":          strings.Join(sieve.Capabilities(), " "),
		"STARTTLS":       "",
		"MAXREDIRECTS":   "3",
		"UNAUTHENTICATE": "",
		"VERSION":        "1.0",
	}
	for k, v := range want {
		got, ok := m[k]
		if !ok || got != v {
			t.Errorf("capability %s = %q (present %v), want %q", k, got, ok, v)
		}
	}
	if _, ok := m["NOTIFY"]; ok {
		t.Errorf("NOTIFY advertised without enotify")
	}
	if len(m) != len(want) {
		t.Errorf("capabilities %v, want exactly %v", m, want)
	}
	// CAPABILITY repeats them.
	r := c.expect("OK", "CAPABILITY")
	if got := caps(r); len(got) != len(m) || got["SIEVE"] != m["SIEVE"] {
		t.Errorf("CAPABILITY %v, greeting %v", got, m)
	}
	// After login: no STARTTLS, an empty SASL, OWNER.
	if r := c.login(testUser, testPass); r.kind != "OK" {
		t.Fatal(r)
	}
	after := caps(c.expect("OK", "capability"))
	if _, ok := after["STARTTLS"]; ok {
		t.Errorf("STARTTLS after login: %v", after)
	}
	if after["SASL"] != "" || after["OWNER"] != testUser {
		t.Errorf("after login: %v", after)
	}
}

func TestNoSASLWithoutTLSOffLoopback(t *testing.T) {
	t.Parallel()
	ts := startServer(t, func(c *Config) { c.AllowPlaintextAuth = func(net.Addr) bool { return false } })
	c := dial(t, ts.addr)
	if m := caps(c.greet()); m["SASL"] != "" {
		t.Errorf("SASL %q offered where plaintext is refused", m["SASL"])
	}
	r := c.login(testUser, testPass)
	if r.kind != "NO" || r.code != codeEncryptNeeded {
		t.Errorf("AUTHENTICATE without TLS: %v", r)
	}
}
