package smtpserver

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
)

// Connection-time checks of unauthenticated MX clients (Config.ClientChecks),
// Postfix's reject_unknown_client_hostname and
// reject_invalid_helo_hostname / reject_non_fqdn_helo_hostname. They run at
// the client's first MAIL, so a client that authenticates on the MX
// listener is never checked.

// Check modes.
const (
	CheckOff    = ""       // not checked
	CheckScore  = "score"  // the verdict becomes a header field for milters and Sieve
	CheckReject = "reject" // a failing client is refused
)

// ClientChecks configures the connection-time checks; the zero value
// checks nothing.
type ClientChecks struct {
	// ReverseDNS: the client's IP must have a PTR name whose A/AAAA
	// records include the IP (forward-confirmed). Reject: 550 5.7.25
	// when the lookups say so, 450 4.7.25 when DNS failed
	// temporarily. Score: header "X-Mailroom-RDNS: pass|fail|temperror".
	ReverseDNS string
	// HELO: the HELO/EHLO name must be a syntactically valid
	// fully-qualified domain name or an address literal. Reject: 501
	// 5.5.2 for an invalid name, 504 5.5.2 for one that is not fully
	// qualified. Score: header "X-Mailroom-HELO: pass|invalid|non-fqdn".
	HELO string
	// LookupHost resolves the PTR name forward; default
	// net.DefaultResolver.LookupHost. (The PTR lookup is
	// Config.LookupAddr.)
	LookupHost func(ctx context.Context, host string) ([]string, error)
}

// Typed errors of the checks (replies in errors.go).
var (
	errRDNSUnknown = errors.New("smtpserver: client hostname unknown (no forward-confirmed reverse DNS)")
	errRDNSTemp    = errors.New("smtpserver: client hostname lookup failed temporarily")
	errHELOInvalid = errors.New("smtpserver: invalid HELO hostname")
	errHELONonFQDN = errors.New("smtpserver: HELO hostname not fully qualified")
)

const (
	maxHELOLength   = 255
	rdnsMaxPTRNames = 4 // PTR names tried for the forward confirmation
)

// clientVerdict is what the checks found for one connection.
type clientVerdict struct {
	rdns, helo string // "pass", "fail"/"temperror", "invalid"/"non-fqdn"; "" unchecked
	err        error  // the refusal, when a check in reject mode failed
}

// HELOVerdict classifies a HELO/EHLO argument: "pass" for a fully
// qualified domain name (at least two labels of letters, digits and
// hyphens, not starting or ending with a hyphen, at most 63 bytes each,
// a top-level label not all digits) or an address literal ([192.0.2.1],
// [IPv6:2001:db8::1]); "non-fqdn" for a single valid label; "invalid"
// for anything else.
func HELOVerdict(name string) string {
	name = strings.TrimSuffix(name, ".")
	if name == "" || len(name) > maxHELOLength {
		return "invalid"
	}
	if strings.HasPrefix(name, "[") {
		lit, ok := strings.CutSuffix(name[1:], "]")
		if !ok {
			return "invalid"
		}
		if v6, ok := cutPrefixFold(lit, "IPv6:"); ok {
			if a, err := netip.ParseAddr(v6); err == nil && a.Is6() && !a.Is4In6() && a.Zone() == "" {
				return "pass"
			}
			return "invalid"
		}
		if a, err := netip.ParseAddr(lit); err == nil && a.Is4() {
			return "pass"
		}
		return "invalid"
	}
	labels := strings.Split(name, ".")
	for _, l := range labels {
		if !validLabel(l) {
			return "invalid"
		}
	}
	if len(labels) < 2 {
		return "non-fqdn"
	}
	if strings.Trim(labels[len(labels)-1], "0123456789") == "" {
		return "invalid" // a bare IP address, or a numeric TLD
	}
	return "pass"
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}

func validLabel(l string) bool {
	if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
		return false
	}
	for i := 0; i < len(l); i++ {
		c := l[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// rdnsVerdict looks the client IP up: "pass" when a PTR name resolves
// back to ip, "temperror" when a lookup failed temporarily, else
// "fail".
func (ss *session) rdnsVerdict(ip net.IP) string {
	if ip == nil {
		return "fail"
	}
	ctx, cancel := context.WithTimeout(ss.ctx, rdnsTimeout)
	defer cancel()
	names, err := ss.s.cfg.LookupAddr(ctx, ip.String())
	if err != nil {
		if isNotFound(err) {
			return "fail"
		}
		return "temperror"
	}
	lookup := ss.s.cfg.ClientChecks.LookupHost
	if lookup == nil {
		lookup = net.DefaultResolver.LookupHost
	}
	temp := false
	for i, n := range names {
		if i == rdnsMaxPTRNames {
			break
		}
		addrs, err := lookup(ctx, strings.TrimSuffix(n, "."))
		if err != nil {
			temp = temp || !isNotFound(err)
			continue
		}
		for _, a := range addrs {
			if pa := net.ParseIP(a); pa != nil && pa.Equal(ip) {
				return "pass"
			}
		}
	}
	if temp {
		return "temperror"
	}
	return "fail"
}

// isNotFound reports whether a lookup error is a definite "no such
// name/record" rather than a temporary failure.
func isNotFound(err error) bool {
	var de *net.DNSError
	return errors.As(err, &de) && de.IsNotFound
}

// clientChecked runs Config.ClientChecks once per connection for an
// unauthenticated MX client and returns the refusal of a check in
// reject mode.
func (ss *session) clientChecked() error {
	cc := ss.s.cfg.ClientChecks
	if (cc.ReverseDNS == CheckOff && cc.HELO == CheckOff) || ss.s.cfg.Mode != ModeMX || ss.account != nil {
		return nil
	}
	if ss.checks == nil {
		v := &clientVerdict{}
		if cc.HELO != CheckOff {
			v.helo = HELOVerdict(ss.c.Hostname())
			if cc.HELO == CheckReject {
				switch v.helo {
				case "invalid":
					v.err = errHELOInvalid
				case "non-fqdn":
					v.err = errHELONonFQDN
				}
			}
		}
		if cc.ReverseDNS != CheckOff && v.err == nil {
			var ip net.IP
			if ta, ok := ss.remote.(*net.TCPAddr); ok {
				ip = ta.IP
			}
			v.rdns = ss.rdnsVerdict(ip)
			if cc.ReverseDNS == CheckReject {
				switch v.rdns {
				case "fail":
					v.err = errRDNSUnknown
				case "temperror":
					v.err = errRDNSTemp
				}
			}
		}
		if v.err != nil {
			ss.log.Info("smtp: client refused by connection checks", "helo", sanitize(ss.c.Hostname()), "helo_verdict", v.helo, "rdns", v.rdns, "err", v.err)
		}
		ss.checks = v
	}
	return ss.checks.err
}

// clientCheckHeaders are the header fields of the checks in score mode.
func (ss *session) clientCheckHeaders() string {
	if ss.checks == nil || ss.account != nil {
		return ""
	}
	var b strings.Builder
	if ss.checks.rdns != "" && ss.s.cfg.ClientChecks.ReverseDNS == CheckScore {
		b.WriteString(traceField("X-Mailroom-RDNS: " + ss.checks.rdns))
	}
	if ss.checks.helo != "" && ss.s.cfg.ClientChecks.HELO == CheckScore {
		b.WriteString(traceField("X-Mailroom-HELO: " + ss.checks.helo))
	}
	return b.String()
}
