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
