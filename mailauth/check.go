// Package mailauth checks mail arriving on the MX listener: SPF (RFC 7208)
// for MAIL FROM/HELO, DKIM signatures (RFC 6376) and DMARC (RFC 7489)
// alignment and policy. The outcome is an Authentication-Results header
// (RFC 8601) for the stored copy and an action: accept, quarantine (Junk)
// or reject.
//
// DNS goes through an injected Resolver (tests use a map). The
// organizational domain for DMARC is approximated by the last two labels
// of a name (no public suffix list yet).
package mailauth

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/mail"
	"strings"

	"blitiri.com.ar/go/spf"
	"github.com/emersion/go-msgauth/authres"
	"github.com/emersion/go-msgauth/dkim"
	"github.com/emersion/go-msgauth/dmarc"
)

// Resolver is the DNS the checks use; *net.Resolver implements it.
type Resolver interface {
	LookupTXT(ctx context.Context, name string) ([]string, error)
	LookupMX(ctx context.Context, name string) ([]*net.MX, error)
	LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error)
	LookupAddr(ctx context.Context, addr string) ([]string, error)
}

var _ Resolver = (*net.Resolver)(nil)

// Action is what to do with a checked message.
type Action int

const (
	Accept     Action = iota
	Quarantine        // deliver into Junk
	Reject            // 550 5.7.1 (DMARC p=reject)
)

// Config configures a Checker.
type Config struct {
	Hostname string   // authserv-id of the Authentication-Results header
	Resolver Resolver // default net.DefaultResolver
	// QuarantineRejects turns DMARC p=reject failures into Quarantine
	// instead of Reject.
	QuarantineRejects bool
	// SkipLoopback trusts clients on loopback addresses (local injection):
	// no lookups, and "none" in the header.
	SkipLoopback bool
}

// Checker runs the checks. It is safe for concurrent use.
type Checker struct{ cfg Config }

// New returns a Checker for cfg.
func New(cfg Config) *Checker {
	if cfg.Resolver == nil {
		cfg.Resolver = net.DefaultResolver
	}
	if cfg.Hostname == "" {
		cfg.Hostname = "localhost"
	}
	return &Checker{cfg: cfg}
}

// Input is what the SMTP session knows about a message.
type Input struct {
	IP       net.IP
	HELO     string
	MailFrom string // "" for the null sender
	Raw      []byte // the message as received
}

// Verdict is the outcome of Check.
type Verdict struct {
	SPF    spf.Result
	DKIM   []authres.DKIMResult
	DMARC  authres.ResultValue
	Policy dmarc.Policy // of the author domain, when DMARC failed
	Action Action
	// Header is the Authentication-Results field, CRLF-terminated.
	Header string
}

// Check runs SPF, DKIM and DMARC for in.
func (c *Checker) Check(ctx context.Context, in Input) Verdict {
	var v Verdict
	if c.cfg.SkipLoopback && in.IP != nil && in.IP.IsLoopback() {
		v.SPF, v.DMARC = spf.None, authres.ResultNone
		v.Header = foldHeader("Authentication-Results: " + authres.Format(c.cfg.Hostname, nil))
		return v
	}
	lookupTXT := func(name string) ([]string, error) { return c.cfg.Resolver.LookupTXT(ctx, name) }

	// SPF: MAIL FROM's domain, or the HELO name for the null sender.
	spfDomain := domainOf(in.MailFrom)
	if spfDomain == "" {
		spfDomain = strings.ToLower(in.HELO)
	}
	v.SPF, _ = spf.CheckHostWithSender(in.IP, in.HELO, in.MailFrom,
		spf.WithContext(ctx), spf.WithResolver(c.cfg.Resolver))
	spfRes := &authres.SPFResult{Value: authres.ResultValue(v.SPF)}
	if in.MailFrom != "" {
		spfRes.From = in.MailFrom
	} else {
		spfRes.Helo = in.HELO
	}

	// DKIM.
	var dkimPass []string
	vs, err := dkim.VerifyWithOptions(bytes.NewReader(in.Raw), &dkim.VerifyOptions{LookupTXT: lookupTXT, MaxVerifications: 8})
	if err != nil && !errors.Is(err, dkim.ErrTooManySignatures) && len(vs) == 0 {
		v.DKIM = append(v.DKIM, authres.DKIMResult{Value: authres.ResultPermError, Reason: "malformed message"})
	}
	for _, d := range vs {
		r := authres.DKIMResult{Domain: d.Domain, Identifier: d.Identifier}
		switch {
		case d.Err == nil:
			r.Value = authres.ResultPass
			dkimPass = append(dkimPass, strings.ToLower(d.Domain))
		case dkim.IsTempFail(d.Err):
			r.Value = authres.ResultTempError
		case dkim.IsPermFail(d.Err):
			r.Value = authres.ResultPermError
		default:
			r.Value = authres.ResultFail
		}
		v.DKIM = append(v.DKIM, r)
	}
	if len(v.DKIM) == 0 {
		v.DKIM = append(v.DKIM, authres.DKIMResult{Value: authres.ResultNone})
	}

	// DMARC on the author (From:) domain.
	from := authorDomain(in.Raw)
	v.DMARC = authres.ResultNone
	if from != "" {
		rec, sub, err := c.lookupDMARC(from, lookupTXT)
		switch {
		case errors.Is(err, dmarc.ErrNoPolicy):
		case err != nil && dmarc.IsTempFail(err):
			v.DMARC = authres.ResultTempError
		case err != nil:
			v.DMARC = authres.ResultPermError
		default:
			aligned := v.SPF == spf.Pass && alignedDomain(spfDomain, from, rec.SPFAlignment)
			for _, d := range dkimPass {
				aligned = aligned || alignedDomain(d, from, rec.DKIMAlignment)
			}
			if aligned {
				v.DMARC = authres.ResultPass
			} else {
				v.DMARC = authres.ResultFail
				v.Policy = rec.Policy
				if sub && rec.SubdomainPolicy != "" {
					v.Policy = rec.SubdomainPolicy
				}
				switch v.Policy {
				case dmarc.PolicyReject:
					v.Action = Reject
					if c.cfg.QuarantineRejects {
						v.Action = Quarantine
					}
				case dmarc.PolicyQuarantine:
					v.Action = Quarantine
				}
			}
		}
	}

	results := []authres.Result{spfRes}
	for i := range v.DKIM {
		results = append(results, &v.DKIM[i])
	}
	results = append(results, &authres.DMARCResult{Value: v.DMARC, From: from})
	v.Header = foldHeader("Authentication-Results: " + authres.Format(c.cfg.Hostname, results))
	return v
}

// lookupDMARC finds the policy of domain, falling back to its
// organizational domain (RFC 7489 §6.6.3); sub reports the fallback.
func (c *Checker) lookupDMARC(domain string, lookupTXT func(string) ([]string, error)) (*dmarc.Record, bool, error) {
	opts := &dmarc.LookupOptions{LookupTXT: lookupTXT}
	rec, err := dmarc.LookupWithOptions(domain, opts)
	if errors.Is(err, dmarc.ErrNoPolicy) {
		if org := orgDomain(domain); org != domain {
			rec, err = dmarc.LookupWithOptions(org, opts)
			return rec, true, err
		}
	}
	return rec, false, err
}

// alignedDomain reports identifier alignment (RFC 7489 §3.1).
func alignedDomain(d, from string, mode dmarc.AlignmentMode) bool {
	d, from = strings.ToLower(d), strings.ToLower(from)
	if mode == dmarc.AlignmentStrict {
		return d == from
	}
	return d != "" && orgDomain(d) == orgDomain(from)
}

// orgDomain approximates the organizational domain: the last two labels.
func orgDomain(d string) string {
	d = strings.TrimSuffix(strings.ToLower(d), ".")
	labels := strings.Split(d, ".")
	if len(labels) <= 2 {
		return d
	}
	return strings.Join(labels[len(labels)-2:], ".")
}

func domainOf(addr string) string {
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return ""
	}
	return strings.ToLower(addr[at+1:])
}

// authorDomain is the domain of the (single) From: address.
func authorDomain(raw []byte) string {
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return ""
	}
	addrs, err := m.Header.AddressList("From")
	if err != nil || len(addrs) != 1 {
		return ""
	}
	return domainOf(addrs[0].Address)
}

// foldHeader folds a field at "; " so lines stay short, and ends it with
// CRLF.
func foldHeader(f string) string {
	return strings.ReplaceAll(f, "; ", ";\r\n\t") + "\r\n"
}
