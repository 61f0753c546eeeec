package smtpserver

import (
	"bufio"
	"context"
	"crypto/tls"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/mailroom/mailroom/internal/nettest"
)

// serveSMTPS starts an implicit-TLS listener on h's server.
func (h *harness) serveSMTPS(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go h.srv.ServeTLS(l) // ended by Shutdown in the cleanup
	return l.Addr().String()
}

// Issue 11 item 3: on the implicit-TLS listener our connection wrapper
// hid the *tls.Conn from go-smtp, whose handshake timeout therefore never
// applied: a silent client or a partial ClientHello stayed open for 1500 s
// and more. STARTTLS's handshake waited the 5-minute command timeout.
func TestTLSHandshakeTimeout(t *testing.T) {
	srvTLS, _ := testTLS(t)
	h := newHarness(t, ModeSubmission, func(c *Config) {
		c.TLSConfig = srvTLS
		c.HandshakeTimeout = 300 * time.Millisecond
	})
	smtps := h.serveSMTPS(t)
	silent := nettest.Dial(t, smtps)
	partial := nettest.Dial(t, smtps)
	if _, err := partial.Write(nettest.PartialClientHello()); err != nil {
		t.Fatal(err)
	}
	c := h.dial()
	c.cmd("EHLO client.example", "250 ")
	c.cmd("STARTTLS", "220 2.0.0")

	nettest.ExpectClosed(t, silent, silent, 20*time.Second, "silent SMTPS client")
	nettest.ExpectClosed(t, partial, partial, 20*time.Second, "partial ClientHello")
	nettest.ExpectClosed(t, c.c, c.r, 20*time.Second, "silent after STARTTLS")
}

// Issue 11 item 3: a silent SMTPS client kept the server alive 120 s after
// SIGTERM: closeShutdown's 421 went through tls.Conn.Write, which ran the
// handshake and waited for the client. Shutdown now returns within its
// grace period, closing such clients without a reply.
func TestShutdownWithSilentTLSClient(t *testing.T) {
	srvTLS, cliTLS := testTLS(t)
	// The handshake timeout is set far beyond the bound checked, so a
	// slow CI machine cannot blur "within the grace" and "after the
	// handshakes timed out".
	h := newHarness(t, ModeSubmission, func(c *Config) { c.TLSConfig = srvTLS; c.HandshakeTimeout = 10 * time.Minute })
	smtps := h.serveSMTPS(t)
	silent := nettest.Dial(t, smtps)
	partial := nettest.Dial(t, smtps)
	partial.Write(nettest.PartialClientHello())
	afterSTARTTLS := h.dial()
	afterSTARTTLS.cmd("EHLO client.example", "250 ")
	afterSTARTTLS.cmd("STARTTLS", "220 2.0.0")
	// A client over TLS that is idle gets its 421 as before.
	nc, err := tls.Dial("tcp", smtps, cliTLS)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	idle := &client{t: t, c: nc, r: bufio.NewReader(nc)}
	idle.expect("220 ")
	time.Sleep(100 * time.Millisecond) // let the server start the handshakes

	const grace = 2 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	returned := make(chan time.Duration, 1)
	start := time.Now()
	go func() {
		h.srv.Shutdown(ctx)
		returned <- time.Since(start)
	}()
	select {
	case d := <-returned:
		if d > grace+20*time.Second {
			t.Errorf("Shutdown took %v with a grace of %v", d, grace)
		}
	case <-time.After(grace + 30*time.Second):
		t.Fatalf("Shutdown still running %v after it began (grace %v)", time.Since(start), grace)
	}
	idle.expect("421 4.3.2")
	nettest.ExpectClosed(t, silent, silent, 20*time.Second, "silent SMTPS client")
	nettest.ExpectClosed(t, partial, partial, 20*time.Second, "partial ClientHello")
	nettest.ExpectClosed(t, afterSTARTTLS.c, afterSTARTTLS.r, 20*time.Second, "silent after STARTTLS")
}

// Issue 11 item 23: SCRAM-SHA-256-PLUS is advertised only with scram_plus
// on (Debian 12's neomutt picks it whenever offered and fails).
func TestSCRAMPlusOffByDefault(t *testing.T) {
	srvTLS, cliTLS := testTLS(t)
	h := newHarness(t, ModeSubmission, noPlaintext, func(c *Config) { c.TLSConfig = srvTLS })
	c := h.dial()
	c.cmd("EHLO client.example", "250 ")
	c.startTLS(cliTLS)
	ehlo := c.cmd("EHLO client.example", "250 ")
	if !hasLine(ehlo, "AUTH PLAIN LOGIN SCRAM-SHA-256") || hasLine(ehlo, "SCRAM-SHA-256-PLUS") {
		t.Fatalf("EHLO %q", ehlo)
	}
	if got := strings.Join(c.cmd("AUTH SCRAM-SHA-256-PLUS", "504 "), " "); got == "" {
		t.Error("AUTH SCRAM-SHA-256-PLUS while off")
	}
}
