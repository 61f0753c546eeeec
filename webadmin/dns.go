package webadmin

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mailroom/mailroom/store"
)

// DNSRecord is one record a domain should publish (Type "" is a
// comment, its text in Value). TXT values are unquoted; MX, SRV and
// CNAME values are in zone-file syntax ("10 mx.example.org.").
type DNSRecord struct {
	Name, Type, Value string
}

// Resolver is what the live check asks (queue.DNSResolver and
// *net.Resolver implement it): MX and TXT records are checked, the
// others listed as not checked.
type Resolver interface {
	LookupMX(ctx context.Context, name string) ([]*net.MX, error)
	LookupTXT(ctx context.Context, name string) ([]string, error)
	LookupCNAME(ctx context.Context, name string) (string, error)
	// LookupSRV takes the full owner name ("_imaps._tcp.example.org").
	LookupSRV(ctx context.Context, name string) ([]*net.SRV, error)
}

// DNS gives the records to publish and the DKIM keys (cmd/mailroom
// implements it with what `mailroom dns-records` and `dkim generate` do).
type DNS interface {
	// Records lists what domain should publish.
	Records(domain string) ([]DNSRecord, error)
	// GenerateDKIM creates the domain's DKIM keys (refusing to replace
	// existing ones) and returns their TXT records.
	GenerateDKIM(domain string) ([]DNSRecord, error)
}

// Live check outcomes.
const (
	checkOK         = "OK"
	checkMissing    = "missing"
	checkWrong      = "wrong"
	checkNotChecked = "not checked"
	checkError      = "lookup failed"
)

// checkTimeout bounds the live check of one page (all lookups).
const checkTimeout = 5 * time.Second

type dnsRow struct {
	DNSRecord
	Check string
	Found string // what was published instead, for wrong
}

type dnsData struct {
	Domain  string
	Domains []string
	Rows    []dnsRow
	HasDKIM bool
}

// localDomains are the domains the DNS page offers: added domains,
// domains of accounts and of alias keys, sorted.
func (s *Server) localDomains(ctx context.Context) ([]string, error) {
	set := map[string]bool{}
	doms, err := s.cfg.Store.Domains(ctx)
	if err != nil {
		return nil, err
	}
	for _, d := range doms {
		set[d.Name] = true
	}
	accts, err := s.cfg.Store.Accounts(ctx)
	if err != nil {
		return nil, err
	}
	for _, a := range accts {
		set[store.AliasDomain(strings.ToLower(a.Email))] = true
	}
	als, err := s.cfg.Store.Aliases(ctx)
	if err != nil {
		return nil, err
	}
	for _, a := range als {
		set[store.AliasDomain(a.Address)] = true
	}
	for k := range s.configAliases() {
		set[store.AliasDomain(k)] = true
	}
	delete(set, "localhost")
	return sortedKeys(set), nil
}

func (s *Server) dnsPage(w http.ResponseWriter, r *http.Request, x *session) {
	doms, err := s.localDomains(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d := dnsData{Domains: doms}
	if name := r.PathValue("domain"); name != "" {
		if !slices.Contains(doms, name) {
			http.NotFound(w, r) // only local domains: no lookups of anything else
			return
		}
		d.Domain = name
		recs, err := s.cfg.DNS.Records(name)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), checkTimeout)
		defer cancel()
		for _, rec := range recs {
			row := dnsRow{DNSRecord: rec}
			if rec.Type != "" {
				row.Check, row.Found = s.check(ctx, rec)
			}
			if rec.Type == "TXT" && strings.Contains(rec.Name, "._domainkey.") {
				d.HasDKIM = true
			}
			d.Rows = append(d.Rows, row)
		}
	}
	title := "DNS"
	if d.Domain != "" {
		title = "DNS records for " + d.Domain
	}
	s.show(w, adminArea, x, "dns", title, d)
}

// check compares one record with what the resolver finds.
func (s *Server) check(ctx context.Context, rec DNSRecord) (string, string) {
	if s.cfg.Resolver == nil {
		return checkNotChecked, ""
	}
	switch rec.Type {
	case "MX":
		mxs, err := s.cfg.Resolver.LookupMX(ctx, rec.Name)
		if st, ok := lookupFailure(err); !ok {
			return st, ""
		}
		_, want, _ := strings.Cut(rec.Value, " ")
		var found []string
		for _, mx := range mxs {
			if strings.EqualFold(strings.TrimSuffix(mx.Host, "."), strings.TrimSuffix(want, ".")) {
				return checkOK, ""
			}
			found = append(found, mx.Host)
		}
		if len(found) == 0 {
			return checkMissing, ""
		}
		return checkWrong, strings.Join(found, ", ")
	case "TXT":
		txts, err := s.cfg.Resolver.LookupTXT(ctx, rec.Name)
		if st, ok := lookupFailure(err); !ok {
			return st, ""
		}
		tag := txtTag(rec.Value)
		var same []string
		for _, t := range txts {
			if normTXT(t) == normTXT(rec.Value) {
				return checkOK, ""
			}
			if txtTag(t) == tag {
				same = append(same, t)
			}
		}
		if len(same) == 0 {
			return checkMissing, ""
		}
		return checkWrong, strings.Join(same, " | ")
	case "CNAME":
		cname, err := s.cfg.Resolver.LookupCNAME(ctx, rec.Name)
		if st, ok := lookupFailure(err); !ok {
			return st, ""
		}
		if sameHost(cname, rec.Value) {
			return checkOK, ""
		}
		if sameHost(cname, rec.Name) { // no CNAME: the name has its own records
			return checkMissing, ""
		}
		return checkWrong, cname
	case "SRV":
		srvs, err := s.cfg.Resolver.LookupSRV(ctx, rec.Name)
		if st, ok := lookupFailure(err); !ok {
			return st, ""
		}
		var found []string
		for _, srv := range srvs {
			got := fmt.Sprintf("%d %d %d %s", srv.Priority, srv.Weight, srv.Port, srv.Target)
			if srvMatches(srv, rec.Value) {
				return checkOK, ""
			}
			found = append(found, got)
		}
		if len(found) == 0 {
			return checkMissing, ""
		}
		return checkWrong, strings.Join(found, ", ")
	}
	return checkNotChecked, ""
}

// sameHost compares two host names without case and trailing dot.
func sameHost(a, b string) bool {
	return strings.EqualFold(strings.TrimSuffix(a, "."), strings.TrimSuffix(b, "."))
}

// srvMatches reports whether srv publishes the port and target of want
// ("priority weight port target"); priority and weight are the admin's
// choice, so they are not compared.
func srvMatches(srv *net.SRV, want string) bool {
	f := strings.Fields(want)
	return len(f) == 4 && f[2] == strconv.Itoa(int(srv.Port)) && sameHost(srv.Target, f[3])
}

// lookupFailure maps a resolver error: none (ok), not found (missing),
// anything else (lookup failed).
func lookupFailure(err error) (string, bool) {
	if err == nil {
		return "", true
	}
	var de *net.DNSError
	if errors.As(err, &de) && de.IsNotFound {
		return checkMissing, false
	}
	return checkError, false
}

// txtTag is the version tag a TXT record starts with ("v=spf1",
// "v=DKIM1"), which tells records of one kind apart from others at the
// same name.
func txtTag(v string) string {
	tag, _, _ := strings.Cut(strings.TrimSpace(v), ";")
	tag, _, _ = strings.Cut(tag, " ")
	return strings.ToLower(tag)
}

func normTXT(v string) string { return strings.Join(strings.Fields(v), " ") }

// dkimGenerate creates a local domain's DKIM keys.
func (s *Server) dkimGenerate(w http.ResponseWriter, r *http.Request, x *session) {
	name := strings.ToLower(strings.TrimSpace(r.PostForm.Get("domain")))
	doms, err := s.localDomains(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if !slices.Contains(doms, name) {
		s.done(w, r, x, "/admin/dns", "", formError("Not a local domain."))
		return
	}
	to := "/admin/dns/" + name
	recs, err := s.cfg.DNS.GenerateDKIM(name)
	if err != nil {
		s.log.Warn("webadmin: dkim generate", "domain", name, "err", err)
		s.done(w, r, x, to, "", formError("No keys made: the domain has keys already, or they could not be written (see the log)."))
		return
	}
	s.log.Info("webadmin: dkim keys generated", "admin", x.email, "domain", name, "records", len(recs))
	s.done(w, r, x, to, "Made DKIM keys for "+name+": publish the two _domainkey TXT records below.", nil)
}
