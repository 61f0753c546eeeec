package main

import (
	"crypto/tls"
	"log/slog"
	"strings"

	"github.com/mailroom/mailroom/auth"
	"github.com/mailroom/mailroom/internal/config"
	"github.com/mailroom/mailroom/internal/metrics"
	"github.com/mailroom/mailroom/internal/recent"
	"github.com/mailroom/mailroom/queue"
	"github.com/mailroom/mailroom/store"
	"github.com/mailroom/mailroom/webadmin"
)

var (
	_ webadmin.Quota    = (*config.Quota)(nil)
	_ webadmin.Kicker   = kicker(nil)
	_ webadmin.Resolver = (*queue.DNSResolver)(nil)
	_ webadmin.DNS      = adminDNS{}
)

// adminDNS gives the DNS page what `mailroom dns-records` prints and
// makes keys as `mailroom dkim generate` does.
type adminDNS struct{ cfg config.Config }

func (d adminDNS) Records(domain string) ([]webadmin.DNSRecord, error) {
	mx := strings.TrimSuffix(d.cfg.Hostname, ".")
	recs, err := dnsRecords(d.cfg, domain, mx, "mailroom")
	if err != nil {
		return nil, err
	}
	out := make([]webadmin.DNSRecord, len(recs))
	for i, r := range recs {
		out[i] = webadmin.DNSRecord{Name: r.Name, Type: r.Type, Value: r.Value}
	}
	return out, nil
}

func (d adminDNS) GenerateDKIM(domain string) ([]webadmin.DNSRecord, error) {
	recs, err := queue.GenerateDKIM(dkimDir(d.cfg), domain)
	if err != nil {
		return nil, err
	}
	out := make([]webadmin.DNSRecord, len(recs))
	for i, r := range recs {
		out[i] = webadmin.DNSRecord{Name: r.Name, Type: "TXT", Value: r.Value}
	}
	return out, nil
}

type kicker interface{ Kick() }

// newWebAdmin builds the /admin/ and /account/ pages: sign-in through
// the Authenticator IMAP uses (same throttle), the admins of the config
// file, the dashboard's counters from the same sources as SIGUSR1's log
// line, and the expiry of the certificate served for the hostname.
func newWebAdmin(cfg config.Config, lv *live, st store.Store, authn *auth.Authenticator, q kicker, m *metrics.Metrics, tlsCfg *tls.Config, rec *recent.Log, log *slog.Logger) (*webadmin.Server, error) {
	c := &counters{auth: authn, metrics: m}
	hostname := strings.TrimSuffix(cfg.Hostname, ".")
	return webadmin.New(webadmin.Config{
		Store:         st,
		Auth:          authn.ForProtocol("http"),
		Admins:        cfg.Admins,
		ConfigAliases: func() map[string][]string { return lv.aliases.Load().Entries() }, // as reloaded
		Quota:         liveQuota{lv},
		Queue:         q,
		Counters:      c.snapshot,
		Recent:        recentOrNil(rec),
		DNS:           adminDNS{cfg},
		Resolver:      queue.NewDNSResolver(cfg.DNSServer),
		Certificates: func() []webadmin.Certificate {
			if tlsCfg == nil || tlsCfg.GetCertificate == nil {
				return nil
			}
			cert, err := tlsCfg.GetCertificate(&tls.ClientHelloInfo{ServerName: hostname})
			if err != nil || cert == nil || cert.Leaf == nil {
				return nil
			}
			return []webadmin.Certificate{{Name: hostname + " (" + cert.Leaf.Subject.CommonName + ")", NotAfter: cert.Leaf.NotAfter}}
		},
		IdleTimeout:  cfg.WebSessionIdle.Duration,
		MaxAge:       cfg.WebSessionMaxAge.Duration,
		MaxSessions:  cfg.WebMaxSessions,
		MaxFormBytes: cfg.WebFormMaxBytes,
		Logger:       log,
	})
}

// recentOrNil is rec as a webadmin.Recent, nil for none (not a nil
// pointer in an interface).
func recentOrNil(rec *recent.Log) webadmin.Recent {
	if rec == nil {
		return nil
	}
	return rec
}
