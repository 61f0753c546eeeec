package config

import (
	"errors"
	"fmt"
	"time"
)

// Outbound configures sending to other domains (package queue) and the
// checks on inbound mail. It is embedded in Config, so its keys are
// top-level (relay_host, dns_server, …) plus the [queue] table.
type Outbound struct {
	// RelayHost ("host:port") sends all outbound mail through a smarthost
	// instead of delivering to MX hosts; RelayUser/RelayPassword
	// authenticate to it (AUTH PLAIN) when RelayUser is set.
	RelayHost     string `toml:"relay_host"`
	RelayUser     string `toml:"relay_user"`
	RelayPassword string `toml:"relay_password"`
	// DNSServer ("host[:port]") is the resolver for MX, SPF, DKIM and
	// DMARC lookups; "" uses the system's.
	DNSServer string `toml:"dns_server"`
	// DMARCRejectAction is what the MX listener does with mail failing
	// DMARC under p=reject: "reject" (550 5.7.1) or "quarantine" (Junk).
	DMARCRejectAction string `toml:"dmarc_reject_action"`

	Queue Queue `toml:"queue"`
}

// Queue tunes the outbound queue.
type Queue struct {
	// RetrySchedule is the wait after the 1st, 2nd, … failed attempt; the
	// last entry repeats until Lifetime has passed.
	RetrySchedule []Duration `toml:"retry_schedule"`
	Lifetime      Duration   `toml:"lifetime"`      // then the sender gets a DSN
	PollInterval  Duration   `toml:"poll_interval"` // how often the queue is scanned
	Workers       int        `toml:"workers"`       // messages delivered at once
	PerDomain     int        `toml:"per_domain"`    // connections at once per destination
	// Lease is how long a node's claim on a queued message lasts without
	// renewal (renewed every quarter of it while delivering): a crashed
	// node's messages move to another node after about this long.
	Lease Duration `toml:"lease"`
	// MTASTS honours destination domains' MTA-STS policies (RFC 8461) in
	// MX delivery: with mode enforce, only listed MX hosts, over STARTTLS
	// with a verified certificate. A relay_host bypasses it.
	MTASTS bool `toml:"mta_sts"`
}

// DefaultOutbound is the default: MX delivery, system DNS, retries over 5
// days.
func DefaultOutbound() Outbound {
	var sched []Duration
	for _, m := range []int{5, 10, 20, 40, 80, 160, 300, 480} {
		sched = append(sched, Duration{time.Duration(m) * time.Minute})
	}
	return Outbound{
		DMARCRejectAction: "reject",
		Queue: Queue{
			RetrySchedule: sched,
			Lifetime:      Duration{5 * 24 * time.Hour},
			PollInterval:  Duration{time.Minute},
			Workers:       8,
			PerDomain:     2,
			Lease:         Duration{2 * time.Minute},
			MTASTS:        true,
		},
	}
}

func (o *Outbound) validate() []error {
	var errs []error
	switch o.DMARCRejectAction {
	case "reject", "quarantine":
	default:
		errs = append(errs, fmt.Errorf("dmarc_reject_action %q: want reject or quarantine", o.DMARCRejectAction))
	}
	q := o.Queue
	if len(q.RetrySchedule) == 0 {
		errs = append(errs, errors.New("queue.retry_schedule must not be empty"))
	}
	for _, d := range q.RetrySchedule {
		if d.Duration <= 0 {
			errs = append(errs, errors.New("queue.retry_schedule entries must be positive"))
			break
		}
	}
	if q.Lifetime.Duration <= 0 || q.PollInterval.Duration <= 0 {
		errs = append(errs, errors.New("queue.lifetime and queue.poll_interval must be positive"))
	}
	if q.Workers <= 0 || q.PerDomain <= 0 {
		errs = append(errs, errors.New("queue.workers and queue.per_domain must be positive"))
	}
	if q.Lease.Duration < 10*time.Second {
		errs = append(errs, errors.New("queue.lease must be at least 10s (it is renewed every quarter of it)"))
	}
	return errs
}
