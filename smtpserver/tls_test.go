package smtpserver

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"log/slog"
	"net"
	netsmtp "net/smtp"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mailroom/mailroom/internal/tlsconfig"
)

// testTLS returns a server TLS configuration with a fresh self-signed
// certificate for testHost and a client configuration trusting it.
func testTLS(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	dir := t.TempDir()
	m, err := tlsconfig.NewSelfSigned(dir, testHost, time.Now(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	pem, err := os.ReadFile(filepath.Join(dir, tlsconfig.SelfSignedCert))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	return m.TLSConfig(), &tls.Config{RootCAs: pool, ServerName: testHost}
}

func noPlaintext(c *Config) { c.AllowPlaintextAuth = func(net.Addr) bool { return false } }

// startTLS runs STARTTLS on c and continues over TLS.
func (c *client) startTLS(cfg *tls.Config) tls.ConnectionState {
	c.t.Helper()
	c.cmd("STARTTLS", "220 2.0.0")
	tc := tls.Client(c.c, cfg)
	if err := tc.Handshake(); err != nil {
		c.t.Fatalf("handshake: %v", err)
	}
	c.c, c.r = tc, bufio.NewReader(tc)
	return tc.ConnectionState()
}

func hasLine(lines []string, s string) bool {
	for _, l := range lines {
		if strings.Contains(l[4:], s) {
			return true
		}
	}
	return false
}

func TestSTARTTLSThenAuthAndPostmaster(t *testing.T) {
	srvTLS, cliTLS := testTLS(t)
	h := newHarness(t, ModeMX, noPlaintext, func(c *Config) { c.TLSConfig = srvTLS })
	c := h.dial()
	ehlo := c.cmd("EHLO client.example", "250 ")
	if !hasLine(ehlo, "STARTTLS") || hasLine(ehlo, "AUTH") {
		t.Fatalf("plaintext EHLO %q: want STARTTLS and no AUTH", ehlo)
	}
	c.cmd("AUTH PLAIN "+b64("\x00alice@example.com\x00"+testPassword), "538 5.7.11")
	st := c.startTLS(cliTLS)
	if st.Version < tls.VersionTLS12 {
		t.Fatalf("TLS version %x", st.Version)
	}
	// RFC 3207 §4.2: the earlier EHLO is forgotten.
	c.cmd("MAIL FROM:<x@remote.example>", "503 5.5.1")
	c.cmd("AUTH PLAIN "+b64("\x00alice@example.com\x00"+testPassword), "503 5.5.1")
	c.cmd("NOOP", "250 ")
	ehlo = c.cmd("EHLO client.example", "250 ")
	if hasLine(ehlo, "STARTTLS") || !hasLine(ehlo, "AUTH PLAIN LOGIN") {
		t.Fatalf("EHLO over TLS %q: want AUTH and no STARTTLS", ehlo)
	}
	c.cmd("STARTTLS", "502 ")
	c.login("alice@example.com")
	c.cmd("STARTTLS", "502 ") // go-smtp: already TLS
	c.sendMail("alice@example.com", []string{"bob@example.com"}, simpleMessage)
	msg := string(h.inbox("bob@example.com")[0])
	if !strings.Contains(msg, "with cipher "+tls.CipherSuiteName(st.CipherSuite)) || !strings.Contains(msg, "(using TLSv1.3") ||
		!strings.Contains(msg, " with ESMTPSA id ") {
		t.Errorf("Received header lacks TLS details:\n%s", msg)
	}

	// Postmaster without a domain still works above TLS.
	c = h.dial()
	c.cmd("EHLO client.example", "250 ")
	c.startTLS(cliTLS)
	c.cmd("EHLO client.example", "250 ")
	c.cmd("MAIL FROM:<>", "250 ")
	c.cmd("RCPT TO:<postmaster>", "250 ")
	c.cmd("DATA", "354 ")
	c.send("Subject: pm\r\n\r\nhi\r\n.\r\n")
	c.expect("250 2.0.0 OK: queued as ")
	if n := len(h.inbox("postmaster@example.com")); n != 1 {
		t.Errorf("postmaster got %d messages", n)
	}
}

// TestSTARTTLSInjection: commands pipelined after STARTTLS in plaintext
// are discarded (RFC 3207 §4.2), never run inside the TLS session.
func TestSTARTTLSInjection(t *testing.T) {
	srvTLS, cliTLS := testTLS(t)
	h := newHarness(t, ModeMX, func(c *Config) { c.TLSConfig = srvTLS })
	c := h.dial()
	c.cmd("EHLO client.example", "250 ")
	c.send("STARTTLS\r\nMAIL FROM:<evil@example.net>\r\n")
	c.expect("220 ")
	tc := tls.Client(c.c, cliTLS)
	if err := tc.Handshake(); err != nil {
		// Also acceptable: the injected bytes broke the handshake. They
		// were not run either way.
		t.Logf("handshake failed: %v", err)
		return
	}
	c.c, c.r = tc, bufio.NewReader(tc)
	c.cmd("EHLO client.example", "250 ")
	c.cmd("MAIL FROM:<alice@example.com>", "250 ") // 503 if the injected MAIL had run
	c.cmd("RCPT TO:<postmaster>", "250 ")
	c.cmd("RSET", "250 ")
}

func TestSTARTTLSRefusals(t *testing.T) {
	srvTLS, _ := testTLS(t)
	h := newHarness(t, ModeMX, func(c *Config) { c.TLSConfig = srvTLS })
	c := h.dial()
	c.cmd("EHLO client.example", "250 ")
	c.cmd("STARTTLS now", "501 5.5.4")
	c.cmd("MAIL FROM:<a@example.net>", "250 ")
	c.cmd("STARTTLS", "503 5.5.1")
	c.cmd("RSET", "250 ")
	c.login("alice@example.com") // loopback: plaintext allowed
	c.cmd("STARTTLS", "503 5.5.1")

	// Without a TLS configuration STARTTLS is neither offered nor run.
	h2 := newHarness(t, ModeMX)
	c2 := h2.dial()
	if hasLine(c2.cmd("EHLO client.example", "250 "), "STARTTLS") {
		t.Error("STARTTLS advertised without TLS")
	}
	c2.cmd("STARTTLS", "502 ")
	c2.cmd("RCPT TO:<postmaster>", "502 ")
}

// TestNetSMTPStartTLS drives submission with Go's net/smtp client.
func TestNetSMTPStartTLS(t *testing.T) {
	srvTLS, cliTLS := testTLS(t)
	h := newHarness(t, ModeSubmission, noPlaintext, func(c *Config) { c.TLSConfig = srvTLS })
	nc, err := net.Dial("tcp", h.addr)
	if err != nil {
		t.Fatal(err)
	}
	cl, err := netsmtp.NewClient(nc, testHost)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.StartTLS(cliTLS); err != nil {
		t.Fatal(err)
	}
	if err := cl.Auth(netsmtp.PlainAuth("", "alice@example.com", testPassword, testHost)); err != nil {
		t.Fatal(err)
	}
	if err := cl.Mail("alice@example.com"); err != nil {
		t.Fatal(err)
	}
	if err := cl.Rcpt("bob@example.com"); err != nil {
		t.Fatal(err)
	}
	w, err := cl.Data()
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte(simpleMessage))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	cl.Quit()
	if !strings.Contains(string(h.inbox("bob@example.com")[0]), "with ESMTPSA") {
		t.Error("no ESMTPSA")
	}
}

// TestImplicitTLS serves RFC 8314 submissions (port 465 style).
func TestImplicitTLS(t *testing.T) {
	srvTLS, cliTLS := testTLS(t)
	h := newHarness(t, ModeSubmission, noPlaintext, func(c *Config) { c.TLSConfig = srvTLS })
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- h.srv.ServeTLS(l) }()
	nc, err := tls.Dial("tcp", l.Addr().String(), cliTLS)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(20 * time.Second))
	c := &client{t: t, c: nc, r: bufio.NewReader(nc)}
	c.expect("220 ")
	ehlo := c.cmd("EHLO client.example", "250 ")
	if hasLine(ehlo, "STARTTLS") || !hasLine(ehlo, "AUTH") {
		t.Errorf("implicit TLS EHLO %q", ehlo)
	}
	c.login("alice@example.com")
	c.cmd("RCPT TO:<postmaster>", "502 ")
	c.cmd("QUIT", "221 ")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	h.srv.Shutdown(ctx)
	if err := <-done; !errors.Is(err, ErrServerClosed) {
		t.Errorf("ServeTLS: %v", err)
	}
}
