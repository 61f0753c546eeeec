package auth

import (
	"context"
	"crypto/sha256"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Limits configures how failed logins are throttled (config [limits]
// login_*). Zero fields get the defaults.
//
// Failures are counted per client IP (an IPv6 client by its /64), per
// account (only failures from IPs that are not known-good for it), and per
// (account, IP) pair. An IP is known-good for an account for
// knownGoodTTL after a successful login from it; attempts from a
// known-good IP are judged only by that pair's own failures and are never
// delayed, so a guesser elsewhere can neither lock the real user out nor
// slow them down (the scheme of Dovecot's auth_penalty and mox's per-IP
// limits, plus a per-account cap for distributed guessing).
type Limits struct {
	// FailuresPerIP is how many failed logins one client IP may have
	// within Window before its further attempts are refused; the same
	// bound applies to one account from one known-good IP. Default 30.
	FailuresPerIP int
	// FailuresPerAccount caps failed logins for one account from IPs
	// that are not known-good for it within Window, however many IPs
	// they come from; past it such IPs are refused for that account
	// while known-good IPs log in as usual. Default 30.
	FailuresPerAccount int
	// Window is how long a failure counts. Default 15 minutes.
	Window time.Duration
}

// Defaults for Limits.
const (
	DefaultFailuresPerIP      = 30
	DefaultFailuresPerAccount = 30
	DefaultFailureWindow      = 15 * time.Minute
)

// Throttling constants that need no configuration.
const (
	freeFailures = 3 // failures (per IP, per account) before any delay
	baseDelay    = 250 * time.Millisecond
	maxDelay     = 8 * time.Second

	// knownGoodTTL is how long a successful login makes its IP known-good
	// for the account.
	knownGoodTTL = 30 * 24 * time.Hour

	// maxThrottleEntries bounds the failure counters (IPs, accounts and
	// pairs, 16-byte keys, about 100 bytes each) and maxKnownGood the
	// known-good pairs. When full, expired entries go first, then
	// arbitrary ones.
	maxThrottleEntries = 100_000
	maxKnownGood       = 100_000

	// MaxUserNameBytes bounds a user name before anything is looked up
	// or remembered: longer names fail like a wrong password, without a
	// store lookup (RFC 5321 §4.5.3.1.3 bounds a path, and so an email
	// address, to 256 octets).
	MaxUserNameBytes = 256
	// logNameBytes is how much of a user name a log line shows.
	logNameBytes = 64

	// maxBusyWait bounds how long an attempt waits for one of the attempts
	// in flight to settle when, counting them as failures, they fill a limit: the
	// limit counts only failures, so a client's parallel first logins
	// (mail clients open several IMAP connections at once) must not be
	// refused because they are in flight together.
	maxBusyWait = 30 * time.Second
)

func (l Limits) withDefaults() Limits {
	if l.FailuresPerIP <= 0 {
		l.FailuresPerIP = DefaultFailuresPerIP
	}
	if l.FailuresPerAccount <= 0 {
		l.FailuresPerAccount = DefaultFailuresPerAccount
	}
	if l.Window <= 0 {
		l.Window = DefaultFailureWindow
	}
	return l
}

// tkey is a fixed-size throttle key: a truncated SHA-256 of the kind and
// the values, so that a client's user name is never kept.
type tkey [16]byte

func keyOf(kind string, parts ...string) tkey {
	h := sha256.New()
	h.Write([]byte(kind))
	for _, p := range parts {
		h.Write([]byte{0})
		h.Write([]byte(p))
	}
	var k tkey
	copy(k[:], h.Sum(nil))
	return k
}

// attemptKeys are the counters one login attempt touches.
type attemptKeys struct {
	ip, account, pair tkey
}

func newAttemptKeys(user, ip string) attemptKeys {
	return attemptKeys{
		ip:      keyOf("ip", ip),
		account: keyOf("account", user),
		pair:    keyOf("pair", user, ip),
	}
}

type tcount struct {
	failed  int // failures within the window
	pending int // reserved attempts not settled yet (they may fail)
	last    time.Time
}

// throttle holds the failure counters. Checking and recording are one
// step under mu: an attempt reserves a slot before its password is
// verified, so parallel guesses can never exceed a limit.
type throttle struct {
	mu        sync.Mutex
	lim       Limits // guarded by mu (SetLimits)
	counts    map[tkey]*tcount
	good      map[tkey]time.Time // pair -> last successful login
	lastSweep time.Time
	// settled is closed, and replaced, whenever a reservation is
	// released: attempts waiting for room wait on it.
	settled chan struct{}
}

func newThrottle(lim Limits) *throttle {
	return &throttle{
		lim:     lim.withDefaults(),
		counts:  make(map[tkey]*tcount),
		good:    make(map[tkey]time.Time),
		settled: make(chan struct{}),
	}
}

// ticket is a reservation made by admit, settled by settle or cancel.
type ticket struct {
	keys attemptKeys
	good bool // judged as a known-good pair: only the pair counter is used
}

// refusal names the limit that refused an attempt (for the log).
type refusal string

const (
	refuseIP      refusal = "ip"
	refuseAccount refusal = "account"
	refusePair    refusal = "account+ip"
)

// count returns k's live counter, creating it when create is set; an
// expired one is reset.
func (t *throttle) count(k tkey, now time.Time, create bool) *tcount {
	c := t.counts[k]
	if c != nil && c.pending == 0 && now.Sub(c.last) > t.lim.Window {
		c.failed = 0
	}
	if c == nil && create {
		t.makeRoom(now)
		c = &tcount{last: now}
		t.counts[k] = c
	}
	return c
}

// used counts failures and the attempts in flight, which may fail.
func (c *tcount) used() int {
	if c == nil {
		return 0
	}
	return c.failed + c.pending
}

// fails counts failures only.
func (c *tcount) fails() int {
	if c == nil {
		return 0
	}
	return c.failed
}

func (t *throttle) isGood(k tkey, now time.Time) bool {
	at, ok := t.good[k]
	if ok && now.Sub(at) > knownGoodTTL {
		delete(t.good, k)
		return false
	}
	return ok
}

// judge decides an attempt under t.mu: the refusal, if any (the failures
// alone reach a limit); busy when they do not but together with the
// attempts in flight they do, so that the attempt must wait for those to
// settle before it may reserve a slot; and the delay an unknown IP waits
// before its password is checked (from its failures, not from attempts
// in flight, which may well succeed).
func (t *throttle) judge(k attemptKeys, now time.Time) (good bool, why refusal, busy bool, delay time.Duration) {
	if t.isGood(k.pair, now) {
		c := t.count(k.pair, now, false)
		switch {
		case c.fails() >= t.lim.FailuresPerIP:
			return true, refusePair, false, 0
		case c.used() >= t.lim.FailuresPerIP:
			return true, "", true, 0
		}
		return true, "", false, 0
	}
	ip := t.count(k.ip, now, false)
	acct := t.count(k.account, now, false)
	switch {
	case ip.fails() >= t.lim.FailuresPerIP:
		return false, refuseIP, false, 0
	case acct.fails() >= t.lim.FailuresPerAccount:
		return false, refuseAccount, false, 0
	case ip.used() >= t.lim.FailuresPerIP || acct.used() >= t.lim.FailuresPerAccount:
		return false, "", true, 0
	}
	if worst := max(ip.fails(), acct.fails()); worst >= freeFailures {
		delay = min(baseDelay<<min(worst-freeFailures, 10), maxDelay)
	}
	return false, "", false, delay
}

// busyRefusal is the limit a busy attempt that waited in vain reports.
func (t *throttle) busyRefusal(k attemptKeys, good bool, now time.Time) refusal {
	switch {
	case good:
		return refusePair
	case t.count(k.ip, now, false).used() >= t.lim.FailuresPerIP:
		return refuseIP
	}
	return refuseAccount
}

// admitLocked judges an attempt and, unless it is refused or must wait
// (busy), reserves a slot in each counter it is judged by. With busy it
// returns the channel to wait on.
func (t *throttle) admitLocked(k attemptKeys, now time.Time) (tk ticket, why refusal, delay time.Duration, wait <-chan struct{}) {
	good, why, busy, delay := t.judge(k, now)
	tk = ticket{keys: k, good: good}
	if why != "" {
		return tk, why, 0, nil
	}
	if busy {
		return tk, "", 0, t.settled
	}
	for _, key := range tk.counted() {
		t.count(key, now, true).pending++
	}
	return tk, "", delay, nil
}

// reserve is admitLocked that waits, while the attempts in flight fill a
// limit, for them to settle: up to maxBusyWait without one settling (each
// settled attempt starts the wait again, so a long queue of parallel
// logins that keeps moving is not refused), or until ctx's end. An
// attempt that waited in vain is refused by the limit it waited for.
func (t *throttle) reserve(ctx context.Context, k attemptKeys, now func() time.Time) (ticket, refusal, time.Duration, error) {
	tm := time.NewTimer(maxBusyWait)
	defer tm.Stop()
	for {
		t.mu.Lock()
		tk, why, delay, wait := t.admitLocked(k, now())
		if wait == nil {
			t.mu.Unlock()
			return tk, why, delay, nil
		}
		t.mu.Unlock()
		select {
		case <-wait:
			tm.Reset(maxBusyWait) // progress: wait afresh
		case <-ctx.Done():
			return tk, "", 0, ctx.Err()
		case <-tm.C:
			t.mu.Lock()
			why := t.busyRefusal(k, tk.good, now())
			t.mu.Unlock()
			return tk, why, 0, nil
		}
	}
}

// check judges an attempt without reserving anything (SCRAM's first step).
func (t *throttle) check(k attemptKeys, now time.Time) (why refusal, delay time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	_, why, _, delay = t.judge(k, now)
	return why, delay
}

// admit judges an attempt and, unless refused, reserves a slot in each
// counter the attempt is judged by; the caller must settle or cancel it.
// It waits (reserve) while attempts in flight fill a limit.
func (t *throttle) admit(ctx context.Context, k attemptKeys, now func() time.Time) (ticket, refusal, time.Duration, error) {
	return t.reserve(ctx, k, now)
}

// counted lists the counters a ticket reserved in.
func (tk ticket) counted() []tkey {
	if tk.good {
		return []tkey{tk.keys.pair}
	}
	return []tkey{tk.keys.ip, tk.keys.account}
}

// settle records the outcome of an admitted attempt.
func (t *throttle) settle(tk ticket, ok bool, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.releaseLocked(tk, !ok, now)
	if ok {
		t.succeededLocked(tk.keys, now)
	}
}

// cancel releases an admitted attempt that ended without a verdict
// (store error, cancelled context); it counts as nothing.
func (t *throttle) cancel(tk ticket, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.releaseLocked(tk, false, now)
}

func (t *throttle) releaseLocked(tk ticket, failed bool, now time.Time) {
	for _, key := range tk.counted() {
		c := t.counts[key]
		if c == nil {
			continue // evicted while full; cannot happen with pending > 0
		}
		c.pending--
		if failed {
			if now.Sub(c.last) > t.lim.Window {
				c.failed = 0
			}
			c.failed++
			c.last = now
		}
	}
	close(t.settled)
	t.settled = make(chan struct{})
}

// decide judges and records a finished attempt in one step (SCRAM's final
// step, whose proof is already checked): the refusal, or "" after the
// outcome was recorded. Like admit it waits while attempts in flight fill
// a limit.
func (t *throttle) decide(ctx context.Context, k attemptKeys, ok bool, now func() time.Time) refusal {
	tk, why, _, err := t.reserve(ctx, k, now)
	if err != nil {
		return refuseIP
	}
	if why != "" {
		return why
	}
	t.settle(tk, ok, now())
	return ""
}

// succeededLocked makes the pair known-good and forgets only its own
// failures: the IP's and the account's stay, so a guesser who finds one
// password gets no fresh budget.
func (t *throttle) succeededLocked(k attemptKeys, now time.Time) {
	if c := t.counts[k.pair]; c != nil && c.pending == 0 {
		delete(t.counts, k.pair)
	}
	if _, ok := t.good[k.pair]; !ok && len(t.good) >= maxKnownGood {
		for g, at := range t.good {
			if now.Sub(at) > knownGoodTTL || len(t.good) >= maxKnownGood*3/4 {
				delete(t.good, g)
			}
		}
	}
	t.good[k.pair] = now
}

// makeRoom keeps the counters bounded: expired ones are dropped once per
// window and whenever the table is full; a table still full loses idle
// counters down to three quarters.
func (t *throttle) makeRoom(now time.Time) {
	full := len(t.counts) >= maxThrottleEntries
	if !full && now.Sub(t.lastSweep) < t.lim.Window {
		return
	}
	t.lastSweep = now
	for k, c := range t.counts {
		if c.pending == 0 && now.Sub(c.last) > t.lim.Window {
			delete(t.counts, k)
		}
	}
	for k, c := range t.counts {
		if len(t.counts) < maxThrottleEntries*3/4 {
			break
		}
		if c.pending == 0 {
			delete(t.counts, k)
		}
	}
}

// size reports the number of counters and known-good pairs (tests).
func (t *throttle) size() (counts, good int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.counts), len(t.good)
}

// ipKey is the client address that per-IP limits count: the IP, for IPv6
// its /64 (one host usually has a whole /64).
func ipKey(remote net.Addr) string {
	s := remoteIP(remote)
	ip := net.ParseIP(s)
	if ip == nil || ip.To4() != nil {
		return s
	}
	return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
}

// normalizeUser returns the account name a login attempt is for and
// whether the name was too long to be one; at most MaxUserNameBytes of it
// are looked at.
func normalizeUser(username string) (user string, tooLong bool) {
	if len(username) > MaxUserNameBytes {
		username, tooLong = username[:MaxUserNameBytes], true
	}
	return strings.ToLower(strings.TrimSpace(username)), tooLong
}

// logName is a user name as log lines show it: at most logNameBytes,
// control and non-ASCII characters escaped, the full length noted when
// cut.
func logName(name string) string {
	n := len(name)
	cut := n > logNameBytes
	if cut {
		name = name[:logNameBytes]
	}
	q := strconv.QuoteToASCII(name)
	q = q[1 : len(q)-1]
	if cut {
		q += "...(" + strconv.Itoa(n) + " bytes)"
	}
	return q
}
