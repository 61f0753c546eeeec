package main

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"sync"

	"github.com/mailroom/mailroom/auth"
	"github.com/mailroom/mailroom/delivery"
	"github.com/mailroom/mailroom/dnsbl"
	"github.com/mailroom/mailroom/httpserver"
	"github.com/mailroom/mailroom/imapserver"
	"github.com/mailroom/mailroom/internal/config"
	"github.com/mailroom/mailroom/internal/connlimit"
	"github.com/mailroom/mailroom/internal/metrics"
	"github.com/mailroom/mailroom/internal/recent"
	"github.com/mailroom/mailroom/internal/tlsconfig"
	"github.com/mailroom/mailroom/managesieve"
	"github.com/mailroom/mailroom/milter"
	"github.com/mailroom/mailroom/pop3server"
	"github.com/mailroom/mailroom/queue"
	"github.com/mailroom/mailroom/smtpserver"
	"github.com/mailroom/mailroom/spamlearn"
	"github.com/mailroom/mailroom/store"
	"github.com/mailroom/mailroom/store/mboxindex"
	"github.com/mailroom/mailroom/store/postgres"
	"github.com/mailroom/mailroom/store/sqlite"
)

// runner is one listener of `serve`.
type runner struct {
	name     string
	addr     string
	serve    func(net.Listener) error
	shutdown func(context.Context) error
	refuse   []byte // written to connections over the limits; nil for implicit TLS
}

// The [quota] policy is what both servers ask for an account's limits.
var (
	_ smtpserver.Quota = (*config.Quota)(nil)
	_ imapserver.Quota = (*config.Quota)(nil)
	// [aliases] is how the SMTP server expands inbound recipients.
	_ smtpserver.Aliases = (*config.AliasTable)(nil)
	_ httpserver.Domains = localDomains{}
	// The servers report to the process's metrics.
	_ smtpserver.Metrics  = (*metrics.Metrics)(nil)
	_ pop3server.Metrics  = (*metrics.Metrics)(nil)
	_ imapserver.Metrics  = (*metrics.Metrics)(nil)
	_ managesieve.Metrics = (*metrics.Metrics)(nil)
	_ auth.LoginObserver  = (*metrics.Metrics)(nil)
	_ queue.Metrics       = (*metrics.Metrics)(nil)
	_ sqlite.Metrics      = (*metrics.Metrics)(nil)
	_ postgres.Metrics    = (*metrics.Metrics)(nil)
	_ milter.Metrics      = (*metrics.Metrics)(nil)
	_ spamlearn.Metrics   = (*metrics.Metrics)(nil)
	_ delivery.Metrics    = (*metrics.Metrics)(nil)
	// Greylisting state lives in the store, shared by every node.
	_ smtpserver.GreylistStore = (store.Store)(nil)
)

// reloadTargets are the servers a config reload hands settings to.
type reloadTargets struct {
	smtp []*smtpserver.Server
	imap *imapserver.Server
	pop3 *pop3server.Server
	web  *httpserver.Server
	// msieve's limits reload; Sieve's evaluation limits at delivery do not.
	msieve *managesieve.Server
	// learner (nil without [rspamd] controller) is not reloaded: serve
	// runs it beside the servers.
	learner *spamlearn.Learner
}

// buildServers constructs every protocol server from the configuration;
// aliases and quotas are lv's, which a reload replaces. Each server
// reports to m; logins are labelled with the protocol.
func buildServers(cfg config.Config, lv *live, st store.Store, authn *auth.Authenticator, dlv *delivery.Deliverer, q kicker, tlsCfg *tls.Config, acme *tlsconfig.ACME, m *metrics.Metrics, rd *readiness, rec *recent.Log, log *slog.Logger) ([]runner, reloadTargets, error) {
	lim := cfg.Limits
	plaintext := plaintextPolicy(cfg)
	aliases := liveAliases{lv}
	// One in-flight budget for MX and submission together.
	budget := smtpserver.NewBudget(lim.SMTPMaxInFlightBytes, lim.MaxMessageBytes)
	smtpConfig := func(mode smtpserver.Mode, name string) smtpserver.Config {
		return smtpserver.Config{
			Mode:            mode,
			Hostname:        cfg.Hostname,
			Store:           st,
			Auth:            authn.ForProtocol(name),
			Metrics:         m,
			Deliverer:       dlv,
			Logger:          log.With("component", name),
			MaxMessageBytes: lim.MaxMessageBytes,
			MaxRecipients:   lim.MaxRecipients,
			MaxLineLength:   lim.SMTPLineLength,
			ReadTimeout:     lim.SMTPCommandTimeout.Duration,
			WriteTimeout:    lim.SMTPCommandTimeout.Duration,
			DataTimeout:     lim.SMTPDataTimeout.Duration,
			TLSConfig:       tlsCfg,
			Budget:          budget,
			SpoolDir:        cfg.SpoolPath(),

			HandshakeTimeout: lim.TLSHandshakeTimeout.Duration,

			// The Deliverer resolves recipients with these; the
			// server reads them for the sender checks (sender.go).
			Aliases:            aliases,
			RecipientDelimiter: cfg.RecipientDelimiter,
			AllowPlaintextAuth: plaintext,
		}
	}
	mxCfg, subCfg := mxConfig(cfg, smtpConfig(smtpserver.ModeMX, "smtp")), smtpConfig(smtpserver.ModeSubmission, "submission")
	// [[milters]] by listener; no chain leaves Filter nil (a nil
	// *milter.Chain in the interface would not be).
	for _, l := range []struct {
		name string
		c    *smtpserver.Config
	}{{config.MilterSMTP, &mxCfg}, {config.MilterSubmission, &subCfg}} {
		ch, err := cfg.MilterChain(l.name, log.With("component", l.name), m)
		if err != nil {
			return nil, reloadTargets{}, err
		}
		if ch != nil {
			l.c.Filter = ch
		}
	}
	mxCfg.GreetPause = lim.SMTPGreetPause.Duration
	mxCfg.ClientChecks = cfg.ClientChecks.SMTP()
	if g := cfg.Greylist; g.Enabled {
		mxCfg.Greylist = &smtpserver.GreylistConfig{Store: st, Delay: g.Delay.Duration, Expire: g.Expire.Duration, AutoAllow: g.AutoAllow}
	}
	if cfg.DNSBL.Enabled() {
		r, err := dnsbl.NewDNSResolver(cfg.DNSServer)
		if err != nil {
			return nil, reloadTargets{}, err
		}
		bl, err := cfg.DNSBL.Checker(r, log.With("component", "dnsbl"))
		if err != nil {
			return nil, reloadTargets{}, err
		}
		mxCfg.Blocklist = bl
	}
	mx := smtpserver.New(mxCfg)
	sub := smtpserver.New(subCfg)
	// One index of mailbox metadata for the IMAP and POP3 sessions.
	indexes := mboxindex.NewCache(st, 0)
	pop := pop3server.New(pop3server.Config{
		Hostname:    cfg.Hostname,
		Maildrop:    st,
		Index:       indexes,
		Auth:        authn.ForProtocol("pop3"),
		Metrics:     m,
		Logger:      log.With("component", "pop3"),
		IdleTimeout: lim.POP3IdleTimeout.Duration,
		TLSConfig:   tlsCfg,

		HandshakeTimeout: lim.TLSHandshakeTimeout.Duration,

		AllowPlaintextAuth: plaintext,
	})
	learner, err := cfg.Rspamd.Learner(st, m, log.With("component", "spamlearn"))
	if err != nil {
		return nil, reloadTargets{}, err
	}
	var copies imapserver.CopyObserver
	if learner != nil {
		copies = learner // a nil *Learner in the interface would not be nil
	}
	imap := imapserver.New(imapserver.Config{
		Hostname:       cfg.Hostname,
		Store:          st,
		Indexes:        indexes,
		Auth:           authn.ForProtocol("imap"),
		Metrics:        m,
		Logger:         log.With("component", "imap"),
		MaxLineLength:  lim.IMAPMaxLineLength,
		MaxLiteralSize: lim.MaxMessageBytes,
		MaxCommandSize: lim.IMAPMaxCommandBytes,

		MaxAppendMessages: lim.IMAPMaxAppendMessages,
		MaxAppendBytes:    lim.IMAPMaxAppendBytes,
		MaxMailboxes:      lim.IMAPMaxMailboxes,

		MetadataMaxEntryName:  lim.IMAPMetadataMaxEntryName,
		MetadataMaxValueBytes: lim.IMAPMetadataMaxValueBytes,
		MetadataMaxEntries:    lim.IMAPMetadataMaxEntries,
		IdleTimeout:           lim.IMAPIdleTimeout.Duration,
		TLSConfig:             tlsCfg,
		Quota:                 liveQuota{lv},
		Copies:                copies,

		HandshakeTimeout: lim.TLSHandshakeTimeout.Duration,

		AllowPlaintextAuth: plaintext,
	})
	msieve := managesieve.New(managesieve.Config{
		Hostname:      cfg.Hostname,
		Store:         st,
		Auth:          authn.ForProtocol("managesieve"),
		Metrics:       m,
		Logger:        log.With("component", "managesieve"),
		IdleTimeout:   lim.ManageSieveIdleTimeout.Duration,
		MaxLineLength: lim.ManageSieveMaxLineLength,
		MaxScripts:    lim.SieveMaxScripts,
		MaxScriptSize: lim.SieveMaxScriptBytes,
		SieveLimits:   sieveLimits(cfg),
		TLSConfig:     tlsCfg,

		HandshakeTimeout: lim.TLSHandshakeTimeout.Duration,

		AllowPlaintextAuth: plaintext,
	})
	admin, err := newWebAdmin(cfg, lv, st, authn, q, m, tlsCfg, rec, log.With("component", "webadmin"))
	if err != nil {
		return nil, reloadTargets{}, err
	}
	web := newHTTPServer(cfg, lv, st, m, rd, tlsCfg, acme, admin, log.With("component", "http"))
	subStop, popStop, imapStop, webStop := once(sub.Shutdown), once(pop.Shutdown), once(imap.Shutdown), once(web.Shutdown)
	return []runner{
		{"smtp", cfg.SMTP, mx.Serve, mx.Shutdown, connlimit.RefuseSMTP},
		{"submission", cfg.Submission, sub.Serve, subStop, connlimit.RefuseSMTP},
		{"pop3", cfg.POP3, pop.Serve, popStop, connlimit.RefusePOP3},
		{"imap", cfg.IMAP, imap.Serve, imapStop, connlimit.RefuseIMAP},
		// Implicit TLS (RFC 8314) on the same servers; their Shutdown
		// runs once for both listeners.
		{"smtps", cfg.SMTPS, sub.ServeTLS, subStop, nil},
		{"pop3s", cfg.POP3S, pop.ServeTLS, popStop, nil},
		{"imaps", cfg.IMAPS, imap.ServeTLS, imapStop, nil},
		// Sieve script upload (RFC 5804), STARTTLS only.
		{"managesieve", cfg.ManageSieve, msieve.Serve, msieve.Shutdown, connlimit.RefuseManageSieve},
		// Metrics, health, autoconfiguration, MTA-STS (httpserver).
		{"http", cfg.HTTP, web.Serve, webStop, refuseHTTP},
		{"https", cfg.HTTPS, web.ServeTLS, webStop, nil},
	}, reloadTargets{smtp: []*smtpserver.Server{mx, sub}, imap: imap, pop3: pop, web: web, msieve: msieve, learner: learner}, nil
}

// once makes a Shutdown shared by two listeners run once; a second caller
// waits for the first and gets its result.
func once(f func(context.Context) error) func(context.Context) error {
	var o sync.Once
	var err error
	return func(ctx context.Context) error {
		o.Do(func() { err = f(ctx) })
		return err
	}
}
