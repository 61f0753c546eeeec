package main

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/mailroom/mailroom/delivery"
	"github.com/mailroom/mailroom/httpserver"
	"github.com/mailroom/mailroom/internal/config"
	"github.com/mailroom/mailroom/internal/connlimit"
	"github.com/mailroom/mailroom/internal/metrics"
	"github.com/mailroom/mailroom/internal/tlsconfig"
	"github.com/mailroom/mailroom/store"
)

// refuseHTTP answers plain-HTTP connections over the listener's limits.
var refuseHTTP = []byte("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\nRetry-After: 10\r\n\r\n")

var (
	_ metrics.ListenerStats = (*connlimit.Listener)(nil)
	_ httpserver.Metrics    = (*metrics.Metrics)(nil)
	_ metrics.QueueStats    = queueStats{}
)

// localDomains are the domains autoconfiguration and MTA-STS answer for:
// those with an account, and the alias domains of [aliases].
type localDomains struct {
	st      store.Store
	aliases delivery.Aliases
}

func (d localDomains) IsLocalDomain(ctx context.Context, domain string) (bool, error) {
	if d.aliases != nil && d.aliases.AliasDomain(domain) {
		return true, nil
	}
	return d.st.IsLocalDomain(ctx, domain)
}

// queueStats reads the outbound queue's depth for the metrics: items
// with pending recipients, due or not.
type queueStats struct{ st store.Store }

// farFuture makes DueQueue return every item with a pending recipient.
var farFuture = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

func (q queueStats) QueueStats(ctx context.Context, limit int) (int, time.Time, error) {
	items, err := q.st.DueQueue(ctx, farFuture, limit)
	if err != nil {
		return 0, time.Time{}, err
	}
	var oldest time.Time
	for _, it := range items {
		if oldest.IsZero() || it.Created.Before(oldest) {
			oldest = it.Created
		}
	}
	return len(items), oldest, nil
}

// readiness is what /readyz checks besides the store.
type readiness struct {
	listening atomic.Bool // every listener bound and serving
	queue     interface{ Running() bool }
}

// newHTTPServer builds the HTTP(S) server of `serve`.
func newHTTPServer(cfg config.Config, lv *live, st store.Store, m *metrics.Metrics, rd *readiness, tlsCfg *tls.Config, acme *tlsconfig.ACME, admin http.Handler, log *slog.Logger) *httpserver.Server {
	allow, _ := cfg.MetricsPrefixes() // checked by Validate
	mx := strings.TrimSuffix(cfg.Hostname, ".")
	var challenge func(http.Handler) http.Handler
	if acme != nil {
		challenge = acme.HTTPHandler // ACME HTTP-01 on the http listener
	}
	return httpserver.New(httpserver.Config{
		HTTPChallenge: challenge,
		Logger:        log,
		Hostname:      mx,
		Domains:       localDomains{st, liveAliases{lv}},
		Ports: httpserver.Ports{
			IMAPS: httpserver.PortOf(cfg.IMAPS), IMAP: httpserver.PortOf(cfg.IMAP),
			POP3S: httpserver.PortOf(cfg.POP3S), POP3: httpserver.PortOf(cfg.POP3),
			Submissions: httpserver.PortOf(cfg.SMTPS), Submission: httpserver.PortOf(cfg.Submission),
		},
		MetricsHandler: promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{
			Timeout:             10 * time.Second,
			MaxRequestsInFlight: 4,
		}),
		MetricsAllow: allow,
		MetricsToken: cfg.MetricsToken,
		Pprof:        cfg.Pprof,
		Ready: []httpserver.Check{
			{Name: "store", Func: func(ctx context.Context) error {
				_, err := st.IsLocalDomain(ctx, "readyz.invalid")
				return err
			}},
			{Name: "listeners", Func: func(context.Context) error {
				if !rd.listening.Load() {
					return errNotYet
				}
				return nil
			}},
			{Name: "queue", Func: func(context.Context) error {
				if !rd.queue.Running() {
					return errNotYet
				}
				return nil
			}},
		},
		MTASTS: httpserver.MTASTSPolicy{
			Mode: cfg.MTASTSMode, MaxAge: cfg.MTASTSMaxAge.Duration, MX: []string{mx},
		},
		TLSConfig: tlsCfg,
		Metrics:   m,
		Admin:     admin,
	})
}

// errNotYet is a readiness condition that does not hold yet (or any more).
var errNotYet = errors.New("not running")
