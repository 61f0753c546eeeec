package webadmin_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"testing"

	"golang.org/x/net/html"

	"github.com/mailroom/mailroom/webadmin"
)

// fakeDNS is the records of dns-records for any domain, DKIM keys made
// once per domain.
type fakeDNS struct {
	mu   sync.Mutex
	dkim map[string]bool
}

func (f *fakeDNS) Records(domain string) ([]webadmin.DNSRecord, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	recs := []webadmin.DNSRecord{
		{Value: "DNS records for " + domain},
		{Name: domain, Type: "MX", Value: "10 mx.example.org."},
		{Name: domain, Type: "TXT", Value: "v=spf1 mx -all"},
	}
	if f.dkim[domain] {
		recs = append(recs, webadmin.DNSRecord{Name: "mailroom-ed._domainkey." + domain, Type: "TXT", Value: "v=DKIM1; k=ed25519; p=KEY"})
	}
	return append(recs,
		webadmin.DNSRecord{Name: "_dmarc." + domain, Type: "TXT", Value: "v=DMARC1; p=quarantine"},
		webadmin.DNSRecord{Name: "autoconfig." + domain, Type: "CNAME", Value: "mx.example.org."},
		webadmin.DNSRecord{Name: "autodiscover." + domain, Type: "CNAME", Value: "mx.example.org."},
		webadmin.DNSRecord{Name: "_imaps._tcp." + domain, Type: "SRV", Value: "0 1 993 mx.example.org."},
		webadmin.DNSRecord{Name: "_submissions._tcp." + domain, Type: "SRV", Value: "0 1 465 mx.example.org."},
		webadmin.DNSRecord{Name: "_pop3s._tcp." + domain, Type: "SRV", Value: "10 1 995 mx.example.org."},
	), nil
}

func (f *fakeDNS) GenerateDKIM(domain string) ([]webadmin.DNSRecord, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.dkim[domain] {
		return nil, errors.New("key exists")
	}
	f.dkim[domain] = true
	return nil, nil
}

// fakeResolver publishes example.org's MX, SPF, autoconfig CNAME and
// _imaps SRV right (the SRV with another priority and weight), its DMARC,
// autodiscover CNAME and _submissions SRV wrong, and nothing else.
type fakeResolver struct{}

func (fakeResolver) LookupMX(_ context.Context, name string) ([]*net.MX, error) {
	if name == "example.org" {
		return []*net.MX{{Host: "MX.example.org.", Pref: 10}}, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
}

func (fakeResolver) LookupTXT(_ context.Context, name string) ([]string, error) {
	switch name {
	case "example.org":
		return []string{"google-site-verification=x", "v=spf1  mx -all"}, nil
	case "_dmarc.example.org":
		return []string{"v=DMARC1; p=none"}, nil
	case "_dmarc.broken.example":
		return nil, &net.DNSError{Err: "server misbehaving", Name: name, IsTemporary: true}
	}
	return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
}

func (fakeResolver) LookupCNAME(_ context.Context, name string) (string, error) {
	switch name {
	case "autoconfig.example.org":
		return "MX.example.org.", nil
	case "autodiscover.example.org":
		return "other.example.net.", nil
	}
	return "", &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
}

func (fakeResolver) LookupSRV(_ context.Context, name string) ([]*net.SRV, error) {
	switch name {
	case "_imaps._tcp.example.org":
		return []*net.SRV{{Target: "mx.example.org.", Port: 993, Priority: 5, Weight: 0}}, nil
	case "_submissions._tcp.example.org":
		return []*net.SRV{{Target: "mx.example.org.", Port: 587, Priority: 0, Weight: 1}}, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
}

func TestDNSPage(t *testing.T) {
	t.Parallel()
	dns := &fakeDNS{dkim: map[string]bool{}}
	e := newEnv(t, func(c *webadmin.Config) {
		c.DNS = dns
		c.Resolver = fakeResolver{}
	})
	if _, err := e.st.AddDomain(t.Context(), "broken.example"); err != nil {
		t.Fatal(err)
	}
	c := e.client()
	c.mustLogin("/admin/", adminEmail, adminPW)

	list := c.get("/admin/dns")
	var links []string
	for _, a := range all(byID(list.doc, "dns-domains"), isTag("a")) {
		links = append(links, attr(a, "href"))
	}
	if !slices.Equal(links, []string{"/admin/dns/broken.example", "/admin/dns/example.org"}) {
		t.Fatalf("DNS page domains %v", links)
	}

	p := c.get("/admin/dns/example.org")
	checks := map[string]string{}
	for _, tr := range all(byID(p.doc, "dns"), func(n *html.Node) bool { return isTag("tr")(n) && attr(n, "data-name") != "" }) {
		tds := all(tr, isTag("td"))
		checks[attr(tr, "data-type")+" "+attr(tr, "data-name")] = text(tds[3])
	}
	want := map[string]string{
		"MX example.org":                    "OK",
		"TXT example.org":                   "OK",
		"TXT _dmarc.example.org":            "wrong: v=DMARC1; p=none",
		"CNAME autoconfig.example.org":      "OK",
		"CNAME autodiscover.example.org":    "wrong: other.example.net.",
		"SRV _imaps._tcp.example.org":       "OK",
		"SRV _submissions._tcp.example.org": "wrong: 0 1 587 mx.example.org.",
		"SRV _pop3s._tcp.example.org":       "missing",
	}
	for k, v := range want {
		if checks[k] != v {
			t.Errorf("%s: %q, want %q", k, checks[k], v)
		}
	}
	if byID(p.doc, "dkim-generate") == nil {
		t.Fatal("no DKIM form for a domain without keys")
	}
	b := c.get("/admin/dns/broken.example")
	for _, tr := range all(byID(b.doc, "dns"), func(n *html.Node) bool { return isTag("tr")(n) && attr(n, "data-name") != "" }) {
		got := text(all(tr, isTag("td"))[3])
		switch attr(tr, "data-name") {
		case "_dmarc.broken.example":
			if got != "lookup failed" {
				t.Errorf("temporary DNS failure shown as %q", got)
			}
		case "broken.example":
			if got != "missing" {
				t.Errorf("%s %s: %q, want missing", attr(tr, "data-type"), attr(tr, "data-name"), got)
			}
		}
	}
	// Only local domains: no lookups for anything else.
	for _, path := range []string{"/admin/dns/google.com", "/admin/dns/..%2f..%2fetc", "/admin/dns/localhost"} {
		if r := c.get(path); r.status != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", path, r.status)
		}
	}

	tok := csrf(t, p)
	r := c.post("/admin/dkim/generate", url.Values{"csrf": {tok}, "domain": {"example.org"}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/admin/dns/example.org" {
		t.Fatalf("generate: %d %q", r.status, r.header.Get("Location"))
	}
	g := c.follow(r)
	if msg, ok := flash(g); !ok || msg != "Made DKIM keys for example.org: publish the two _domainkey TXT records below." {
		t.Fatalf("generate flash %q", msg)
	}
	if byID(g.doc, "dkim-generate") != nil || row(g, "dns", "name", "mailroom-ed._domainkey.example.org") == nil {
		t.Fatal("after generating, the page still offers to generate or lacks the DKIM record")
	}
	if _, ok := flash(c.follow(c.post("/admin/dkim/generate", url.Values{"csrf": {tok}, "domain": {"example.org"}}))); ok {
		t.Fatal("generating twice succeeded")
	}
	if msg, _ := flash(c.follow(c.post("/admin/dkim/generate", url.Values{"csrf": {tok}, "domain": {"../../etc"}}))); msg != "Not a local domain." {
		t.Fatalf("generate for a foreign domain: %q", msg)
	}
	if r := c.post("/admin/dkim/generate", url.Values{"domain": {"example.org"}}); r.status != http.StatusForbidden {
		t.Fatalf("generate without csrf: %d", r.status)
	}
}
