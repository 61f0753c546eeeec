// Package mailauth checks mail arriving on the MX listener: SPF (RFC 7208)
// for MAIL FROM/HELO, DKIM signatures (RFC 6376) and DMARC (RFC 7489)
// alignment and policy. The outcome is an Authentication-Results header
// (RFC 8601) for the stored copy and an action: accept, quarantine (Junk)
// or reject.
//
// DNS goes through an injected Resolver (tests use a map). DMARC follows
// RFC 7489 §6.6: policy discovery falls back to the organizational domain
// (Public Suffix List, §3.2) with sp= for subdomains, alignment is strict or
// relaxed per the record, and pct= sampling uses an injected random source.
package mailauth

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
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
	// Sample returns a uniformly random integer in [0, 100) and must be
	// safe for concurrent use. A DMARC failure under pct=N applies the
	// published policy when Sample() < N, else the next-lower one (RFC
	// 7489 §6.6.4). Default math/rand/v2.
	Sample func() int
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
	if cfg.Sample == nil {
		cfg.Sample = func() int { return rand.IntN(100) }
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
	SPF   spf.Result
	DKIM  []authres.DKIMResult
	DMARC authres.ResultValue
	// Policy is what the author domain asks for when DMARC failed: p=, or
	// sp= for a subdomain under its organizational domain's record.
	Policy dmarc.Policy
	// Applied is Policy after pct= sampling; Action follows it.
	Applied dmarc.Policy
	Action  Action
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
		spfDomain = canonDomain(in.HELO)
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
			dkimPass = append(dkimPass, canonDomain(d.Domain))
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
	var reason string
	if from != "" {
		reason = c.checkDMARC(ctx, dmarcInput{from: from, spfPass: v.SPF == spf.Pass, spfDomain: spfDomain, dkimPass: dkimPass}, &v)
	}

	results := []authres.Result{spfRes}
	for i := range v.DKIM {
		results = append(results, &v.DKIM[i])
	}
	results = append(results, &authres.DMARCResult{Value: v.DMARC, Reason: reason, From: from})
	v.Header = foldHeader("Authentication-Results: " + authres.Format(c.cfg.Hostname, results))
	return v
}

func domainOf(addr string) string {
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return ""
	}
	return canonDomain(addr[at+1:])
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
