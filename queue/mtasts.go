package queue

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// MTA-STS (RFC 8461): a destination domain publishes, over HTTPS, which MX
// hosts may receive its mail and whether they must be reached over TLS
// with a valid certificate. The queue looks for the policy before MX
// delivery (never for a RelayHost or an address literal), caches it until
// its max_age, and refetches it when the TXT record's id changes.

// stsMode is a policy's mode (RFC 8461 §3.2).
type stsMode string

const (
	stsNone         stsMode = ""        // no policy, or mode=none: opportunistic TLS
	stsTesting      stsMode = "testing" // deliver as without a policy, log what would fail
	stsEnforce      stsMode = "enforce" // only matching MX hosts, verified TLS, no fallback
	stsModeNone     stsMode = "none"    // as parsed; treated as stsNone
	stsMaxAge               = 31557600  // seconds, RFC 8461 §3.2
	stsMaxBody              = 64 << 10  // RFC 8461 §3.3 suggests 64 KiB
	stsFetchTimeout         = 20 * time.Second
	stsMaxCache             = 10000 // domains; expired ones are dropped beyond this
)

// stsPolicy is a parsed policy file (RFC 8461 §3.2).
type stsPolicy struct {
	mode   stsMode
	mx     []string // lower case; "*.example.net" matches one label
	maxAge time.Duration
}

// PolicyFetcher returns the body of https://mta-sts.<domain>/.well-known/mta-sts.txt.
type PolicyFetcher func(ctx context.Context, domain string) ([]byte, error)

// NewPolicyFetcher returns the fetcher RFC 8461 §3.3 describes, over
// client (nil: net/http with the system roots and a 20 s timeout): no
// redirects, a 200 text/plain answer of at most 64 KiB. url maps a domain
// to the policy URL; nil means the standard one.
func NewPolicyFetcher(client *http.Client, url func(domain string) string) PolicyFetcher {
	if client == nil {
		client = &http.Client{Timeout: stsFetchTimeout}
	}
	c := *client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if c.Timeout == 0 {
		c.Timeout = stsFetchTimeout
	}
	if url == nil {
		url = func(domain string) string { return "https://mta-sts." + domain + "/.well-known/mta-sts.txt" }
	}
	return func(ctx context.Context, domain string) ([]byte, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url(domain), nil)
		if err != nil {
			return nil, err
		}
		resp, err := c.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("policy fetch: HTTP status %d", resp.StatusCode)
		}
		if mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type")); err != nil || mt != "text/plain" {
			return nil, fmt.Errorf("policy fetch: content type %q, want text/plain", resp.Header.Get("Content-Type"))
		}
		b, err := io.ReadAll(io.LimitReader(resp.Body, stsMaxBody+1))
		if err != nil {
			return nil, err
		}
		if len(b) > stsMaxBody {
			return nil, errors.New("policy fetch: body larger than 64 KiB")
		}
		return b, nil
	}
}

// parseSTSRecord returns the id of a "v=STSv1; id=..." TXT record
// (RFC 8461 §3.1).
func parseSTSRecord(txt string) (id string, ok bool) {
	fields := strings.Split(txt, ";")
	if strings.TrimSpace(fields[0]) != "v=STSv1" {
		return "", false
	}
	for _, f := range fields[1:] {
		k, v, found := strings.Cut(strings.TrimSpace(f), "=")
		if !found || k != "id" {
			continue
		}
		if v == "" || len(v) > 32 || strings.IndexFunc(v, func(r rune) bool {
			return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9')
		}) >= 0 {
			return "", false
		}
		return v, true
	}
	return "", false
}

// parseSTSPolicy parses a policy file (RFC 8461 §3.2): "key: value" lines
// ending in LF or CRLF; unknown keys are ignored.
func parseSTSPolicy(b []byte) (*stsPolicy, error) {
	p := &stsPolicy{}
	var version, mode, maxAge bool
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSuffix(line, "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			return nil, fmt.Errorf("policy line %q has no colon", line)
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch k {
		case "version":
			if v != "STSv1" || version {
				return nil, fmt.Errorf("policy version %q", v)
			}
			version = true
		case "mode":
			if mode {
				return nil, errors.New("policy has two modes")
			}
			switch stsMode(v) {
			case stsEnforce, stsTesting, stsModeNone:
				p.mode = stsMode(v)
			default:
				return nil, fmt.Errorf("policy mode %q", v)
			}
			mode = true
		case "max_age":
			n, err := strconv.ParseUint(v, 10, 32)
			if err != nil || len(v) > 10 || n > stsMaxAge || maxAge {
				return nil, fmt.Errorf("policy max_age %q", v)
			}
			p.maxAge, maxAge = time.Duration(n)*time.Second, true
		case "mx":
			pat := strings.ToLower(strings.TrimSuffix(v, "."))
			if !validMXPattern(pat) {
				return nil, fmt.Errorf("policy mx %q", v)
			}
			p.mx = append(p.mx, pat)
		}
	}
	switch {
	case !version:
		return nil, errors.New("policy has no version")
	case !mode:
		return nil, errors.New("policy has no mode")
	case !maxAge:
		return nil, errors.New("policy has no max_age")
	case len(p.mx) == 0 && p.mode != stsModeNone:
		return nil, errors.New("policy has no mx")
	}
	return p, nil
}

func validMXPattern(p string) bool {
	p = strings.TrimPrefix(p, "*.")
	if p == "" || len(p) > 253 {
		return false
	}
	for _, label := range strings.Split(p, ".") {
		if label == "" || len(label) > 63 || strings.IndexFunc(label, func(r rune) bool {
			return !('a' <= r && r <= 'z' || '0' <= r && r <= '9' || r == '-' || r == '_')
		}) >= 0 {
			return false
		}
	}
	return true
}

// allows reports whether host matches one of the policy's mx patterns; a
// wildcard stands for exactly one label (RFC 8461 §4.1).
func (p *stsPolicy) allows(host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	for _, pat := range p.mx {
		if rest, ok := strings.CutPrefix(pat, "*."); ok {
			label, parent, found := strings.Cut(host, ".")
			if found && label != "" && parent == rest {
				return true
			}
		} else if host == pat {
			return true
		}
	}
	return false
}

// stsCache holds fetched policies per domain (RFC 8461 §5.1).
type stsCache struct {
	mu sync.Mutex
	m  map[string]stsEntry
}

type stsEntry struct {
	id      string
	pol     *stsPolicy
	expires time.Time
}

func (c *stsCache) get(domain string, now time.Time) (stsEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[domain]
	if ok && !now.Before(e.expires) {
		delete(c.m, domain)
		return stsEntry{}, false
	}
	return e, ok
}

func (c *stsCache) put(domain string, e stsEntry, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]stsEntry{}
	}
	if len(c.m) >= stsMaxCache {
		for d, old := range c.m {
			if !now.Before(old.expires) {
				delete(c.m, d)
			}
		}
	}
	if len(c.m) < stsMaxCache {
		c.m[domain] = e
	}
}

// stsPolicyFor returns domain's policy, nil when it has none (or mode
// none), or when discovery or the fetch failed and nothing valid is
// cached: then delivery is opportunistic as without MTA-STS.
func (q *Queue) stsPolicyFor(ctx context.Context, domain string) *stsPolicy {
	if q.cfg.DisableMTASTS {
		return nil
	}
	domain = strings.ToLower(strings.TrimSuffix(domain, "."))
	now := q.cfg.Now()
	cached, haveCached := q.sts.get(domain, now)
	txts, err := q.cfg.Resolver.LookupTXT(ctx, "_mta-sts."+domain)
	var id string
	n := 0
	for _, t := range txts {
		if i, ok := parseSTSRecord(t); ok {
			id = i
			n++
		} else if strings.HasPrefix(t, "v=STSv1") {
			n++ // a malformed STS record counts (§3.1: exactly one)
		}
	}
	if err != nil || n != 1 || id == "" {
		if err != nil && !isNotFound(err) {
			q.log.Info("queue: MTA-STS record lookup failed", "domain", domain, "err", err)
		}
		return cached.effective(haveCached) // §5.1: a cached policy stays valid
	}
	if haveCached && cached.id == id {
		return cached.effective(true)
	}
	body, err := q.cfg.PolicyFetcher(ctx, domain)
	var pol *stsPolicy
	if err == nil {
		pol, err = parseSTSPolicy(body)
	}
	if err != nil {
		q.log.Warn("queue: MTA-STS policy fetch failed", "domain", domain, "err", err)
		return cached.effective(haveCached)
	}
	q.sts.put(domain, stsEntry{id: id, pol: pol, expires: now.Add(pol.maxAge)}, now)
	q.log.Info("queue: MTA-STS policy", "domain", domain, "id", id, "mode", string(pol.mode), "mx", strings.Join(pol.mx, ","), "max_age", pol.maxAge)
	return stsEntry{pol: pol}.effective(true)
}

func (e stsEntry) effective(ok bool) *stsPolicy {
	if !ok || e.pol == nil || e.pol.mode == stsModeNone {
		return nil
	}
	return e.pol
}

// applySTS keeps the hops pol allows (enforce) or marks the ones it would
// refuse (testing), and sets the TLS requirement of each.
func (q *Queue) applySTS(domain string, pol *stsPolicy, hops []hop) ([]hop, error) {
	if pol == nil {
		return hops, nil
	}
	var out []hop
	for _, h := range hops {
		if !pol.allows(h.host) {
			if pol.mode == stsEnforce {
				q.log.Warn("queue: MX host not in the MTA-STS policy; skipped", "domain", domain, "host", h.host)
				continue
			}
			q.log.Warn("queue: MX host not in the MTA-STS policy (mode testing)", "domain", domain, "host", h.host)
		}
		h.sts = pol.mode
		out = append(out, h)
	}
	if len(out) == 0 {
		return nil, tempErr("no MX host of %s matches its MTA-STS policy", domain)
	}
	return out, nil
}

// stsTLSConfig returns the STARTTLS config for a hop under an MTA-STS
// policy: the certificate must be valid for the MX host name (RFC 8461
// §4.2); with mode testing a failure is only logged.
func (q *Queue) stsTLSConfig(base *tls.Config, h hop) *tls.Config {
	cfg := &tls.Config{}
	if base != nil {
		cfg = base.Clone()
	}
	cfg.ServerName = h.host
	cfg.InsecureSkipVerify = true // verified below, with the mode's consequence
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		err := verifyPeer(cs, h.host, q.cfg.RootCAs)
		if err != nil && h.sts == stsTesting {
			q.log.Warn("queue: certificate not valid, MTA-STS policy would fail (mode testing)", "host", h.host, "err", err)
			return nil
		}
		return err
	}
	return cfg
}

func verifyPeer(cs tls.ConnectionState, host string, roots *x509.CertPool) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("no certificate")
	}
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{DNSName: host, Roots: roots, Intermediates: inter})
	return err
}
