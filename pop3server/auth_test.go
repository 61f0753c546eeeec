package pop3server

import (
	"encoding/base64"
	"net"
	"strings"
	"testing"
)

func plainIR(identity, user, pass string) string {
	return base64.StdEncoding.EncodeToString([]byte(identity + "\x00" + user + "\x00" + pass))
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func TestAuthPlainInitialResponse(t *testing.T) {
	ts := newTestServer(t, nil)
	ts.store.addMessage(ts.acct.ID, msgShort)
	c := ts.dial(t)
	c.expect("AUTH PLAIN "+plainIR("", testUser, testPass), "+OK maildrop locked and ready")
	c.expect("STAT", "+OK 1 20")
}

func TestAuthPlainContinuation(t *testing.T) {
	ts := newTestServer(t, nil)
	c := ts.dial(t)
	c.expect("AUTH PLAIN", "+ ")
	c.expect(plainIR(testUser, testUser, testPass), "+OK maildrop locked and ready")
	c.expect("STAT", "+OK 0 0")
}

func TestAuthLogin(t *testing.T) {
	ts := newTestServer(t, nil)
	c := ts.dial(t)
	c.expect("AUTH LOGIN", "+ VXNlcm5hbWU6")
	c.expect(b64(testUser), "+ UGFzc3dvcmQ6")
	c.expect(b64(testPass), "+OK maildrop locked and ready")

	// With the username as initial response.
	ts2 := newTestServer(t, nil)
	c2 := ts2.dial(t)
	c2.expect("auth login "+b64(testUser), "+ UGFzc3dvcmQ6")
	c2.expect(b64(testPass), "+OK maildrop locked and ready")
}

func TestAuthFailures(t *testing.T) {
	ts := newTestServer(t, nil)
	c := ts.dial(t)
	c.expect("AUTH PLAIN "+plainIR("", testUser, "wrong"), "-ERR [AUTH] invalid username or password")
	c.expect("AUTH LOGIN", "+ VXNlcm5hbWU6")
	c.expect("*", "-ERR authentication cancelled")
	c.expect("AUTH PLAIN", "+ ")
	c.expect("*", "-ERR authentication cancelled")
	c.expect("AUTH PLAIN !!!", "-ERR invalid base64 data")
	c.expect("AUTH PLAIN", "+ ")
	c.expect("%%%", "-ERR invalid base64 data")
	c.expect("AUTH PLAIN "+b64("no-nul-here"), "-ERR [AUTH] malformed authentication exchange")
	c.expect("AUTH PLAIN "+plainIR("other@example.com", testUser, testPass), "-ERR [AUTH] invalid username or password")
	c.expect("AUTH CRAM-MD5", "-ERR unsupported authentication mechanism")
	c.expect("AUTH", "+OK SASL mechanisms follow")
	if got := strings.Join(c.lines(), " "); got != "PLAIN LOGIN SCRAM-SHA-256" {
		t.Fatalf("AUTH: %q", got)
	}
	c.expect("USER "+testUser, "+OK send PASS")
	c.expect("PASS wrong", "-ERR [AUTH] invalid username or password")
	// A failed PASS needs a new USER.
	c.expect("PASS "+testPass, "-ERR USER first")
	c.expect("USER nobody@example.com", "+OK send PASS")
	c.expect("PASS "+testPass, "-ERR [AUTH] invalid username or password")
	// Still usable.
	c.expect("USER "+testUser, "+OK send PASS")
	c.expect("PASS "+testPass, "+OK maildrop locked and ready")
}

func TestPlaintextRefusedOffLoopback(t *testing.T) {
	ts := newTestServer(t, func(cfg *Config) {
		cfg.AllowPlaintextAuth = func(net.Addr) bool { return false }
	})
	c := ts.dial(t)
	c.expect("CAPA", "+OK Capability list follows")
	capa := strings.Join(c.lines(), "|")
	if strings.Contains(capa, "USER") || strings.Contains(capa, "SASL") {
		t.Fatalf("CAPA advertises plaintext login: %q", capa)
	}
	const refused = "-ERR [AUTH] plaintext authentication is not allowed on this connection"
	c.expect("USER "+testUser, refused)
	c.expect("PASS "+testPass, refused)
	c.expect("AUTH PLAIN "+plainIR("", testUser, testPass), refused)
	c.expect("AUTH", refused)
}

func TestCredentialsNotLogged(t *testing.T) {
	ts := newTestServer(t, nil)
	c := ts.dial(t)
	c.expect("USER "+testUser, "+OK send PASS")
	c.expect("PASS "+testPass, "+OK maildrop locked and ready")
	c.expect("QUIT", "+OK pop.example.com POP3 server signing off")
	c.closed()
	ir := plainIR("", testUser, testPass)
	c = ts.dial(t)
	c.expect("AUTH PLAIN "+ir, "+OK maildrop locked and ready")
	c.expect("QUIT", "+OK pop.example.com POP3 server signing off")
	c.closed()
	c = ts.dial(t)
	c.expect("AUTH LOGIN", "+ VXNlcm5hbWU6")
	c.expect(b64(testUser), "+ UGFzc3dvcmQ6")
	c.expect(b64(testPass), "+OK maildrop locked and ready")
	c.expect("QUIT", "+OK pop.example.com POP3 server signing off")
	c.closed()

	logs := ts.logs.String()
	if !strings.Contains(logs, "C: USER "+testUser) {
		t.Fatalf("no wire trace at debug level:\n%s", logs)
	}
	for _, secret := range []string{testPass, ir, b64(testPass)} {
		if strings.Contains(logs, secret) {
			t.Fatalf("log contains %q:\n%s", secret, logs)
		}
	}
}
