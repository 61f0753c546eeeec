package dnsbl

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/miekg/dns"
)

// defaultNegativeTTL caches a "not listed" whose answer carried no SOA.
const defaultNegativeTTL = 5 * time.Minute

// DNSResolver asks one recursive DNS server (github.com/miekg/dns) and
// reports the records' TTLs, which Go's net.Resolver does not: UDP, and
// TCP when the answer was truncated.
type DNSResolver struct {
	server string // host:port
	udp    *dns.Client
	tcp    *dns.Client
}

var _ Resolver = (*DNSResolver)(nil)

// NewDNSResolver returns a resolver asking server ("host[:port]"); ""
// is the first nameserver of /etc/resolv.conf.
func NewDNSResolver(server string) (*DNSResolver, error) {
	if server == "" {
		cc, err := dns.ClientConfigFromFile("/etc/resolv.conf")
		if err != nil || len(cc.Servers) == 0 {
			return nil, fmt.Errorf("dnsbl: no DNS server (set dns_server): %v", err)
		}
		server = net.JoinHostPort(cc.Servers[0], cc.Port)
	} else if _, _, err := net.SplitHostPort(server); err != nil {
		server = net.JoinHostPort(server, "53")
	}
	return &DNSResolver{
		server: server,
		udp:    &dns.Client{Net: "udp", Timeout: 2 * time.Second},
		tcp:    &dns.Client{Net: "tcp", Timeout: 2 * time.Second},
	}, nil
}

func (r *DNSResolver) query(ctx context.Context, name string, qtype uint16) (*dns.Msg, error) {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	in, _, err := r.udp.ExchangeContext(ctx, m, r.server)
	if err == nil && in.Truncated {
		in, _, err = r.tcp.ExchangeContext(ctx, m, r.server)
	}
	if err != nil {
		return nil, err
	}
	switch in.Rcode {
	case dns.RcodeSuccess, dns.RcodeNameError:
		return in, nil
	}
	return nil, errors.New("dnsbl: " + name + ": " + dns.RcodeToString[in.Rcode])
}

// negativeTTL is RFC 2308 §5's TTL of a negative answer: the SOA's
// minimum, at most the SOA record's own TTL.
func negativeTTL(in *dns.Msg) time.Duration {
	for _, rr := range in.Ns {
		if soa, ok := rr.(*dns.SOA); ok {
			return time.Duration(min(soa.Hdr.Ttl, soa.Minttl)) * time.Second
		}
	}
	return defaultNegativeTTL
}

// LookupA returns the A records of name and their smallest TTL.
func (r *DNSResolver) LookupA(ctx context.Context, name string) ([]netip.Addr, time.Duration, error) {
	in, err := r.query(ctx, name, dns.TypeA)
	if err != nil {
		return nil, 0, err
	}
	var out []netip.Addr
	ttl := uint32(0)
	for _, rr := range in.Answer {
		if a, ok := rr.(*dns.A); ok {
			if ip, ok := netip.AddrFromSlice(a.A.To4()); ok {
				out = append(out, ip)
				if ttl == 0 || a.Hdr.Ttl < ttl {
					ttl = a.Hdr.Ttl
				}
			}
		}
	}
	if len(out) == 0 {
		return nil, negativeTTL(in), nil
	}
	return out, time.Duration(ttl) * time.Second, nil
}

// LookupTXT returns the TXT strings of name and their smallest TTL.
func (r *DNSResolver) LookupTXT(ctx context.Context, name string) ([]string, time.Duration, error) {
	in, err := r.query(ctx, name, dns.TypeTXT)
	if err != nil {
		return nil, 0, err
	}
	var out []string
	ttl := uint32(0)
	for _, rr := range in.Answer {
		if t, ok := rr.(*dns.TXT); ok {
			out = append(out, t.Txt...)
			if ttl == 0 || t.Hdr.Ttl < ttl {
				ttl = t.Hdr.Ttl
			}
		}
	}
	if len(out) == 0 {
		return nil, negativeTTL(in), nil
	}
	return out, time.Duration(ttl) * time.Second, nil
}
