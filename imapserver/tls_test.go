package imapserver

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mailroom/mailroom/internal/tlsconfig"
)

func testTLS(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	dir := t.TempDir()
	m, err := tlsconfig.NewSelfSigned(dir, "mail.example.org", time.Now(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	pem, err := os.ReadFile(filepath.Join(dir, tlsconfig.SelfSignedCert))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	return m.TLSConfig(), &tls.Config{RootCAs: pool, ServerName: "mail.example.org"}
}

func withTLS(srv *tls.Config, plaintext bool) serverOpt {
	return func(c *Config) {
		c.TLSConfig = srv
		c.AllowPlaintextAuth = func(net.Addr) bool { return plaintext }
	}
}

func (tc *testConn) startTLS(cfg *tls.Config) {
	tc.t.Helper()
	tc.transactf("ok", "STARTTLS")
	c := tls.Client(tc.nc, cfg)
	if err := c.Handshake(); err != nil {
		tc.t.Fatalf("handshake: %v", err)
	}
	tc.nc, tc.br = c, bufio.NewReader(c)
}

func TestSTARTTLSAndPrivacyRequired(t *testing.T) {
	srvTLS, cliTLS := testTLS(t)
	ts := startTestServer(t, withTLS(srvTLS, false))
	tc := ts.dial()
	for _, want := range []string{"STARTTLS", "LOGINDISABLED"} {
		if !strings.Contains(tc.greet, want) {
			t.Errorf("greeting %q lacks %s", tc.greet, want)
		}
	}
	if strings.Contains(tc.greet, "AUTH=PLAIN") {
		t.Errorf("greeting %q offers AUTH=PLAIN without TLS", tc.greet)
	}
	tc.transactf("no", "LOGIN %s %s", testUser, testPass)
	if tc.taggedCode() != "PRIVACYREQUIRED" {
		t.Errorf("LOGIN without TLS: %q", tc.lastTagged)
	}
	tc.transactf("no", "AUTHENTICATE PLAIN")
	tc.startTLS(cliTLS)
	caps := tc.transactf("ok", "CAPABILITY")
	hasLine(t, caps, "AUTH=PLAIN")
	noLine(t, caps, "STARTTLS")
	noLine(t, caps, "LOGINDISABLED")
	tc.transactf("bad", "STARTTLS")
	tc.transactf("ok", "LOGIN %s %s", testUser, testPass)
	tc.transactf("bad", "STARTTLS") // not in the authenticated state
	tc.transactf("ok", "SELECT INBOX")
}

// TestSTARTTLSInjectionIMAP: a command pipelined after STARTTLS in
// plaintext is dropped, never run inside TLS.
func TestSTARTTLSInjectionIMAP(t *testing.T) {
	srvTLS, cliTLS := testTLS(t)
	ts := startTestServer(t, withTLS(srvTLS, true))
	tc := ts.dial()
	tc.writeLine("a STARTTLS\r\nb LOGIN %s %s", testUser, testPass)
	tc.readUntilTagged("a", "ok")
	c := tls.Client(tc.nc, cliTLS)
	if err := c.Handshake(); err != nil {
		t.Logf("handshake failed (the injected bytes were not run): %v", err)
		return
	}
	tc.nc, tc.br = c, bufio.NewReader(c)
	tc.writeLine("c NOOP")
	if r := tc.readResponse(); !strings.HasPrefix(r, "c OK") {
		t.Fatalf("after STARTTLS: %q, want only the reply to NOOP", r)
	}
	tc.transactf("bad", "SELECT INBOX") // still not authenticated
}

func TestSTARTTLSNotConfiguredIMAP(t *testing.T) {
	ts := startTestServer(t)
	tc := ts.dial()
	if strings.Contains(tc.greet, "STARTTLS") {
		t.Errorf("STARTTLS advertised without TLS: %q", tc.greet)
	}
	tc.transactf("bad", "STARTTLS")
}

// TestGoIMAPClientTLS uses go-imap's client with STARTTLS and with
// implicit TLS (IMAPS).
func TestGoIMAPClientTLS(t *testing.T) {
	srvTLS, cliTLS := testTLS(t)
	ts := startTestServer(t, withTLS(srvTLS, false))
	c, err := imapclient.DialStartTLS(ts.addr, &imapclient.Options{TLSConfig: cliTLS})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Login(testUser, testPass).Wait(); err != nil {
		t.Fatalf("login after STARTTLS: %v", err)
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	c.Logout().Wait()
	c.Close()

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go ts.srv.ServeTLS(l) // ended by Shutdown in the cleanup
	c, err = imapclient.DialTLS(l.Addr().String(), &imapclient.Options{TLSConfig: cliTLS})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.Caps().Has("STARTTLS") {
		t.Error("STARTTLS offered on IMAPS")
	}
	if err := c.Login(testUser, testPass).Wait(); err != nil {
		t.Fatalf("login on IMAPS: %v", err)
	}
	c.Logout().Wait()
}

// TestSTARTTLSHandshakeAbandoned: a client that sends STARTTLS and then no
// handshake gets nothing in plaintext when the server gives up on it (here
// at shutdown): no "* BYE" after the OK.
func TestSTARTTLSHandshakeAbandoned(t *testing.T) {
	srvTLS, _ := testTLS(t)
	ts := startTestServer(t, withTLS(srvTLS, false))
	tc := ts.dial()
	tc.transactf("ok", "STARTTLS")
	done := make(chan struct{})
	go func() {
		defer close(done)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		ts.srv.Shutdown(ctx)
	}()
	tc.nc.SetReadDeadline(time.Now().Add(30 * time.Second))
	rest, err := io.ReadAll(tc.br)
	if len(rest) != 0 {
		t.Fatalf("after STARTTLS's OK the server wrote %q in plaintext (err %v)", rest, err)
	}
	<-done
}
