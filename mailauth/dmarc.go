package mailauth

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/emersion/go-msgauth/authres"
	"github.com/emersion/go-msgauth/dmarc"
	"golang.org/x/net/idna"
	"golang.org/x/net/publicsuffix"
)

// Outcomes of policy discovery other than a usable record.
var (
	errNoPolicy       = errors.New("mailauth: no DMARC record")
	errManyPolicies   = errors.New("mailauth: more than one DMARC record")
	errPolicyTempFail = errors.New("mailauth: DMARC record lookup failed temporarily")
)

// dmarcInput is what DMARC evaluation needs from the SPF and DKIM checks.
type dmarcInput struct {
	from      string   // RFC5322.From domain, canonical
	spfPass   bool     // SPF passed for spfDomain
	spfDomain string   // MAIL FROM domain, or the HELO name for the null sender
	dkimPass  []string // d= of every passing DKIM signature, canonical
}

// checkDMARC evaluates DMARC (RFC 7489 §6.6) for a message whose author
// domain is in.from: it fills v.DMARC, v.Policy, v.Applied and v.Action
// and returns the reason for the Authentication-Results header.
func (c *Checker) checkDMARC(ctx context.Context, in dmarcInput, v *Verdict) string {
	rec, sub, err := c.discoverPolicy(ctx, in.from)
	switch {
	case errors.Is(err, errNoPolicy):
		v.DMARC = authres.ResultNone
		return ""
	case errors.Is(err, errPolicyTempFail):
		v.DMARC = authres.ResultTempError
		return ""
	case errors.Is(err, errManyPolicies):
		// §6.6.3 step 5: discovery ends and DMARC is not applied; the
		// result records the publisher's mistake.
		v.DMARC = authres.ResultPermError
		return "multiple DMARC records"
	case err != nil:
		v.DMARC = authres.ResultPermError
		return "invalid DMARC record"
	}

	aligned := in.spfPass && aligns(in.spfDomain, in.from, rec.SPFAlignment)
	for _, d := range in.dkimPass {
		aligned = aligned || aligns(d, in.from, rec.DKIMAlignment)
	}
	if aligned {
		v.DMARC = authres.ResultPass
		return ""
	}

	v.DMARC = authres.ResultFail
	tag := "p"
	v.Policy = rec.Policy
	if sub && rec.SubdomainPolicy != "" {
		// §6.3 sp=: the record was found at the organizational domain
		// and the author domain is a subdomain of it.
		tag, v.Policy = "sp", rec.SubdomainPolicy
	}
	v.Applied = v.Policy
	reason := tag + "=" + string(v.Policy)
	if pct := rec.Percent; pct != nil && *pct < 100 && v.Policy != dmarc.PolicyNone {
		if c.selected(*pct) {
			reason += fmt.Sprintf(" pct=%d, sampled", *pct)
		} else {
			v.Applied = nextLower(v.Policy)
			reason += fmt.Sprintf(" pct=%d, not sampled: %s", *pct, v.Applied)
		}
	}
	switch v.Applied {
	case dmarc.PolicyReject:
		v.Action = Reject
		if c.cfg.QuarantineRejects {
			v.Action = Quarantine
		}
	case dmarc.PolicyQuarantine:
		v.Action = Quarantine
	}
	return reason
}

// selected reports whether a failing message is among the pct percent the
// policy applies to (RFC 7489 §6.6.4).
func (c *Checker) selected(pct int) bool {
	switch {
	case pct >= 100:
		return true
	case pct <= 0:
		return false
	}
	return c.cfg.Sample() < pct
}

// nextLower is the policy applied to a failing message that pct= left
// out (RFC 7489 §6.6.4): reject becomes quarantine, quarantine none.
func nextLower(p dmarc.Policy) dmarc.Policy {
	if p == dmarc.PolicyReject {
		return dmarc.PolicyQuarantine
	}
	return dmarc.PolicyNone
}

// discoverPolicy finds the DMARC record for the author domain (RFC 7489
// §6.6.3): at _dmarc.<from>, else at _dmarc.<organizational domain>; sub
// reports the second case, where sp= applies instead of p= when present.
// A DNS failure other than "no such name" at either step ends discovery
// with errPolicyTempFail: the record may exist.
func (c *Checker) discoverPolicy(ctx context.Context, from string) (rec *dmarc.Record, sub bool, err error) {
	rec, err = c.fetchPolicy(ctx, from)
	if !errors.Is(err, errNoPolicy) {
		return rec, false, err
	}
	org := orgDomain(from)
	if org == from {
		return nil, false, errNoPolicy
	}
	rec, err = c.fetchPolicy(ctx, org)
	return rec, true, err
}

// fetchPolicy reads and parses the DMARC record published for domain.
func (c *Checker) fetchPolicy(ctx context.Context, domain string) (*dmarc.Record, error) {
	txts, err := c.cfg.Resolver.LookupTXT(ctx, "_dmarc."+domain)
	if err != nil {
		var dnsErr *net.DNSError
		if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
			return nil, errNoPolicy
		}
		return nil, fmt.Errorf("%w: %v", errPolicyTempFail, err)
	}
	// §6.6.3 steps 2 and 4: records that do not start with the DMARC1
	// version tag are discarded; step 5: exactly one must remain.
	var found []string
	for _, t := range txts {
		if isDMARC1(t) {
			found = append(found, t)
		}
	}
	switch len(found) {
	case 0:
		return nil, errNoPolicy
	case 1:
		return dmarc.Parse(found[0])
	default:
		return nil, errManyPolicies
	}
}

// isDMARC1 reports whether a TXT record starts with the version tag
// (RFC 7489 §6.4: "v" *WSP "=" *WSP "DMARC1", then ";" or the end).
func isDMARC1(txt string) bool {
	s, ok := strings.CutPrefix(strings.TrimLeft(txt, " \t"), "v")
	if !ok {
		return false
	}
	if s, ok = strings.CutPrefix(strings.TrimLeft(s, " \t"), "="); !ok {
		return false
	}
	if s, ok = strings.CutPrefix(strings.TrimLeft(s, " \t"), "DMARC1"); !ok {
		return false
	}
	s = strings.TrimLeft(s, " \t")
	return s == "" || s[0] == ';'
}

// aligns reports identifier alignment of an authenticated domain d with the
// author domain (RFC 7489 §3.1): strict mode wants the same name, relaxed
// mode the same organizational domain. Both are canonical.
func aligns(d, from string, mode dmarc.AlignmentMode) bool {
	if d == "" || from == "" {
		return false
	}
	if mode == dmarc.AlignmentStrict {
		return d == from
	}
	return orgDomain(d) == orgDomain(from)
}

// orgDomain is the organizational domain of a canonical name (RFC 7489
// §3.2): the public suffix, by the Public Suffix List (ICANN and private
// sections; a name under an unlisted TLD has that TLD as its suffix), plus
// one label. A name that is itself a public suffix is its own.
func orgDomain(d string) string {
	if org, err := publicsuffix.EffectiveTLDPlusOne(d); err == nil {
		return org
	}
	return d
}

// canonDomain is the form domains are compared and looked up in:
// lower case, no trailing dot, A-labels for internationalized names.
func canonDomain(d string) string {
	d = strings.TrimSuffix(strings.ToLower(d), ".")
	for i := 0; i < len(d); i++ {
		if d[i] >= 0x80 {
			if a, err := idna.Lookup.ToASCII(d); err == nil {
				return a
			}
			return d
		}
	}
	return d
}
