package managesieve

import (
	"crypto/tls"
	"encoding/base64"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/xdg-go/scram"
)

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func unb64(t *testing.T, s string) string {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatalf("challenge %q: %v", s, err)
	}
	return string(b)
}

func TestAuthenticatePlain(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	c := dial(t, ts.addr)
	c.greet()
	c.expect("NO", "LISTSCRIPTS") // not yet
	if r := c.login(testUser, "wrong"); r.kind != "NO" || r.code != "" {
		t.Fatalf("wrong password: %v", r)
	}
	// PLAIN without an initial response: an empty challenge, the
	// answer as a literal.
	c.send(`AUTHENTICATE "PLAIN"` + "\r\n")
	toks, err := c.readTokens()
	if err != nil || len(toks) != 1 || toks[0] != "" {
		t.Fatalf("challenge %q, %v", toks, err)
	}
	r := c.cmd(literal(b64("\x00" + testUser + "\x00" + testPass)))
	if r.kind != "OK" {
		t.Fatalf("PLAIN: %v", r)
	}
	c.expect("OK", "LISTSCRIPTS")
	c.expect("NO", `AUTHENTICATE "PLAIN" "`+b64("\x00"+testUser+"\x00"+testPass)+`"`) // already
	// UNAUTHENTICATE returns to the first state.
	c.expect("OK", "UNAUTHENTICATE")
	c.expect("NO", "LISTSCRIPTS")
	if r := c.login(testUser, testPass); r.kind != "OK" {
		t.Fatalf("login after UNAUTHENTICATE: %v", r)
	}
}

func TestAuthenticateLoginAndCancel(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	c := dial(t, ts.addr)
	c.greet()
	c.send(`AUTHENTICATE "LOGIN"` + "\r\n")
	toks, _ := c.readTokens()
	if len(toks) != 1 || unb64(t, toks[0]) != "Username:" {
		t.Fatalf("first challenge %q", toks)
	}
	c.send(`"` + b64(testUser) + `"` + "\r\n")
	toks, _ = c.readTokens()
	if len(toks) != 1 || unb64(t, toks[0]) != "Password:" {
		t.Fatalf("second challenge %q", toks)
	}
	if r := c.cmd(`"` + b64(testPass) + `"`); r.kind != "OK" {
		t.Fatalf("LOGIN: %v", r)
	}
	c.expect("OK", "UNAUTHENTICATE")

	c.send(`AUTHENTICATE "LOGIN"` + "\r\n")
	c.readTokens()
	if r := c.cmd(`"*"`); r.kind != "NO" || !strings.Contains(r.text, "cancel") {
		t.Errorf("cancel: %v", r)
	}
	c.expect("NO", `AUTHENTICATE "CRAM-MD5"`)
	c.expect("NO", `AUTHENTICATE "PLAIN" "not base64!"`)
	c.expect("OK", "NOOP")
}

func TestAuthenticateSCRAM(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	c := dial(t, ts.addr)
	c.greet()
	cl, err := scram.SHA256.NewClient(testUser, testPass, "")
	if err != nil {
		t.Fatal(err)
	}
	conv := cl.NewConversation()
	first, _ := conv.Step("")
	c.send(`AUTHENTICATE "SCRAM-SHA-256" "` + b64(first) + `"` + "\r\n")
	toks, err := c.readTokens()
	if err != nil || len(toks) != 1 {
		t.Fatalf("server-first %q, %v", toks, err)
	}
	final, err := conv.Step(unb64(t, toks[0]))
	if err != nil {
		t.Fatal(err)
	}
	r := c.cmd(`"` + b64(final) + `"`)
	if r.kind != "OK" || !strings.HasPrefix(r.code, "SASL ") {
		t.Fatalf("SCRAM result %v", r)
	}
	if _, err := conv.Step(unb64(t, strings.TrimPrefix(r.code, "SASL "))); err != nil || !conv.Valid() {
		t.Fatalf("server signature: %v", err)
	}
	c.expect("OK", "LISTSCRIPTS")
}

func TestThrottled(t *testing.T) {
	t.Parallel()
	ts := startServer(t, func(c *Config) {
		c.Auth = c.Auth.WithLimits(authLimits())
	})
	c := dial(t, ts.addr)
	c.greet()
	var last response
	for range 4 {
		last = c.login(testUser, "wrong")
	}
	if last.kind != "NO" || last.code != codeTryLater {
		t.Errorf("after repeated failures: %v", last)
	}
}

func TestStartTLS(t *testing.T) {
	t.Parallel()
	srvTLS, cliTLS := testTLS(t)
	ts := startServer(t, func(c *Config) {
		c.TLSConfig = srvTLS
		c.AllowPlaintextAuth = func(netAddr) bool { return false }
	})
	c := dial(t, ts.addr)
	c.greet()
	// Pipelined plaintext after STARTTLS is dropped, not run under TLS.
	c.send("STARTTLS\r\nLOGOUT\r\n")
	if r := c.read(); r.kind != "OK" {
		t.Fatalf("STARTTLS: %v", r)
	}
	tc := tls.Client(c.nc, cliTLS)
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	c.nc, c.br = tc, newReader(tc)
	r := c.read() // capabilities again
	m := caps(r)
	if r.kind != "OK" || m["SASL"] == "" {
		t.Fatalf("after STARTTLS: %v", r)
	}
	if _, ok := m["STARTTLS"]; ok {
		t.Errorf("STARTTLS offered under TLS")
	}
	c.expect("NO", "STARTTLS")
	if r := c.login(testUser, testPass); r.kind != "OK" {
		t.Fatalf("login under TLS: %v", r)
	}
	c.expect("OK", "LISTSCRIPTS")
}

func TestStartTLSHandshakeTimeout(t *testing.T) {
	t.Parallel()
	srvTLS, _ := testTLS(t)
	ts := startServer(t, func(c *Config) { c.TLSConfig = srvTLS; c.HandshakeTimeout = 200 * timeMillisecond })
	c := dial(t, ts.addr)
	c.greet()
	c.expect("OK", "STARTTLS")
	// Say nothing: the server gives up on the handshake and closes
	// (EOF long before the client's own 30 s deadline).
	c.nc.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := c.br.ReadByte(); !errors.Is(err, io.EOF) {
		t.Fatalf("after a silent handshake: %v, want EOF", err)
	}
}
