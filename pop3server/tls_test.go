package pop3server

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/mailroom/mailroom/internal/tlsconfig"
)

func testTLS(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	dir := t.TempDir()
	m, err := tlsconfig.NewSelfSigned(dir, "pop.example.com", time.Now(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	pem, err := os.ReadFile(filepath.Join(dir, tlsconfig.SelfSignedCert))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	return m.TLSConfig(), &tls.Config{RootCAs: pool, ServerName: "pop.example.com"}
}

func (c *client) stls(cfg *tls.Config) {
	c.t.Helper()
	c.expect("STLS", "+OK Begin TLS negotiation")
	tc := tls.Client(c.conn, cfg)
	if err := tc.Handshake(); err != nil {
		c.t.Fatalf("handshake: %v", err)
	}
	c.conn, c.r = tc, bufio.NewReader(tc)
}

func (c *client) capa() []string {
	c.t.Helper()
	c.expect("CAPA", "+OK Capability list follows")
	return c.lines()
}

func TestSTLSPlaintextPolicy(t *testing.T) {
	srvTLS, cliTLS := testTLS(t)
	ts := newTestServer(t, func(c *Config) {
		c.TLSConfig = srvTLS
		c.AllowPlaintextAuth = func(net.Addr) bool { return false }
	})
	c := ts.dial(t)
	caps := c.capa()
	if !slices.Contains(caps, "STLS") || slices.Contains(caps, "USER") || slices.Contains(caps, "SASL PLAIN LOGIN SCRAM-SHA-256") {
		t.Fatalf("plaintext CAPA %q: want STLS, no USER/SASL", caps)
	}
	c.expectPrefix("USER "+testUser, "-ERR [AUTH] ")
	c.expectPrefix("AUTH PLAIN", "-ERR [AUTH] ")
	c.stls(cliTLS)
	caps = c.capa()
	if slices.Contains(caps, "STLS") || !slices.Contains(caps, "USER") || !slices.Contains(caps, "SASL PLAIN LOGIN SCRAM-SHA-256") {
		t.Fatalf("CAPA over TLS %q: want USER and SASL (no -PLUS by default), no STLS", caps)
	}
	c.expectPrefix("STLS", "-ERR ")
	c.expect("USER "+testUser, "+OK send PASS")
	c.expect("PASS "+testPass, "+OK maildrop locked and ready")
	c.expectPrefix("STLS", "-ERR ") // TRANSACTION state
	c.expect("QUIT", "+OK pop.example.com POP3 server signing off")
}

// TestSTLSInjection: a command pipelined after STLS in plaintext is
// dropped (RFC 2595 §4), not run inside TLS.
func TestSTLSInjection(t *testing.T) {
	srvTLS, cliTLS := testTLS(t)
	ts := newTestServer(t, func(c *Config) { c.TLSConfig = srvTLS })
	c := ts.dial(t)
	c.send("STLS\r\nUSER " + testUser)
	if got := c.line(); got != "+OK Begin TLS negotiation" {
		t.Fatalf("STLS: %q", got)
	}
	tc := tls.Client(c.conn, cliTLS)
	if err := tc.Handshake(); err != nil {
		t.Logf("handshake failed (the injected bytes were not run): %v", err)
		return
	}
	c.conn, c.r = tc, bufio.NewReader(tc)
	c.expectPrefix("PASS "+testPass, "-ERR USER first") // the injected USER did not run
}

func TestSTLSNotConfigured(t *testing.T) {
	ts := newTestServer(t, nil)
	c := ts.dial(t)
	if slices.Contains(c.capa(), "STLS") {
		t.Error("STLS advertised without TLS")
	}
	c.expect("STLS", "-ERR STLS not available")
}

func TestPOP3S(t *testing.T) {
	srvTLS, cliTLS := testTLS(t)
	ts := newTestServer(t, func(c *Config) {
		c.TLSConfig = srvTLS
		c.AllowPlaintextAuth = func(net.Addr) bool { return false }
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go ts.srv.ServeTLS(l) // ended by the Shutdown in startServer's cleanup
	nc, err := tls.Dial("tcp", l.Addr().String(), cliTLS)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	c := &client{t: t, conn: nc, r: bufio.NewReader(nc)}
	if g := c.line(); g != "+OK pop.example.com POP3 server ready" {
		t.Fatalf("greeting %q", g)
	}
	if slices.Contains(c.capa(), "STLS") {
		t.Error("STLS offered on POP3S")
	}
	c.expect("USER "+testUser, "+OK send PASS")
	c.expect("PASS "+testPass, "+OK maildrop locked and ready")
}
