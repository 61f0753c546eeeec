// Package dnsbl checks a client IP address against DNS blocklists (RFC
// 5782): the address reversed (IPv4 octets, IPv6 nibbles) under each
// zone, an A record 127.0.0.x meaning "listed", its TXT the reason. Allow
// zones (DNSWL) are asked first: a client listed in one is not checked
// further. Each blocking zone has an action: reject (the SMTP server
// answers 554 5.7.1 with the zone's TXT) or header (a field added to the
// message, for filters and Sieve to score). Answers are cached for their
// DNS TTL (negative answers for the SOA's negative TTL), in a bounded
// cache. It knows no SMTP: the SMTP adapter asks Check and maps the
// result.
package dnsbl

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// Action is what a listing in a blocking zone means.
type Action int

const (
	Reject Action = iota // 554 5.7.1 with the zone's TXT
	Header               // add a header field, accept
)

// Zone is one blocklist.
type Zone struct {
	Name   string // e.g. "zen.spamhaus.org"
	Action Action
}

// Resolver looks up A and TXT records with their TTL. A name that does
// not exist (NXDOMAIN, or no such record) is no error: nil records and
// the negative-caching TTL. Errors are temporary failures (timeouts,
// SERVFAIL) and are not cached.
type Resolver interface {
	LookupA(ctx context.Context, name string) ([]netip.Addr, time.Duration, error)
	LookupTXT(ctx context.Context, name string) ([]string, time.Duration, error)
}

// Defaults for Config.
const (
	DefaultMaxCacheEntries = 10000
	DefaultTimeout         = 5 * time.Second
	// maxTTL caps what a zone may ask us to cache; minTTL avoids
	// asking again for every connection of a burst.
	maxTTL = 24 * time.Hour
	minTTL = 30 * time.Second
	// maxText bounds the reason taken from a zone's TXT.
	maxText = 200
)

// Config configures a Checker.
type Config struct {
	Zones      []Zone   // blocking zones, in order
	AllowZones []string // allow zones: listed clients skip the blocking zones
	Resolver   Resolver
	Logger     *slog.Logger     // default slog.Default()
	Now        func() time.Time // default time.Now
	// MaxCacheEntries bounds the cached answers (one per zone, IP and
	// record type); default DefaultMaxCacheEntries.
	MaxCacheEntries int
	// Timeout bounds all lookups of one Check; default DefaultTimeout.
	Timeout time.Duration
}

// Result is the outcome of a Check.
type Result struct {
	// Reject is the listing that refuses the client; nil if none.
	Reject *Listing
	// Headers lists the listings in header zones.
	Headers []Listing
	// Allowed names the allow zone that listed the client ("" none).
	Allowed string
}

// Listing is one zone's listing of the client.
type Listing struct {
	Zone   string
	IP     netip.Addr // the client
	Answer netip.Addr // the zone's A record (127.0.0.x)
	Text   string     // the zone's TXT, printable ASCII, at most maxText bytes; may be ""
}

// Error is the text of a reject reply, as Postfix words it.
func (l *Listing) Error() string {
	s := fmt.Sprintf("Service unavailable; client [%s] blocked using %s", l.IP, l.Zone)
	if l.Text != "" {
		s += "; " + l.Text
	}
	return s
}

// HeaderField is the header field (without CRLF) that a header zone's
// listing adds.
func (l Listing) HeaderField() string {
	return fmt.Sprintf("X-Mailroom-DNSBL: %s listed in %s (%s)", l.IP, l.Zone, l.Answer)
}

// Checker checks clients. It is safe for concurrent use.
type Checker struct {
	cfg   Config
	log   *slog.Logger
	mu    sync.Mutex
	cache map[cacheKey]cacheEntry
}

type cacheKey struct {
	name string
	txt  bool
}

type cacheEntry struct {
	addrs   []netip.Addr
	txt     []string
	expires time.Time
}

// New returns a Checker; Resolver is required.
func New(cfg Config) (*Checker, error) {
	if cfg.Resolver == nil {
		return nil, errors.New("dnsbl: no resolver")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxCacheEntries <= 0 {
		cfg.MaxCacheEntries = DefaultMaxCacheEntries
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	for _, z := range cfg.Zones {
		if err := checkZone(z.Name); err != nil {
			return nil, err
		}
	}
	for _, z := range cfg.AllowZones {
		if err := checkZone(z); err != nil {
			return nil, err
		}
	}
	return &Checker{cfg: cfg, log: cfg.Logger, cache: make(map[cacheKey]cacheEntry)}, nil
}

// checkZone refuses what cannot be a DNS zone name.
func checkZone(z string) error {
	if z == "" || len(z) > 200 || strings.HasPrefix(z, ".") || strings.HasSuffix(z, ".") || strings.Contains(z, "..") {
		return fmt.Errorf("dnsbl: bad zone %q", z)
	}
	for i := 0; i < len(z); i++ {
		c := z[i]
		if !(c == '.' || c == '-' || c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return fmt.Errorf("dnsbl: bad zone %q", z)
		}
	}
	return nil
}

// Reverse returns the DNSBL query label of ip: IPv4 octets or IPv6
// nibbles in reverse order (RFC 5782 §2.1, §2.4), without the zone.
func Reverse(ip netip.Addr) string {
	ip = ip.Unmap()
	if ip.Is4() {
		b := ip.As4()
		return fmt.Sprintf("%d.%d.%d.%d", b[3], b[2], b[1], b[0])
	}
	b := ip.As16()
	const hex = "0123456789abcdef"
	out := make([]byte, 0, 63)
	for i := len(b) - 1; i >= 0; i-- {
		if len(out) > 0 {
			out = append(out, '.')
		}
		out = append(out, hex[b[i]&0xf], '.', hex[b[i]>>4])
	}
	return string(out)
}

// Check looks ip up in the allow zones, then the blocking zones in
// order, stopping at the first reject. A zone that fails to answer is
// skipped with a log line (fail open: a DNS outage must not stop mail).
func (c *Checker) Check(ctx context.Context, ip net.IP) Result {
	var res Result
	addr, ok := netip.AddrFromSlice(ip)
	if !ok {
		return res
	}
	addr = addr.Unmap()
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	rev := Reverse(addr)
	for _, z := range c.cfg.AllowZones {
		if _, ok := c.listed(ctx, rev+"."+z); ok {
			res.Allowed = z
			return res
		}
	}
	for _, z := range c.cfg.Zones {
		a, ok := c.listed(ctx, rev+"."+z.Name)
		if !ok {
			continue
		}
		l := Listing{Zone: z.Name, IP: addr, Answer: a, Text: c.text(ctx, rev+"."+z.Name)}
		if z.Action == Reject {
			res.Reject = &l
			return res
		}
		res.Headers = append(res.Headers, l)
	}
	return res
}

// listed reports whether name has an A record in 127.0.0.0/8 (RFC 5782
// §2.3: other answers are not listings, e.g. a zone's error codes
// outside it are ignored).
func (c *Checker) listed(ctx context.Context, name string) (netip.Addr, bool) {
	e, err := c.lookup(ctx, cacheKey{name: name})
	if err != nil {
		c.log.Warn("dnsbl: lookup failed", "name", name, "err", err)
		return netip.Addr{}, false
	}
	for _, a := range e.addrs {
		if a.Is4() && a.As4()[0] == 127 {
			return a, true
		}
	}
	return netip.Addr{}, false
}

// text returns the zone's reason for a listing, printable, bounded.
func (c *Checker) text(ctx context.Context, name string) string {
	e, err := c.lookup(ctx, cacheKey{name: name, txt: true})
	if err != nil || len(e.txt) == 0 {
		return ""
	}
	var b strings.Builder
	for _, r := range strings.Join(e.txt, " ") {
		if b.Len() >= maxText {
			break
		}
		if r < ' ' || r > '~' {
			r = ' '
		}
		b.WriteRune(r)
	}
	return strings.TrimSpace(b.String())
}

func (c *Checker) lookup(ctx context.Context, k cacheKey) (cacheEntry, error) {
	now := c.cfg.Now()
	c.mu.Lock()
	e, ok := c.cache[k]
	c.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e, nil
	}
	var ttl time.Duration
	var err error
	e = cacheEntry{}
	if k.txt {
		e.txt, ttl, err = c.cfg.Resolver.LookupTXT(ctx, k.name)
	} else {
		e.addrs, ttl, err = c.cfg.Resolver.LookupA(ctx, k.name)
	}
	if err != nil {
		return e, err
	}
	e.expires = now.Add(min(max(ttl, minTTL), maxTTL))
	c.mu.Lock()
	if len(c.cache) >= c.cfg.MaxCacheEntries {
		c.evict(now)
	}
	c.cache[k] = e
	c.mu.Unlock()
	return e, nil
}

// evict drops expired entries and, if the cache is still full, an
// arbitrary tenth of it. Called with mu held.
func (c *Checker) evict(now time.Time) {
	for k, e := range c.cache {
		if !now.Before(e.expires) {
			delete(c.cache, k)
		}
	}
	n := len(c.cache) - c.cfg.MaxCacheEntries*9/10
	for k := range c.cache {
		if n <= 0 {
			break
		}
		delete(c.cache, k)
		n--
	}
}

// cached is the number of cached answers (tests).
func (c *Checker) cached() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.cache)
}
