package config

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"time"

	"github.com/mailroom/mailroom/dnsbl"
)

// DNSBL is the [dnsbl] table: DNS blocklists checked for unauthenticated
// MX clients at their first MAIL. Default: none.
type DNSBL struct {
	// Zones refuse a listed client: 554 5.7.1 with the zone's TXT.
	Zones []string `toml:"zones"`
	// HeaderZones only add an X-Mailroom-DNSBL field for a listed
	// client (for milters and Sieve to score).
	HeaderZones []string `toml:"header_zones"`
	// AllowZones (DNSWL): a client listed in one is not checked in the
	// other zones.
	AllowZones []string `toml:"allow_zones"`
	// CacheEntries bounds the cached answers; default 10000.
	CacheEntries int `toml:"cache_entries"`
	// Timeout bounds the lookups for one client; default 5s.
	Timeout Duration `toml:"timeout"`
}

// maxDNSBLZones bounds each list of zones.
const maxDNSBLZones = 16

func (d *DNSBL) validate() []error {
	var errs []error
	for key, zs := range map[string][]string{"zones": d.Zones, "header_zones": d.HeaderZones, "allow_zones": d.AllowZones} {
		if len(zs) > maxDNSBLZones {
			errs = append(errs, fmt.Errorf("dnsbl.%s: %d zones, at most %d", key, len(zs), maxDNSBLZones))
		}
	}
	if d.CacheEntries < 0 || d.CacheEntries > 10_000_000 {
		errs = append(errs, fmt.Errorf("dnsbl.cache_entries must be between 0 (default) and 10000000"))
	}
	if t := d.Timeout.Duration; t < 0 || t > time.Minute {
		errs = append(errs, fmt.Errorf("dnsbl.timeout must be between 0 (default) and 1m"))
	}
	if _, err := d.checker(nopResolver{}, nil); err != nil {
		errs = append(errs, err)
	}
	return errs
}

// Enabled reports whether any blocking zone is configured.
func (d *DNSBL) Enabled() bool { return len(d.Zones)+len(d.HeaderZones) > 0 }

// Checker builds the blocklist checker over r; nil when no blocking
// zone is configured.
func (d *DNSBL) Checker(r dnsbl.Resolver, log *slog.Logger) (*dnsbl.Checker, error) {
	if !d.Enabled() {
		return nil, nil
	}
	return d.checker(r, log)
}

func (d *DNSBL) checker(r dnsbl.Resolver, log *slog.Logger) (*dnsbl.Checker, error) {
	var zones []dnsbl.Zone
	for _, z := range d.Zones {
		zones = append(zones, dnsbl.Zone{Name: z, Action: dnsbl.Reject})
	}
	for _, z := range d.HeaderZones {
		zones = append(zones, dnsbl.Zone{Name: z, Action: dnsbl.Header})
	}
	return dnsbl.New(dnsbl.Config{
		Zones: zones, AllowZones: d.AllowZones, Resolver: r, Logger: log,
		MaxCacheEntries: d.CacheEntries, Timeout: d.Timeout.Duration,
	})
}

// nopResolver lets validate build a checker to check the zone names.
type nopResolver struct{}

func (nopResolver) LookupA(context.Context, string) ([]netip.Addr, time.Duration, error) {
	return nil, 0, nil
}

func (nopResolver) LookupTXT(context.Context, string) ([]string, time.Duration, error) {
	return nil, 0, nil
}

// Greylist is the [greylist] table (off by default): unauthenticated MX
// clients' first attempt of a triplet (client /24 or /64, sender,
// recipient) gets 451 4.7.1; a retry after Delay is accepted.
type Greylist struct {
	Enabled bool     `toml:"enabled"`
	Delay   Duration `toml:"delay"`  // default 5m
	Expire  Duration `toml:"expire"` // a triplet unused this long starts over; default 840h (35 days)
	// AutoAllow lets a client network skip greylisting once its
	// triplets passed this many times; 0 never, else at least 2;
	// default 5.
	AutoAllow int `toml:"auto_allow"`
}

// DefaultGreylist is [greylist]'s defaults (postgrey's).
func DefaultGreylist() Greylist {
	return Greylist{Delay: Duration{5 * time.Minute}, Expire: Duration{35 * 24 * time.Hour}, AutoAllow: 5}
}

func (g *Greylist) validate() []error {
	var errs []error
	if d := g.Delay.Duration; d < 0 || d > 24*time.Hour {
		errs = append(errs, fmt.Errorf("greylist.delay must be between 0 and 24h"))
	}
	if e := g.Expire.Duration; e < time.Hour || e > 365*24*time.Hour {
		errs = append(errs, fmt.Errorf("greylist.expire must be between 1h and 8760h"))
	}
	if g.AutoAllow < 0 || g.AutoAllow == 1 || g.AutoAllow > 1000 {
		errs = append(errs, fmt.Errorf("greylist.auto_allow must be 0 (never) or between 2 and 1000"))
	}
	return errs
}
