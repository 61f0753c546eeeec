package auth

import (
	"context"
	"sync/atomic"
	"time"
)

// counters are the Authenticator's metrics, for the metrics endpoint.
type counters struct {
	succeeded, failed, throttled atomic.Uint64
}

// Stats are cumulative authentication counters across every protocol and
// mechanism.
type Stats struct {
	Succeeded uint64 // logins
	Failed    uint64 // wrong password, unknown user, failed SCRAM proof
	Throttled uint64 // attempts refused with ErrThrottled
}

// Stats returns the counters.
func (a *Authenticator) Stats() Stats {
	return Stats{
		Succeeded: a.stats.succeeded.Load(),
		Failed:    a.stats.failed.Load(),
		Throttled: a.stats.throttled.Load(),
	}
}

// WithSleep replaces how the Authenticator waits out a throttling delay
// (default: a timer honouring ctx), so that tests and simulations can run
// many failures without waiting. It returns a.
func (a *Authenticator) WithSleep(sleep func(context.Context, time.Duration) error) *Authenticator {
	a.sleep = sleep
	return a
}

// Outcomes a LoginObserver hears.
const (
	outcomeSucceeded = "succeeded"
	outcomeFailed    = "failed"
	outcomeThrottled = "throttled"
)

// LoginObserver hears the outcome ("succeeded", "failed", "throttled") of
// every login attempt with the protocol the Authenticator was made for
// (ForProtocol) and the mechanism family: PLAIN for every password login
// (SASL PLAIN and LOGIN, IMAP LOGIN, POP3 USER/PASS), SCRAM-SHA-256 for
// SCRAM with or without channel binding.
type LoginObserver interface {
	Login(protocol, mechanism, outcome string)
}

// WithObserver makes a report every login outcome to o. It returns a;
// call it before use and before ForProtocol.
func (a *Authenticator) WithObserver(o LoginObserver) *Authenticator {
	a.observer = o
	return a
}

// ForProtocol returns an Authenticator that shares a's accounts,
// throttling and counters and reports its logins to the observer under
// protocol ("smtp", "imap", ...).
func (a *Authenticator) ForProtocol(protocol string) *Authenticator {
	c := *a
	c.protocol = protocol
	return &c
}

// MechPassword labels a login by command with a plain password, not SASL:
// IMAP LOGIN, POP3 USER/PASS.
const MechPassword = "password"

type mechKey struct{}

// WithMechanism tells Authenticate (and the SCRAM lookup) which mechanism
// a login arrives by, for its log lines and the login metrics: a SASL
// mechanism name (PLAIN, LOGIN, SCRAM-SHA-256, SCRAM-SHA-256-PLUS).
// Without it a password login counts as MechPassword.
func WithMechanism(ctx context.Context, mech string) context.Context {
	return context.WithValue(ctx, mechKey{}, upper(mech))
}

// mechanismOf is the mechanism WithMechanism put in ctx, else def.
func mechanismOf(ctx context.Context, def string) string {
	if m, ok := ctx.Value(mechKey{}).(string); ok && m != "" {
		return m
	}
	return def
}

func (a *Authenticator) observe(mech, outcome string) {
	if a.observer != nil {
		a.observer.Login(a.protocol, mech, outcome)
	}
}
