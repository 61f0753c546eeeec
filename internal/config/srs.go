package config

import (
	"errors"
	"strings"
	"time"
)

// SRS is the [srs] table: the Sender Rewriting Scheme for mail
// forwarded to other domains (remote alias targets, Sieve redirects).
type SRS struct {
	// Enabled rewrites the envelope sender of forwarded mail into
	// Domain and accepts bounces to the rewritten addresses (default
	// true). Off, forwarded mail keeps its original sender and SPF may
	// fail at the next hop.
	Enabled bool `toml:"enabled"`
	// Domain of the rewritten addresses; "" is hostname. Its SPF record
	// must allow this server, and its MX must reach it, for bounces.
	Domain string `toml:"domain"`
	// Keys are the HMAC secrets: the first signs, all verify (rotation:
	// put a new key first, remove the old one after max_age). Empty
	// uses <data>/srs.key, generated on first use; several nodes that
	// share a database need the same keys here.
	Keys []string `toml:"keys"`
	// MaxAge is how long a rewritten address accepts bounces (default
	// 21 days, at most 1000 days: the timestamp wraps after 1024).
	MaxAge Duration `toml:"max_age"`
}

// DefaultSRS is SRS on, addresses valid for 21 days.
func DefaultSRS() SRS {
	return SRS{Enabled: true, MaxAge: Duration{21 * 24 * time.Hour}}
}

func (s *SRS) validate() []error {
	var errs []error
	if d := s.MaxAge.Duration; d < 24*time.Hour || d > 1000*24*time.Hour {
		errs = append(errs, errors.New("srs.max_age must be between 24h and 24000h (1000 days)"))
	}
	if strings.ContainsAny(s.Domain, "@= \t") {
		errs = append(errs, errors.New("srs.domain must be a domain name"))
	}
	for _, k := range s.Keys {
		if len(k) < 16 {
			errs = append(errs, errors.New("srs.keys: every key must be at least 16 characters"))
			break
		}
	}
	return errs
}
