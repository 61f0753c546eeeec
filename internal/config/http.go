package config

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// HTTPSettings configure the HTTP(S) listener: metrics, health, client
// autoconfiguration and the MTA-STS policy (embedded in Config, so its
// keys are top-level in the TOML file).
type HTTPSettings struct {
	// Listener addresses; "" disables one. HTTPS uses the certificates
	// of the mail listeners.
	HTTP  string `toml:"http"`
	HTTPS string `toml:"https"`
	// MetricsAllow are the networks (CIDR, or single addresses) that may
	// read /metrics without credentials.
	MetricsAllow []string `toml:"metrics_allow"`
	// MetricsToken, when set, lets any other client read /metrics over
	// HTTPS with HTTP Basic authentication, the token as password.
	MetricsToken string `toml:"metrics_token"`
	// Pprof serves Go's CPU and heap profiles under /debug/pprof/ to
	// metrics_allow networks only (never with the token): for profiling
	// serve under a benchmark (bench/cmd/mrbench -cpuprofile). Off by
	// default.
	Pprof bool `toml:"pprof"`
	// MTASTSMode and MTASTSMaxAge are the MTA-STS policy (RFC 8461 §3.2)
	// served to https://mta-sts.<domain>/.well-known/mta-sts.txt for
	// every local domain, with the hostname as mx.
	MTASTSMode   string   `toml:"mta_sts_mode"`
	MTASTSMaxAge Duration `toml:"mta_sts_max_age"`
}

// DefaultHTTPSettings returns the zero-configuration HTTP listeners on
// loopback, metrics open to loopback only, and an MTA-STS policy in
// testing mode (senders report but do not enforce until the operator
// switches to enforce).
func DefaultHTTPSettings() HTTPSettings {
	return HTTPSettings{
		HTTP:         "127.0.0.1:2080",
		HTTPS:        "127.0.0.1:2443",
		MetricsAllow: []string{"127.0.0.1/8", "::1"},
		MTASTSMode:   "testing",
		MTASTSMaxAge: Duration{7 * 24 * time.Hour},
	}
}

// maxMTASTSMaxAge is the largest max_age RFC 8461 §3.2 allows.
const maxMTASTSMaxAge = 31557600 * time.Second

// MetricsPrefixes parses MetricsAllow ("::1" is ::1/128).
func (h *HTTPSettings) MetricsPrefixes() ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range h.MetricsAllow {
		if !strings.Contains(s, "/") {
			a, err := netip.ParseAddr(s)
			if err != nil {
				return nil, fmt.Errorf("metrics_allow %q: %w", s, err)
			}
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("metrics_allow %q: %w", s, err)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

func (h *HTTPSettings) validate() []error {
	var errs []error
	if _, err := h.MetricsPrefixes(); err != nil {
		errs = append(errs, err)
	}
	switch h.MTASTSMode {
	case "enforce", "testing", "none":
	default:
		errs = append(errs, fmt.Errorf("mta_sts_mode %q: want enforce, testing or none", h.MTASTSMode))
	}
	if d := h.MTASTSMaxAge.Duration; d < time.Second || d > maxMTASTSMaxAge {
		errs = append(errs, errors.New("mta_sts_max_age must be between 1s and 31557600s (RFC 8461 §3.2)"))
	}
	if h.MetricsToken != "" && len(h.MetricsToken) < 16 {
		errs = append(errs, errors.New("metrics_token must be at least 16 characters"))
	}
	return errs
}
