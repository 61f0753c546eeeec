package queue

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
)

// Resolver is the DNS the queue (and the inbound checks) use;
// *net.Resolver implements it. Tests inject one that names loopback hosts.
type Resolver interface {
	LookupMX(ctx context.Context, name string) ([]*net.MX, error)
	LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error)
	LookupTXT(ctx context.Context, name string) ([]string, error)
}

var _ Resolver = (*net.Resolver)(nil)

// NewDNSResolver returns a Resolver that asks the DNS server at addr
// ("host:port", port 53 if omitted) instead of the system's; "" means the
// system resolver. Its errors name the server it asked: Go's resolver
// would name the first server of /etc/resolv.conf, which it did not ask.
func NewDNSResolver(addr string) *DNSResolver {
	if addr == "" {
		return &DNSResolver{r: net.DefaultResolver}
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		addr = net.JoinHostPort(addr, "53")
	}
	return &DNSResolver{server: addr, r: &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
	}}
}

// DNSResolver is a net.Resolver bound to one DNS server (dns_server).
type DNSResolver struct {
	server string // "" for the system resolver
	r      *net.Resolver
}

var _ Resolver = (*DNSResolver)(nil)

// fix names the configured server in a *net.DNSError.
func (d *DNSResolver) fix(err error) error {
	var de *net.DNSError
	if d.server != "" && errors.As(err, &de) {
		de.Server = d.server
	}
	return err
}

// LookupMX implements Resolver.
func (d *DNSResolver) LookupMX(ctx context.Context, name string) ([]*net.MX, error) {
	mx, err := d.r.LookupMX(ctx, name)
	return mx, d.fix(err)
}

// LookupIPAddr implements Resolver.
func (d *DNSResolver) LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error) {
	ips, err := d.r.LookupIPAddr(ctx, host)
	return ips, d.fix(err)
}

// LookupTXT implements Resolver.
func (d *DNSResolver) LookupTXT(ctx context.Context, name string) ([]string, error) {
	txt, err := d.r.LookupTXT(ctx, name)
	return txt, d.fix(err)
}

// LookupCNAME returns name's canonical name (the web admin's DNS check).
func (d *DNSResolver) LookupCNAME(ctx context.Context, name string) (string, error) {
	cname, err := d.r.LookupCNAME(ctx, name)
	return cname, d.fix(err)
}

// LookupSRV returns the SRV records of name, a full "_service._proto.domain"
// (the web admin's DNS check).
func (d *DNSResolver) LookupSRV(ctx context.Context, name string) ([]*net.SRV, error) {
	_, srvs, err := d.r.LookupSRV(ctx, "", "", name)
	return srvs, d.fix(err)
}

// LookupAddr is the reverse lookup the inbound checks use.
func (d *DNSResolver) LookupAddr(ctx context.Context, addr string) ([]string, error) {
	names, err := d.r.LookupAddr(ctx, addr)
	return names, d.fix(err)
}

// deliveryError is a failed attempt with the reply (or local reason)
// behind it.
type deliveryError struct {
	code      int // SMTP reply code, 0 for local/network errors
	text      string
	permanent bool
}

func (e *deliveryError) Error() string   { return e.text }
func (e *deliveryError) Permanent() bool { return e.permanent }

func tempErr(format string, args ...any) error {
	return &deliveryError{text: fmt.Sprintf(format, args...)}
}

func permErr(format string, args ...any) error {
	return &deliveryError{text: fmt.Sprintf(format, args...), permanent: true}
}

// hop is one server to try.
type hop struct {
	host string // MX host name (or relay host), for TLS ServerName and PortOverride
	port string
	sts  stsMode // the destination's MTA-STS mode (mtasts.go)
	// user and password authenticate to the relay host (Relay.User);
	// empty for MX delivery.
	user, password string
}

// route returns the servers for domain in the order to try them: MX hosts
// by preference (RFC 5321 §5.1; the resolver shuffles equal preferences),
// else the domain itself (implicit MX, A/AAAA). A null MX (RFC 7505 §3)
// and a domain that does not exist are permanent failures.
func (q *Queue) route(ctx context.Context, relay Relay, domain string) ([]hop, error) {
	if relay.Host != "" {
		host, port, err := net.SplitHostPort(relay.Host)
		if err != nil {
			host, port = relay.Host, "25"
		}
		return []hop{{host: host, port: port, user: relay.User, password: relay.Password}}, nil
	}
	if strings.HasPrefix(domain, "[") && strings.HasSuffix(domain, "]") { // address literal
		return []hop{{host: strings.Trim(domain, "[]"), port: q.cfg.Port}}, nil
	}
	mxs, err := q.cfg.Resolver.LookupMX(ctx, domain)
	if err != nil && !isNotFound(err) {
		return nil, tempErr("MX lookup for %s failed: %v", domain, err)
	}
	if len(mxs) == 0 {
		if _, err := q.cfg.Resolver.LookupIPAddr(ctx, domain); err != nil {
			if isNotFound(err) {
				return nil, permErr("domain %s has no MX or address records", domain)
			}
			return nil, tempErr("address lookup for %s failed: %v", domain, err)
		}
		return []hop{{host: domain, port: q.portFor(domain)}}, nil
	}
	if len(mxs) == 1 && (mxs[0].Host == "." || mxs[0].Host == "") {
		return nil, permErr("domain %s does not accept mail (null MX, RFC 7505)", domain)
	}
	var hops []hop
	for _, mx := range mxs {
		h := strings.TrimSuffix(mx.Host, ".")
		if h == "" {
			continue
		}
		hops = append(hops, hop{host: h, port: q.portFor(h)})
	}
	return hops, nil
}

func (q *Queue) portFor(host string) string {
	if p, ok := q.cfg.PortOverride[strings.ToLower(host)]; ok {
		return p
	}
	return q.cfg.Port
}

// addresses returns the IP addresses of a hop.
func (q *Queue) addresses(ctx context.Context, h hop) ([]string, error) {
	if ip := net.ParseIP(h.host); ip != nil {
		return []string{h.host}, nil
	}
	ips, err := q.cfg.Resolver.LookupIPAddr(ctx, h.host)
	if err != nil {
		return nil, tempErr("address lookup for %s failed: %v", h.host, err)
	}
	out := make([]string, 0, len(ips))
	for _, ip := range ips {
		out = append(out, ip.IP.String())
	}
	if len(out) == 0 {
		return nil, tempErr("%s has no addresses", h.host)
	}
	return out, nil
}

func isNotFound(err error) bool {
	var de *net.DNSError
	return errors.As(err, &de) && de.IsNotFound
}
