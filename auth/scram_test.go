package auth

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/xdg-go/scram"

	"github.com/mailroom/mailroom/internal/tlsconfig"
	"github.com/mailroom/mailroom/store"
)

// scramAuth returns an Authenticator with u@example.test (password "pw",
// with SCRAM keys) and old@example.test (argon2id only, as stored before
// SCRAM existed).
func scramAuth(t *testing.T) *Authenticator {
	t.Helper()
	h := cheapCredentials("pw") // the real SCRAM line, a cheap argon2id one
	old, _ := hashArgon2id("pw")
	return NewAuthenticator(fakeAccounts{
		"u@example.test":   {ID: 1, Email: "u@example.test", PasswordHash: h},
		"old@example.test": {ID: 2, Email: "old@example.test", PasswordHash: old},
	}, slog.New(slog.DiscardHandler), nil)
}

// runSCRAM runs a whole exchange between xdg-go/scram's client and NewSASL
// and returns the account that logged in.
func runSCRAM(t *testing.T, a *Authenticator, mech, user, pass string, srvTLS *tls.ConnectionState, conv *scram.ClientConversation) (store.Account, error) {
	t.Helper()
	var acct store.Account
	srv, err := NewSASL(mech, SASLConfig{
		Check: func(string, string) error { t.Fatal("password check called for SCRAM"); return nil },
		SCRAM: func(u string) (scram.StoredCredentials, func(bool) error, error) {
			creds, finish, err := a.LookupSCRAM(context.Background(), u, ip1)
			if err != nil {
				return creds, nil, err
			}
			return creds, func(valid bool) error {
				var ferr error
				acct, ferr = finish(valid)
				return ferr
			}, nil
		},
		TLS:  srvTLS,
		Plus: a.scramPlus,
	})
	if err != nil {
		return acct, err
	}
	if conv == nil {
		c, err := scram.SHA256.NewClient(user, pass, "")
		if err != nil {
			t.Fatal(err)
		}
		conv = c.NewConversation()
	}
	first, err := conv.Step("")
	if err != nil {
		t.Fatal(err)
	}
	ch, done, err := srv.Next([]byte(first))
	if err != nil || done {
		return acct, err
	}
	final, err := conv.Step(string(ch))
	if err != nil {
		t.Fatal(err)
	}
	ch, done, err = srv.Next([]byte(final))
	if err != nil || done {
		return acct, err
	}
	if _, err := conv.Step(string(ch)); err != nil || !conv.Valid() {
		t.Fatalf("client rejects the server signature: %v", err)
	}
	if _, done, err = srv.Next([]byte{}); !done {
		t.Fatal("not done after the empty final response")
	}
	return acct, err
}

func TestCredentialsFormat(t *testing.T) {
	h, _ := HashPassword("pw")
	lines := strings.Split(h, "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "$argon2id$") || !strings.HasPrefix(lines[1], "$scram-sha-256$4096$") {
		t.Fatalf("credentials %q", h)
	}
	if ok, err := VerifyPassword(h, "pw"); !ok || err != nil {
		t.Errorf("VerifyPassword on two-line credentials: %v %v", ok, err)
	}
	if _, err := parseSCRAM(lines[1]); err != nil {
		t.Error(err)
	}
	for _, bad := range []string{"", "$scram-sha-256$100$AA$AA$AA", "$scram-sha-256$4096$c2FsdA$AAAA$AAAA"} {
		if _, err := parseSCRAM(bad); err == nil {
			t.Errorf("parseSCRAM(%q) accepted", bad)
		}
	}
}

func TestSCRAMWithIndependentClient(t *testing.T) {
	a := scramAuth(t)
	acct, err := runSCRAM(t, a, "scram-sha-256", "u@example.test", "pw", nil, nil)
	if err != nil || acct.ID != 1 {
		t.Fatalf("good login: %v %v", acct, err)
	}
	for _, tc := range []struct{ user, pass string }{
		{"u@example.test", "wrong"},
		{"nobody@example.test", "pw"},
		{"old@example.test", "pw"}, // no SCRAM keys stored: fails like a wrong password
	} {
		if _, err := runSCRAM(t, a, MechSCRAMSHA256, tc.user, tc.pass, nil, nil); !errors.Is(err, ErrInvalidCredentials) {
			t.Errorf("%s/%s: %v, want ErrInvalidCredentials", tc.user, tc.pass, err)
		}
	}
	// The old account still logs in with PLAIN.
	if _, err := a.Authenticate(context.Background(), "old@example.test", "pw", ip1); err != nil {
		t.Errorf("PLAIN for an account without SCRAM keys: %v", err)
	}
	// Unknown users get a stable salt: probing cannot tell them apart.
	s1 := a.fakeSCRAM("nobody@example.test")
	s2 := a.fakeSCRAM("nobody@example.test")
	if s1.Salt != s2.Salt || s1.Iters != scramIterations {
		t.Error("fake SCRAM credentials are not stable")
	}
}

func TestSCRAMThrottled(t *testing.T) {
	a := scramAuth(t)
	a.sleep = func(context.Context, time.Duration) error { return nil }
	for range DefaultFailuresPerIP {
		runSCRAM(t, a, MechSCRAMSHA256, "u@example.test", "bad", nil, nil)
	}
	if _, err := runSCRAM(t, a, MechSCRAMSHA256, "u@example.test", "pw", nil, nil); !errors.Is(err, ErrThrottled) {
		t.Fatalf("after %d failures: %v, want ErrThrottled", DefaultFailuresPerIP, err)
	}
	if st := a.Stats(); st.Failed != DefaultFailuresPerIP || st.Throttled != 1 || st.Succeeded != 0 {
		t.Errorf("stats %+v", st)
	}
}

// tlsPair returns the connection states of both ends of a TLS 1.3 session.
func tlsPair(t *testing.T) (server, client tls.ConnectionState) {
	t.Helper()
	m, err := tlsconfig.NewSelfSigned(t.TempDir(), "h.test", time.Now(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	s := tls.Server(a, m.TLSConfig())
	c := tls.Client(b, &tls.Config{InsecureSkipVerify: true})
	errc := make(chan error, 1)
	go func() { errc <- s.Handshake() }()
	if err := c.Handshake(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	return s.ConnectionState(), c.ConnectionState()
}

func TestSCRAMPlusChannelBinding(t *testing.T) {
	a := scramAuth(t).WithSCRAMPlus(true)
	srvSt, cliSt := tlsPair(t)
	if got := a.MechanismsFor(&srvSt); got[len(got)-1] != MechSCRAMSHA256Plus {
		t.Fatalf("mechanisms over TLS 1.3: %v", got)
	}
	if got := MechanismsFor(nil); len(got) != 3 {
		t.Fatalf("mechanisms without TLS: %v", got)
	}
	client := func() *scram.Client {
		c, err := scram.SHA256.NewClient("u@example.test", "pw", "")
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	cb, err := scram.NewTLSExporterBinding(&cliSt)
	if err != nil {
		t.Fatal(err)
	}
	if acct, err := runSCRAM(t, a, MechSCRAMSHA256Plus, "", "", &srvSt, client().NewConversationWithChannelBinding(cb)); err != nil || acct.ID != 1 {
		t.Fatalf("SCRAM-SHA-256-PLUS: %v %v", acct, err)
	}
	// Binding data from another TLS session (a man in the middle) fails.
	_, otherCli := tlsPair(t)
	other, _ := scram.NewTLSExporterBinding(&otherCli)
	if _, err := runSCRAM(t, a, MechSCRAMSHA256Plus, "", "", &srvSt, client().NewConversationWithChannelBinding(other)); err == nil {
		t.Error("SCRAM-SHA-256-PLUS with foreign binding data succeeded")
	}
	// A client that supports binding but believes the server does not
	// ("y" flag) is being downgraded: refused where -PLUS is offered.
	if _, err := runSCRAM(t, a, MechSCRAMSHA256, "", "", &srvSt, client().NewConversationAdvertisingChannelBinding()); err == nil {
		t.Error("downgraded SCRAM exchange succeeded")
	}
	// -PLUS is unknown without TLS.
	if _, err := NewSASL(MechSCRAMSHA256Plus, SASLConfig{SCRAM: func(string) (scram.StoredCredentials, func(bool) error, error) {
		return scram.StoredCredentials{}, nil, nil
	}}); !errors.Is(err, ErrUnknownMechanism) {
		t.Errorf("-PLUS without TLS: %v", err)
	}
}

// SCRAM-SHA-256-PLUS is off by default (issue 11 item 23: libgsasl 2.2
// picks it and cannot bind to tls-exporter): not advertised, unknown, and
// a client that could bind but sees no -PLUS ("y" flag) is not taken for
// a downgrade.
func TestSCRAMPlusOffByDefault(t *testing.T) {
	a := scramAuth(t)
	srvSt, _ := tlsPair(t)
	for _, got := range [][]string{a.MechanismsFor(&srvSt), MechanismsFor(&srvSt), (*Authenticator)(nil).MechanismsFor(&srvSt)} {
		if len(got) != 3 || got[2] != MechSCRAMSHA256 {
			t.Errorf("mechanisms over TLS 1.3 by default: %v", got)
		}
	}
	cfg := a.SASLConfig(context.Background(), ip1, &srvSt, func(store.Account, error) {})
	if _, err := NewSASL(MechSCRAMSHA256Plus, cfg); !errors.Is(err, ErrUnknownMechanism) {
		t.Errorf("-PLUS while off: %v", err)
	}
	c, err := scram.SHA256.NewClient("u@example.test", "pw", "")
	if err != nil {
		t.Fatal(err)
	}
	if acct, err := runSCRAM(t, a, MechSCRAMSHA256, "", "", &srvSt, c.NewConversationAdvertisingChannelBinding()); err != nil || acct.ID != 1 {
		t.Errorf("client with the y flag where -PLUS is not offered: %v %v", acct, err)
	}
}
