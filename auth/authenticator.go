package auth

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/mailroom/mailroom/store"
)

// Errors returned by Authenticate. Protocol servers map them to replies:
// ErrInvalidCredentials to SMTP 535 5.7.8 / IMAP NO [AUTHENTICATIONFAILED] /
// POP3 -ERR [AUTH]; ErrThrottled to a temporary failure (SMTP 454 4.7.0,
// IMAP NO [UNAVAILABLE], POP3 -ERR [SYS/TEMP]).
var (
	ErrInvalidCredentials = errors.New("auth: invalid credentials")
	ErrThrottled          = errors.New("auth: too many failed attempts, try later")
)

// Accounts is what the Authenticator needs from the store.
type Accounts interface {
	AccountByEmail(ctx context.Context, email string) (store.Account, error)
}

var _ Accounts = (store.Store)(nil)

// Authenticator checks credentials against the store and slows down
// password guessing: after a few failures from one client IP or for one
// account, each further attempt is delayed exponentially, and past a limit
// attempts are refused outright until the failures age out. Successful
// logins are never delayed.
type Authenticator struct {
	accounts Accounts
	log      *slog.Logger
	now      func() time.Time
	sleep    func(context.Context, time.Duration) error

	mu       sync.Mutex
	failures map[string]*failure // "ip:1.2.3.4" or "user:a@b"

	// dummyHash is verified against when the user does not exist, so that
	// unknown users and wrong passwords take the same time.
	dummyHash string

	// verifySlots bounds concurrent argon2id verifications to the number of
	// CPUs: each needs 19 MiB and is CPU-bound, so more at once only grows
	// the heap (a burst of 50 logins took ~1 GB) without more throughput.
	verifySlots chan struct{}

	// fakeSecret derives SCRAM credentials for unknown users (scram.go).
	fakeSecret [32]byte

	stats counters // metrics.go
}

type failure struct {
	count int
	last  time.Time
}

// Throttling parameters.
const (
	freeFailures   = 3 // failures before any delay
	baseDelay      = 250 * time.Millisecond
	maxDelay       = 8 * time.Second
	refuseAfter    = 30               // failures within failureWindow before refusing
	failureWindow  = 15 * time.Minute // a failure is forgotten after this
	maxFailureKeys = 100000           // bound on remembered IPs/accounts
)

// NewAuthenticator returns an Authenticator over accounts. now may be nil
// (time.Now).
func NewAuthenticator(accounts Accounts, log *slog.Logger, now func() time.Time) *Authenticator {
	if now == nil {
		now = time.Now
	}
	dummy, _ := HashPassword("mailroom-dummy-password")
	return &Authenticator{
		accounts:  accounts,
		log:       log,
		now:       now,
		sleep:     sleepCtx,
		failures:  make(map[string]*failure),
		dummyHash: dummy,

		verifySlots: make(chan struct{}, runtime.GOMAXPROCS(0)),
		fakeSecret:  newFakeSecret(),
	}
}

// Authenticate checks username (an email address) and password for a
// client at remote (may be nil). It returns the account, or
// ErrInvalidCredentials, ErrThrottled, or a store error.
func (a *Authenticator) Authenticate(ctx context.Context, username, password string, remote net.Addr) (store.Account, error) {
	ip := remoteIP(remote)
	user := strings.ToLower(strings.TrimSpace(username))
	keys := []string{"ip:" + ip, "user:" + user}

	delay, refuse := a.penalty(keys)
	if refuse {
		a.log.Warn("auth refused: throttled", "ip", ip, "user", user)
		a.stats.throttled.Add(1)
		return store.Account{}, ErrThrottled
	}
	if delay > 0 {
		if err := a.sleep(ctx, delay); err != nil {
			return store.Account{}, err
		}
	}

	acct, err := a.accounts.AccountByEmail(ctx, user)
	hash := acct.PasswordHash
	if errors.Is(err, store.ErrNotFound) {
		hash = a.dummyHash
	} else if err != nil {
		return store.Account{}, err
	}
	select {
	case a.verifySlots <- struct{}{}:
	case <-ctx.Done():
		return store.Account{}, ctx.Err()
	}
	ok, verr := VerifyPassword(hash, password)
	<-a.verifySlots
	if verr != nil {
		a.log.Error("unreadable password hash", "user", user, "err", verr)
	}
	if err != nil || !ok {
		a.recordFailure(keys)
		a.log.Info("auth failed", "ip", ip, "user", user)
		return store.Account{}, ErrInvalidCredentials
	}
	a.recordSuccess("user:" + user)
	return acct, nil
}

func (a *Authenticator) penalty(keys []string) (time.Duration, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	worst := 0
	for _, k := range keys {
		f := a.failures[k]
		if f == nil {
			continue
		}
		if now.Sub(f.last) > failureWindow {
			delete(a.failures, k)
			continue
		}
		worst = max(worst, f.count)
	}
	if worst >= refuseAfter {
		return 0, true
	}
	if worst < freeFailures {
		return 0, false
	}
	d := baseDelay << min(worst-freeFailures, 10)
	return min(d, maxDelay), false
}

func (a *Authenticator) recordFailure(keys []string) {
	a.stats.failed.Add(1)
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	if len(a.failures) >= maxFailureKeys {
		a.evictLocked(now)
	}
	for _, k := range keys {
		f := a.failures[k]
		if f == nil {
			f = &failure{}
			a.failures[k] = f
		}
		f.count++
		f.last = now
	}
}

// recordSuccess forgets the account's failures (the IP's stay: a guesser
// who finds one password should not get a fresh budget for others).
func (a *Authenticator) recordSuccess(key string) {
	a.stats.succeeded.Add(1)
	a.mu.Lock()
	delete(a.failures, key)
	a.mu.Unlock()
}

func (a *Authenticator) evictLocked(now time.Time) {
	for k, f := range a.failures {
		if now.Sub(f.last) > failureWindow/4 || len(a.failures) > maxFailureKeys/2 {
			delete(a.failures, k)
		}
	}
}

func remoteIP(addr net.Addr) string {
	switch a := addr.(type) {
	case *net.TCPAddr:
		return a.IP.String()
	case nil:
		return ""
	}
	host, _, err := net.SplitHostPort(addr.String())
	if err != nil {
		return addr.String()
	}
	return host
}

// IsLoopback reports whether addr is a loopback address; plaintext
// authentication without TLS is allowed only there.
func IsLoopback(addr net.Addr) bool {
	ip := net.ParseIP(remoteIP(addr))
	return ip != nil && ip.IsLoopback()
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
