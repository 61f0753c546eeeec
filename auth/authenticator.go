package auth

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"runtime"
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
// password guessing (throttle.go): after a few failures from one client IP
// or for one account, each further attempt from an IP that is not
// known-good for the account is delayed exponentially, and past a limit
// refused until the failures age out. Known-good IPs and successful
// logins are never delayed.
type Authenticator struct {
	accounts Accounts
	log      *slog.Logger
	now      func() time.Time
	sleep    func(context.Context, time.Duration) error

	th *throttle

	// scramPlus offers SCRAM-SHA-256-PLUS on TLS 1.3 connections (sasl.go).
	scramPlus bool

	// dummyHash is verified against when the user does not exist, so that
	// unknown users and wrong passwords take the same time.
	dummyHash string

	// verifySlots bounds concurrent argon2id verifications to the number of
	// CPUs: each needs 19 MiB and is CPU-bound, so more at once only grows
	// the heap (a burst of 50 logins took ~1 GB) without more throughput.
	verifySlots chan struct{}
	// verify checks a password against stored credentials
	// (VerifyPassword; tests count calls).
	verify func(hash, password string) (bool, error)
	// cache remembers verified credentials (cache.go); nil: off.
	cache *credCache

	// fakeSecret derives SCRAM credentials for unknown users (scram.go).
	fakeSecret [32]byte

	stats    *counters     // metrics.go, shared by ForProtocol copies
	observer LoginObserver // metrics.go; nil: none
	protocol string        // ForProtocol; labels what observer hears
}

// NewAuthenticator returns an Authenticator over accounts with the
// default Limits. now may be nil (time.Now).
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
		th:        newThrottle(Limits{}),
		dummyHash: dummy,
		stats:     &counters{},

		verifySlots: make(chan struct{}, runtime.GOMAXPROCS(0)),
		verify:      VerifyPassword,
		fakeSecret:  newFakeSecret(),
	}
}

// WithLimits sets the throttling limits (zero fields: defaults) and
// forgets every failure counted so far. It returns a; call it before use.
func (a *Authenticator) WithLimits(l Limits) *Authenticator {
	a.th = newThrottle(l)
	return a
}

// SetLimits changes the throttling limits of a running Authenticator
// (a config reload), keeping the failures counted so far: attempts
// judged afterwards use the new limits.
func (a *Authenticator) SetLimits(l Limits) {
	a.th.mu.Lock()
	a.th.lim = l.withDefaults()
	a.th.mu.Unlock()
}

// WithCache turns on the verified-credential cache (cache.go) with c's
// TTL and size; a TTL of 0 turns it off. It returns a; call it before use.
func (a *Authenticator) WithCache(c CacheConfig) *Authenticator {
	a.cache = newCredCache(c)
	return a
}

// WithSCRAMPlus offers SCRAM-SHA-256-PLUS (tls-exporter channel binding,
// RFC 9266) on TLS 1.3 connections when on (config scram_plus). It is off
// by default: clients that pick -PLUS whenever it is offered but cannot
// bind to tls-exporter (libgsasl 2.2, so Debian 12's neomutt) fail without
// falling back. It returns a; call it before use.
func (a *Authenticator) WithSCRAMPlus(on bool) *Authenticator {
	a.scramPlus = on
	return a
}

// attempt is one login attempt's identity for throttling and logs.
type attempt struct {
	ip      string // for logs
	user    string // normalized, at most MaxUserNameBytes
	tooLong bool
	keys    attemptKeys
}

func newAttempt(username string, remote net.Addr) attempt {
	user, tooLong := normalizeUser(username)
	return attempt{ip: remoteIP(remote), user: user, tooLong: tooLong, keys: newAttemptKeys(user, ipKey(remote))}
}

func (a *Authenticator) logRefused(at attempt, why refusal, mech string) {
	a.stats.throttled.Add(1)
	a.observe(mech, outcomeThrottled)
	a.log.Warn("auth refused: throttled", "ip", at.ip, "user", logName(at.user), "limit", string(why), "mech", mech)
}

func (a *Authenticator) logFailed(at attempt, mech string) {
	a.stats.failed.Add(1)
	a.observe(mech, outcomeFailed)
	a.log.Info("auth failed", "ip", at.ip, "user", logName(at.user), "mech", mech)
}

func (a *Authenticator) wait(ctx context.Context, at attempt, delay time.Duration, mech string) error {
	if delay <= 0 {
		return nil
	}
	a.log.Info("auth delayed: throttled", "ip", at.ip, "user", logName(at.user), "delay", delay, "mech", mech)
	return a.sleep(ctx, delay)
}

// Authenticate checks username (an email address) and password for a
// client at remote (may be nil). It returns the account, or
// ErrInvalidCredentials, ErrThrottled, or a store error.
func (a *Authenticator) Authenticate(ctx context.Context, username, password string, remote net.Addr) (store.Account, error) {
	at := newAttempt(username, remote)
	mech := mechanismOf(ctx, MechPassword)
	tk, why, delay, err := a.th.admit(ctx, at.keys, a.now)
	if err != nil {
		return store.Account{}, err
	}
	if why != "" {
		a.logRefused(at, why, mech)
		return store.Account{}, ErrThrottled
	}
	settled := false
	defer func() {
		if !settled {
			a.th.cancel(tk, a.now())
		}
	}()
	if err := a.wait(ctx, at, delay, mech); err != nil {
		return store.Account{}, err
	}
	fail := func() (store.Account, error) {
		settled = true
		a.th.settle(tk, false, a.now())
		a.logFailed(at, mech)
		return store.Account{}, ErrInvalidCredentials
	}
	if at.tooLong {
		return fail()
	}

	acct, err := a.accounts.AccountByEmail(ctx, at.user)
	hash := acct.PasswordHash
	if errors.Is(err, store.ErrNotFound) {
		hash = a.dummyHash
	} else if err != nil {
		return store.Account{}, err
	}
	var tag [32]byte
	cached := false
	if err == nil && a.cache != nil {
		tag = a.cache.tag(acct.ID, at.user, password, acct.PasswordHash)
		cached = a.cache.hit(tag, a.now())
	}
	if !cached {
		ok, verr := a.verifyBounded(ctx, hash, password)
		if cerr := ctx.Err(); cerr != nil && errors.Is(verr, cerr) {
			return store.Account{}, verr
		}
		if verr != nil {
			a.log.Error("unreadable password hash", "user", logName(at.user), "err", verr)
		}
		if err != nil || !ok {
			return fail()
		}
		if a.cache != nil {
			a.cache.add(tag, a.now())
		}
	}
	settled = true
	a.th.settle(tk, true, a.now())
	a.stats.succeeded.Add(1)
	a.observe(mech, outcomeSucceeded)
	return acct, nil
}

// verifyBounded runs a.verify once a slot is free: at most
// GOMAXPROCS argon2id checks run at once, the rest queue here (in the
// order the runtime wakes them) until their context ends, so a login
// storm takes the cores it has and no more memory, and leaves delivery
// and IMAP sessions their share of the scheduler.
func (a *Authenticator) verifyBounded(ctx context.Context, hash, password string) (bool, error) {
	select {
	case a.verifySlots <- struct{}{}:
	case <-ctx.Done():
		return false, ctx.Err()
	}
	defer func() { <-a.verifySlots }()
	return a.verify(hash, password)
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
