package auth

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailroom/mailroom/store"
)

func TestHashAndVerify(t *testing.T) {
	h, err := HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$") || strings.Contains(h, "correct horse") {
		t.Fatalf("hash %q is not a PHC argon2id string", h)
	}
	h2, _ := HashPassword("correct horse")
	if h == h2 {
		t.Error("two hashes of one password are equal: salt missing")
	}
	for pw, want := range map[string]bool{"correct horse": true, "correct hors": false, "": false} {
		ok, err := VerifyPassword(h, pw)
		if err != nil || ok != want {
			t.Errorf("VerifyPassword(%q) = %v, %v; want %v", pw, ok, err, want)
		}
	}
	for _, bad := range []string{"", "plain", "$argon2i$v=19$m=1,t=1,p=1$AAAA$AAAA", "$argon2id$v=19$m=99999999,t=1,p=1$AAAA$AAAAAAAAAAAAAAAAAAAAAA"} {
		if _, err := VerifyPassword(bad, "x"); !errors.Is(err, ErrBadHash) {
			t.Errorf("VerifyPassword(%q) err = %v, want ErrBadHash", bad, err)
		}
	}
}

type fakeAccounts map[string]store.Account

func (f fakeAccounts) AccountByEmail(_ context.Context, email string) (store.Account, error) {
	a, ok := f[email]
	if !ok {
		return store.Account{}, store.ErrNotFound
	}
	return a, nil
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newTestAuth(t *testing.T) (*Authenticator, *clock, *[]time.Duration) {
	h := cheapCredentials("pw")
	ck := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	a := cheapDummy(NewAuthenticator(fakeAccounts{"u@example.test": {ID: 1, Email: "u@example.test", PasswordHash: h}},
		slog.New(slog.DiscardHandler), ck.now))
	var slept []time.Duration
	a.sleep = func(_ context.Context, d time.Duration) error { slept = append(slept, d); return nil }
	return a, ck, &slept
}

var ip1 = &net.TCPAddr{IP: net.ParseIP("192.0.2.1"), Port: 1}

func TestAuthenticateSuccessAndFailureLookAlike(t *testing.T) {
	a, _, _ := newTestAuth(t)
	ctx := context.Background()
	acct, err := a.Authenticate(ctx, "U@Example.TEST", "pw", ip1)
	if err != nil || acct.ID != 1 {
		t.Fatalf("good login: %v %v", acct, err)
	}
	_, errWrong := a.Authenticate(ctx, "u@example.test", "nope", ip1)
	_, errUnknown := a.Authenticate(ctx, "who@example.test", "pw", ip1)
	if !errors.Is(errWrong, ErrInvalidCredentials) || !errors.Is(errUnknown, ErrInvalidCredentials) {
		t.Errorf("wrong password %v, unknown user %v: both must be ErrInvalidCredentials", errWrong, errUnknown)
	}
}

func TestThrottlingDelaysThenRefusesThenForgets(t *testing.T) {
	a, ck, slept := newTestAuth(t)
	ctx := context.Background()
	for range freeFailures {
		_, _ = a.Authenticate(ctx, "u@example.test", "bad", ip1)
	}
	if len(*slept) != 0 {
		t.Fatalf("delayed during free failures: %v", *slept)
	}
	_, _ = a.Authenticate(ctx, "u@example.test", "bad", ip1)
	_, _ = a.Authenticate(ctx, "u@example.test", "bad", ip1)
	if len(*slept) != 2 || (*slept)[1] <= (*slept)[0] {
		t.Fatalf("delays %v: want growing delays after %d failures", *slept, freeFailures)
	}
	// Another IP guessing the same account is slowed too (per-account key).
	ip2 := &net.TCPAddr{IP: net.ParseIP("198.51.100.7")}
	n := len(*slept)
	_, _ = a.Authenticate(ctx, "u@example.test", "bad", ip2)
	if len(*slept) != n+1 {
		t.Error("per-account throttling missing")
	}
	for range DefaultFailuresPerIP {
		_, _ = a.Authenticate(ctx, "u@example.test", "bad", ip1)
	}
	if _, err := a.Authenticate(ctx, "u@example.test", "pw", ip1); !errors.Is(err, ErrThrottled) {
		t.Fatalf("after %d failures: err %v, want ErrThrottled even with the right password", DefaultFailuresPerIP, err)
	}
	ck.add(DefaultFailureWindow + time.Second)
	*slept = nil
	if _, err := a.Authenticate(ctx, "u@example.test", "pw", ip1); err != nil {
		t.Fatalf("after the window: %v", err)
	}
	if len(*slept) != 0 {
		t.Errorf("successful login after the window was delayed: %v", *slept)
	}
}

func TestSASLPlainAndLogin(t *testing.T) {
	var got [2]string
	check := func(u, p string) error {
		got = [2]string{u, p}
		if p != "pw" {
			return ErrInvalidCredentials
		}
		return nil
	}
	s, err := NewSASLServer("plain", check)
	if err != nil {
		t.Fatal(err)
	}
	if _, done, err := s.Next([]byte("\x00u@x\x00pw")); !done || err != nil || got != [2]string{"u@x", "pw"} {
		t.Errorf("PLAIN: done=%v err=%v got=%v", done, err, got)
	}
	s, _ = NewSASLServer("PLAIN", check)
	if _, _, err := s.Next([]byte("other\x00u@x\x00pw")); err == nil {
		t.Error("PLAIN with a foreign authorization identity succeeded")
	}

	s, _ = NewSASLServer("LOGIN", check)
	ch, done, err := s.Next(nil)
	if string(ch) != "Username:" || done || err != nil {
		t.Fatalf("LOGIN step 1: %q %v %v", ch, done, err)
	}
	ch, done, _ = s.Next([]byte("u@x"))
	if string(ch) != "Password:" || done {
		t.Fatalf("LOGIN step 2: %q %v", ch, done)
	}
	if _, done, err = s.Next([]byte("pw")); !done || err != nil {
		t.Fatalf("LOGIN step 3: %v %v", done, err)
	}
	// Initial response carries the user name.
	s, _ = NewSASLServer("login", check)
	ch, _, _ = s.Next([]byte("v@x"))
	if string(ch) != "Password:" {
		t.Fatalf("LOGIN with initial response: %q", ch)
	}
	if _, _, err := s.Next([]byte("bad")); !errors.Is(err, ErrInvalidCredentials) || got[0] != "v@x" {
		t.Errorf("LOGIN bad password: %v %v", err, got)
	}
	if _, err := NewSASLServer("CRAM-MD5", check); !errors.Is(err, ErrUnknownMechanism) {
		t.Errorf("unknown mechanism: %v", err)
	}
}

func TestIsLoopback(t *testing.T) {
	for addr, want := range map[net.Addr]bool{
		&net.TCPAddr{IP: net.ParseIP("127.0.0.1")}: true,
		&net.TCPAddr{IP: net.ParseIP("::1")}:       true,
		&net.TCPAddr{IP: net.ParseIP("192.0.2.1")}: false,
	} {
		if IsLoopback(addr) != want {
			t.Errorf("IsLoopback(%v) != %v", addr, want)
		}
	}
}
