package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/mailroom/mailroom/httpserver"
	"github.com/mailroom/mailroom/internal/config"
	"github.com/mailroom/mailroom/internal/recent"
	"github.com/mailroom/mailroom/mailauth"
	"github.com/mailroom/mailroom/queue"
	"github.com/mailroom/mailroom/smtpserver"
	"github.com/mailroom/mailroom/store"
)

const queueUsage = `Usage:
  mailroom queue list [--data DIR | --config FILE]
  mailroom queue show ID [--data DIR | --config FILE]
  mailroom queue retry ID|--all [--data DIR | --config FILE]
  mailroom queue delete ID [--data DIR | --config FILE]
`

const dkimUsage = `Usage:
  mailroom dkim generate DOMAIN [--data DIR | --config FILE]
`

const dnsUsage = `Usage:
  mailroom dns-records DOMAIN [--hostname MX-HOST] [--data DIR | --config FILE]
`

// newQueue builds the outbound queue of `serve` from the configuration.
func newQueue(cfg config.Config, st store.Store, m queue.Metrics, rec *recent.Log, log *slog.Logger) *queue.Queue {
	o := cfg.Outbound
	sched := make([]time.Duration, len(o.Queue.RetrySchedule))
	for i, d := range o.Queue.RetrySchedule {
		sched[i] = d.Duration
	}
	var j queue.Journal
	if rec != nil {
		j = rec
	}
	return queue.New(queue.Config{
		Journal:       j,
		Store:         st,
		Hostname:      cfg.Hostname,
		Logger:        log,
		Metrics:       m,
		Resolver:      queue.NewDNSResolver(o.DNSServer),
		RelayHost:     o.RelayHost,
		RelayUser:     o.RelayUser,
		RelayPassword: o.RelayPassword,
		RetrySchedule: sched,
		Lifetime:      o.Queue.Lifetime.Duration,
		PollInterval:  o.Queue.PollInterval.Duration,
		Workers:       o.Queue.Workers,
		PerDomain:     o.Queue.PerDomain,
		Lease:         o.Queue.Lease.Duration,
		DisableMTASTS: !o.Queue.MTASTS,
		Signer:        queue.NewDKIMSigner(dkimDir(cfg)),
	})
}

func dkimDir(cfg config.Config) string { return filepath.Join(cfg.DataDir, "dkim") }

// config returns the configuration the store flags name.
func (sf *storeFlags) loadConfig() (config.Config, error) {
	cfg, err := config.Load(sf.config)
	if err != nil {
		return cfg, err
	}
	if sf.config == "" || wasSet(sf.fs, "data") {
		cfg.DataDir = sf.data
	}
	if wasSet(sf.fs, "database") {
		cfg.Database = sf.database
	}
	return cfg, nil
}

// cmdQueue manages the outbound queue. It only writes the store, so it
// works while serve runs: serve's workers see the change on their next
// poll.
func cmdQueue(ctx context.Context, args []string, e env) error {
	fs := newFlagSet("queue", e.stderr)
	sf := addStoreFlags(fs)
	all := fs.Bool("all", false, "retry every queued message (retry)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		fmt.Fprint(e.stderr, e.cmd(queueUsage))
		return errUsage
	}
	sub, pos := pos[0], pos[1:]
	var id int64
	needID := sub == "show" || sub == "delete" || (sub == "retry" && !*all)
	switch {
	case sub != "list" && sub != "show" && sub != "retry" && sub != "delete":
		fmt.Fprintf(e.stderr, "mailroom: unknown queue command %q\n%s", sub, e.cmd(queueUsage))
		return errUsage
	case needID && len(pos) != 1, !needID && len(pos) != 0:
		fmt.Fprint(e.stderr, e.cmd(queueUsage))
		return errUsage
	case needID:
		if id, err = strconv.ParseInt(pos[0], 10, 64); err != nil || id <= 0 {
			return fmt.Errorf("bad queue id %q", pos[0])
		}
	}
	st, err := sf.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	switch sub {
	case "list":
		items, err := st.QueueItems(ctx)
		if err != nil {
			return err
		}
		if len(items) == 0 {
			fmt.Fprintln(e.stdout, "Queue is empty.")
			return nil
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tARRIVED\tSIZE\tFROM\tPENDING\tNEXT ATTEMPT\tHELD BY")
		now := time.Now()
		for _, it := range items {
			pending, next := 0, time.Time{}
			for _, r := range it.Recipients {
				if r.Status == store.RcptPending {
					pending++
					if next.IsZero() || r.NextAttempt.Before(next) {
						next = r.NextAttempt
					}
				}
			}
			from := it.From
			if from == "" {
				from = "<>"
			}
			nextS := "-"
			if !next.IsZero() {
				nextS = next.UTC().Format(time.RFC3339)
			}
			holder := it.LeasedAt(now) // the node delivering it now
			if holder == "" {
				holder = "-"
			}
			fmt.Fprintf(tw, "%d\t%s\t%d\t%s\t%d/%d\t%s\t%s\n", it.ID, it.Created.UTC().Format(time.RFC3339), it.Size, from, pending, len(it.Recipients), nextS, holder)
		}
		return tw.Flush()
	case "show":
		it, err := st.QueueItem(ctx, id)
		if err != nil {
			return queueErr(err, id)
		}
		from := it.From
		if from == "" {
			from = "<>"
		}
		fmt.Fprintf(e.stdout, "ID:      %d\nFrom:    %s\nArrived: %s\nSize:    %d\n", it.ID, from, it.Created.UTC().Format(time.RFC3339), it.Size)
		if holder := it.LeasedAt(time.Now()); holder != "" {
			fmt.Fprintf(e.stdout, "Held by: %s until %s\n", holder, it.LeaseUntil.UTC().Format(time.RFC3339))
		}
		for _, r := range it.Recipients {
			fmt.Fprintf(e.stdout, "\n%s\n  status:   %s\n  attempts: %d\n", r.Addr, r.Status, r.Attempts)
			if r.Status == store.RcptPending {
				fmt.Fprintf(e.stdout, "  next:     %s\n", r.NextAttempt.UTC().Format(time.RFC3339))
			}
			if r.LastError != "" {
				fmt.Fprintf(e.stdout, "  last:     %s\n", r.LastError)
			}
		}
		return nil
	case "retry":
		n, err := st.RetryQueueItem(ctx, id, time.Now())
		if err != nil {
			return queueErr(err, id)
		}
		fmt.Fprintf(e.stdout, "%d message(s) scheduled for immediate retry\n", n)
		return nil
	default: // delete
		if err := st.DeleteQueueItem(ctx, id); err != nil {
			return queueErr(err, id)
		}
		fmt.Fprintf(e.stdout, "Deleted queued message %d\n", id)
		return nil
	}
}

func queueErr(err error, id int64) error {
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("no queued message %d", id)
	}
	return err
}

// cmdDKIM generates DKIM keys: `mailroom dkim generate DOMAIN`.
func cmdDKIM(ctx context.Context, args []string, e env) error {
	fs := newFlagSet("dkim", e.stderr)
	sf := addStoreFlags(fs)
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 || pos[0] != "generate" {
		fmt.Fprint(e.stderr, e.cmd(dkimUsage))
		return errUsage
	}
	cfg, err := sf.loadConfig()
	if err != nil {
		return err
	}
	recs, err := queue.GenerateDKIM(dkimDir(cfg), pos[1])
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Created DKIM keys for %s in %s.\nPublish these TXT records:\n\n", pos[1], filepath.Join(dkimDir(cfg), strings.ToLower(pos[1])))
	for _, r := range recs {
		fmt.Fprintf(e.stdout, "%s. IN TXT %s\n", r.Name, txtQuote(r.Value))
	}
	return nil
}

// cmdDNSRecords prints every record a domain needs.
func cmdDNSRecords(ctx context.Context, args []string, e env) error {
	fs := newFlagSet("dns-records", e.stderr)
	sf := addStoreFlags(fs)
	host := fs.String("hostname", "", "the MX host name (default: hostname from the config)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fmt.Fprint(e.stderr, e.cmd(dnsUsage))
		return errUsage
	}
	cfg, err := sf.loadConfig()
	if err != nil {
		return err
	}
	domain := strings.ToLower(strings.TrimSuffix(pos[0], "."))
	mx := cfg.Hostname
	if *host != "" {
		mx = *host
	}
	mx = strings.TrimSuffix(mx, ".")
	if !isFQDN(mx) {
		fmt.Fprintf(e.stderr, "mailroom dns-records: warning: mail host %q is not a fully qualified domain name; set hostname in the config or pass --hostname\n", mx)
	}
	recs, err := dnsRecords(cfg, domain, mx, progOrDefault(e.prog))
	if err != nil {
		return err
	}
	for _, r := range recs {
		fmt.Fprintln(e.stdout, r.zoneLine())
	}
	return nil
}

// dnsRecord is one line of `dns-records`: a record, or a comment when
// Type is "".
type dnsRecord struct {
	Name, Type string
	Value      string // TXT unquoted; MX "10 host.", SRV "0 1 465 host.", CNAME "host."
}

// zoneLine writes the record in zone-file syntax (TXT values quoted).
func (r dnsRecord) zoneLine() string {
	switch r.Type {
	case "":
		return "; " + r.Value
	case "TXT":
		return r.Name + ". IN TXT " + txtQuote(r.Value)
	}
	return r.Name + ". IN " + r.Type + " " + r.Value
}

// dnsRecords lists what domain, served by mail host mx, should publish:
// MX, SPF, DKIM (the keys under the data directory), DMARC, the client
// autoconfiguration, MTA-STS and TLS-RPT records, with comments. prog
// names the command in hints. The web admin's DNS page shows the same.
func dnsRecords(cfg config.Config, domain, mx, prog string) ([]dnsRecord, error) {
	note := func(f string, a ...any) dnsRecord { return dnsRecord{Value: fmt.Sprintf(f, a...)} }
	out := []dnsRecord{
		note("DNS records for %s (mail host %s)", domain, mx),
		{domain, "MX", "10 " + mx + "."},
		{domain, "TXT", "v=spf1 mx -all"},
	}
	recs, err := queue.DKIMRecords(dkimDir(cfg), domain)
	if err != nil {
		return nil, err
	}
	if len(recs) == 0 {
		out = append(out, note("no DKIM keys yet: run `%s dkim generate %s`", prog, domain))
	}
	for _, r := range recs {
		out = append(out, dnsRecord{r.Name, "TXT", r.Value})
	}
	out = append(out, dnsRecord{"_dmarc." + domain, "TXT", "v=DMARC1; p=quarantine; adkim=r; aspf=r; rua=mailto:postmaster@" + domain})
	return append(out, clientRecords(cfg, domain, mx)...), nil
}

// clientRecords are the client autoconfiguration, MTA-STS and TLS-RPT
// records of domain served by mail host mx.
func clientRecords(cfg config.Config, domain, mx string) []dnsRecord {
	note := func(f string, a ...any) dnsRecord { return dnsRecord{Value: fmt.Sprintf(f, a...)} }
	out := []dnsRecord{note("client autoconfiguration: RFC 6186 and RFC 8314 §5.1 SRV records (implicit TLS preferred)")}
	for _, r := range []struct {
		service  string
		priority int
		port     int
	}{
		{"_submissions", 0, 465}, {"_submission", 10, 587},
		{"_imaps", 0, 993}, {"_imap", 10, 143},
		{"_pop3s", 0, 995}, {"_pop3", 10, 110},
	} {
		out = append(out, dnsRecord{r.service + "._tcp." + domain, "SRV", fmt.Sprintf("%d 1 %d %s.", r.priority, r.port, mx)})
	}
	out = append(out, note("Thunderbird autoconfig, Outlook Autodiscover and the MTA-STS policy host (HTTPS on port 443 of %s)", mx))
	for _, name := range []string{"autoconfig", "autodiscover", "mta-sts"} {
		out = append(out, dnsRecord{name + "." + domain, "CNAME", mx + "."})
	}
	out = append(out, dnsRecord{"_autodiscover._tcp." + domain, "SRV", "0 1 443 " + mx + "."})
	pol := httpserver.MTASTSPolicy{Mode: cfg.MTASTSMode, MaxAge: cfg.MTASTSMaxAge.Duration, MX: []string{mx}}
	out = append(out,
		note("MTA-STS (RFC 8461), mode %s: the id changes whenever the policy does", pol.Mode),
		dnsRecord{"_mta-sts." + domain, "TXT", "v=STSv1; id=" + pol.ID()},
		dnsRecord{"_smtp._tls." + domain, "TXT", "v=TLSRPTv1; rua=mailto:postmaster@" + domain},
	)
	if httpserver.PortOf(cfg.HTTPS) != 443 {
		out = append(out, note("note: the https listener is %q; autoconfig and MTA-STS clients connect to port 443", cfg.HTTPS))
	}
	return out
}

// isFQDN reports whether host looks like a fully qualified domain name:
// at least two labels, not localhost, not an address.
func isFQDN(host string) bool {
	host = strings.TrimSuffix(host, ".")
	if net.ParseIP(host) != nil || host == "localhost" || strings.HasSuffix(host, ".localhost") || strings.HasSuffix(host, ".local") {
		return false
	}
	return strings.Contains(host, ".")
}

// txtQuote writes a TXT value as quoted strings of at most 255 bytes
// (RFC 1035 §3.3.14): RSA keys need two.
func txtQuote(v string) string {
	var parts []string
	for len(v) > 255 {
		parts = append(parts, `"`+v[:255]+`"`)
		v = v[255:]
	}
	parts = append(parts, `"`+v+`"`)
	if len(parts) == 1 {
		return parts[0]
	}
	return "( " + strings.Join(parts, " ") + " )"
}

// newInbound builds the SPF/DKIM/DMARC checker of the MX listener.
// Loopback clients (local injection) are trusted.
func newInbound(cfg config.Config) *mailauth.Checker {
	return mailauth.New(mailauth.Config{
		Hostname:          cfg.Hostname,
		Resolver:          queue.NewDNSResolver(cfg.DNSServer),
		QuarantineRejects: cfg.DMARCRejectAction == "quarantine",
		SkipLoopback:      true,
	})
}

// mxConfig adds the inbound checks to the MX listener's configuration.
func mxConfig(cfg config.Config, c smtpserver.Config) smtpserver.Config {
	c.Inbound = newInbound(cfg)
	return c
}
