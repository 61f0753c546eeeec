package pop3server

import (
	"bufio"
	"context"
	"crypto/tls"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/mailroom/mailroom/internal/nettest"
)

func (ts *testServer) servePOP3S(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go ts.srv.ServeTLS(l) // ended by the Shutdown in startServer's cleanup
	return l.Addr().String()
}

// Issue 11 item 3: a silent TCP connection or a partial ClientHello on the
// implicit-TLS port stayed open for 1500 s and more. The handshake, and
// STLS's, now has a deadline.
func TestTLSHandshakeTimeout(t *testing.T) {
	srvTLS, _ := testTLS(t)
	ts := newTestServer(t, func(c *Config) {
		c.TLSConfig = srvTLS
		c.HandshakeTimeout = 300 * time.Millisecond
	})
	pop3s := ts.servePOP3S(t)
	silent := nettest.Dial(t, pop3s)
	partial := nettest.Dial(t, pop3s)
	if _, err := partial.Write(nettest.PartialClientHello()); err != nil {
		t.Fatal(err)
	}
	c := ts.dial(t)
	c.expect("STLS", "+OK Begin TLS negotiation")

	nettest.ExpectClosed(t, silent, silent, 20*time.Second, "silent POP3S client")
	nettest.ExpectClosed(t, partial, partial, 20*time.Second, "partial ClientHello")
	nettest.ExpectClosed(t, c.conn, c.r, 20*time.Second, "silent after STLS")
}

// Shutdown with clients that never finish their handshake returns within
// the grace period, not after the handshake timeout (set far beyond the
// bound checked, so a slow CI machine cannot blur the two).
func TestShutdownWithSilentTLSClient(t *testing.T) {
	srvTLS, _ := testTLS(t)
	ts := newTestServer(t, func(c *Config) { c.TLSConfig = srvTLS; c.HandshakeTimeout = 10 * time.Minute })
	pop3s := ts.servePOP3S(t)
	var conns []net.Conn
	for range 5 {
		conns = append(conns, nettest.Dial(t, pop3s))
	}
	conns[0].Write(nettest.PartialClientHello())
	time.Sleep(100 * time.Millisecond)
	const grace = 2 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	start := time.Now()
	ts.srv.Shutdown(ctx)
	if d := time.Since(start); d > grace+20*time.Second {
		t.Fatalf("Shutdown took %v with a grace of %v", d, grace)
	}
	for _, nc := range conns {
		nettest.ExpectClosed(t, nc, nc, 20*time.Second, "silent client after shutdown")
	}
}

// Issue 11 item 23: SCRAM-SHA-256-PLUS is advertised only with scram_plus
// on (off by default: Debian 12's neomutt picks it and fails).
func TestSCRAMPlusAdvertisedOnlyWhenOn(t *testing.T) {
	for _, plus := range []bool{false, true} {
		srvTLS, cliTLS := testTLS(t)
		ts := newTestServer(t, func(c *Config) {
			c.TLSConfig = srvTLS
			c.Auth.WithSCRAMPlus(plus)
		})
		nc, err := tls.Dial("tcp", ts.servePOP3S(t), cliTLS)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { nc.Close() })
		c := &client{t: t, conn: nc, r: bufio.NewReader(nc)}
		c.line()
		want := "SASL PLAIN LOGIN SCRAM-SHA-256"
		if plus {
			want += " SCRAM-SHA-256-PLUS"
		}
		if caps := c.capa(); !slices.Contains(caps, want) {
			t.Errorf("scram_plus=%v: CAPA %q, want %q", plus, caps, want)
		}
		c.expect("AUTH", "+OK SASL mechanisms follow")
		mechs := c.lines()
		if slices.Contains(mechs, "SCRAM-SHA-256-PLUS") != plus {
			t.Errorf("scram_plus=%v: AUTH lists %q", plus, mechs)
		}
	}
}
