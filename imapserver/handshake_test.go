package imapserver

import (
	"bufio"
	"context"
	"crypto/tls"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mailroom/mailroom/internal/nettest"
)

// serveIMAPS starts an implicit-TLS listener on ts's server.
func (ts *testServer) serveIMAPS(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go ts.srv.ServeTLS(l) // ended by Shutdown in the cleanup
	return l.Addr().String()
}

// Issue 11 item 3: a silent TCP connection or a partial ClientHello on the
// implicit-TLS port stayed open for 1500 s and more; 1000 of them locked
// real clients out. The handshake, and STARTTLS's, now has a deadline.
func TestTLSHandshakeTimeout(t *testing.T) {
	srvTLS, _ := testTLS(t)
	ts := startTestServer(t, withTLS(srvTLS, false), func(c *Config) { c.HandshakeTimeout = 300 * time.Millisecond })
	imaps := ts.serveIMAPS(t)

	silent, err := net.Dial("tcp", imaps)
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	partial, err := net.Dial("tcp", imaps)
	if err != nil {
		t.Fatal(err)
	}
	defer partial.Close()
	if _, err := partial.Write(nettest.PartialClientHello()); err != nil {
		t.Fatal(err)
	}
	tc := ts.dial()
	tc.transactf("ok", "STARTTLS")

	nettest.ExpectClosed(t, silent, silent, 20*time.Second, "silent IMAPS client")
	nettest.ExpectClosed(t, partial, partial, 20*time.Second, "partial ClientHello")
	nettest.ExpectClosed(t, tc.nc, tc.nc, 20*time.Second, "silent after STARTTLS")
}

// Shutdown with a client that never starts its handshake returns within
// the grace period (here: at once, as nothing is in progress), not after
// the handshake timeout (set far beyond the bound checked, so a slow CI
// machine cannot blur the two).
func TestShutdownWithSilentTLSClient(t *testing.T) {
	srvTLS, _ := testTLS(t)
	ts := startTestServer(t, withTLS(srvTLS, false), func(c *Config) { c.HandshakeTimeout = 10 * time.Minute })
	imaps := ts.serveIMAPS(t)
	var conns []net.Conn
	for range 5 {
		nc, err := net.Dial("tcp", imaps)
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		conns = append(conns, nc)
	}
	conns[0].Write(nettest.PartialClientHello())
	time.Sleep(100 * time.Millisecond) // let the server start the handshakes
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

// capsOf returns the capability list in a greeting's or CAPABILITY's
// response, sorted.
func capsOf(t *testing.T, line string) []string {
	t.Helper()
	var rest string
	switch {
	case strings.HasPrefix(line, "* OK [CAPABILITY "):
		rest, _, _ = strings.Cut(strings.TrimPrefix(line, "* OK [CAPABILITY "), "]")
	case strings.HasPrefix(line, "* CAPABILITY "):
		rest = strings.TrimPrefix(line, "* CAPABILITY ")
	default:
		t.Fatalf("no capability list in %q", line)
	}
	caps := strings.Fields(rest)
	slices.Sort(caps)
	return caps
}

// Issue 12: the IMAPS greeting's capability list differed from CAPABILITY
// on the same connection (the greeting was built before the handshake, so
// it lacked AUTH=SCRAM-SHA-256-PLUS). Issue 11 item 23: -PLUS is offered
// only with scram_plus on.
func TestIMAPSGreetingMatchesCapability(t *testing.T) {
	for _, plus := range []bool{false, true} {
		srvTLS, cliTLS := testTLS(t)
		ts := startTestServer(t, withTLS(srvTLS, false), func(c *Config) { c.Auth.WithSCRAMPlus(plus) })
		nc, err := tls.Dial("tcp", ts.serveIMAPS(t), cliTLS)
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		tc := &testConn{t: t, nc: nc, br: bufio.NewReader(nc)}
		greeting := capsOf(t, tc.readResponse())
		var capability []string
		for _, line := range tc.transactf("ok", "CAPABILITY") {
			if strings.HasPrefix(line, "* CAPABILITY ") {
				capability = capsOf(t, line)
			}
		}
		if !slices.Equal(greeting, capability) {
			t.Errorf("scram_plus=%v: greeting %v, CAPABILITY %v", plus, greeting, capability)
		}
		if slices.Contains(capability, "AUTH=SCRAM-SHA-256-PLUS") != plus {
			t.Errorf("scram_plus=%v: CAPABILITY %v", plus, capability)
		}
		if !slices.Contains(capability, "AUTH=SCRAM-SHA-256") {
			t.Errorf("CAPABILITY %v lacks AUTH=SCRAM-SHA-256", capability)
		}
	}
}

// Issue 11 item 16: invalid base64 in an AUTHENTICATE response is the
// client's syntax error: BAD, not a temporary failure, and no login
// failure is counted.
func TestAuthenticateInvalidBase64(t *testing.T) {
	ts := startTestServer(t)
	tc := ts.dial()
	tc.transactf("bad", "AUTHENTICATE PLAIN !!!notbase64")
	tc.writeLine("a1 AUTHENTICATE PLAIN")
	if r := tc.readResponse(); !strings.HasPrefix(r, "+") {
		t.Fatalf("continuation: %q", r)
	}
	tc.writeLine("%%%")
	if r := tc.readResponse(); !strings.HasPrefix(r, "a1 BAD ") {
		t.Fatalf("invalid base64 response: %q", r)
	}
	if st := ts.srv.cfg.Auth.Stats(); st.Failed != 0 || st.Throttled != 0 {
		t.Errorf("stats %+v: a malformed response is no login attempt", st)
	}
	tc.transactf("ok", "LOGIN %s %s", testUser, testPass)
}
