package main

import (
	"log/slog"

	"github.com/mailroom/mailroom/auth"
	"github.com/mailroom/mailroom/internal/metrics"
)

// counters is the SIGUSR1 (and shutdown) log line: authentication totals
// and, per listener, the connection counters the metrics endpoint exposes
// too (one source: the listeners registered with metrics.Metrics).
type counters struct {
	auth    *auth.Authenticator
	metrics *metrics.Metrics
}

// snapshot returns every counter as flat name/value pairs:
// auth_succeeded, auth_failed, auth_throttled and, per listener,
// <name>_active, <name>_accepted, <name>_refused.
func (c *counters) snapshot() map[string]uint64 {
	a := c.auth.Stats()
	m := map[string]uint64{
		"auth_succeeded": a.Succeeded,
		"auth_failed":    a.Failed,
		"auth_throttled": a.Throttled,
	}
	for name, s := range c.metrics.Listeners() {
		m[name+"_active"] = uint64(s.Active)
		m[name+"_accepted"] = s.Accepted
		m[name+"_refused"] = s.Refused
	}
	return m
}

// log writes the counters as one log line.
func (c *counters) log(log *slog.Logger, msg string) {
	snap := c.snapshot()
	attrs := make([]any, 0, 2*len(snap))
	for k, v := range snap {
		attrs = append(attrs, slog.Uint64(k, v))
	}
	log.Info(msg, attrs...)
}
