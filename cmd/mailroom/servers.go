package main

import (
	"context"
	"log/slog"
	"net"

	"github.com/mailroom/mailroom/auth"
	"github.com/mailroom/mailroom/imapserver"
	"github.com/mailroom/mailroom/internal/config"
	"github.com/mailroom/mailroom/pop3server"
	"github.com/mailroom/mailroom/smtpserver"
	"github.com/mailroom/mailroom/store"
)

// runner is one listener of `serve`.
type runner struct {
	name     string
	addr     string
	serve    func(net.Listener) error
	shutdown func(context.Context) error
}

// buildServers constructs every protocol server from the configuration.
func buildServers(cfg config.Config, st store.Store, authn *auth.Authenticator, q smtpserver.Queue, log *slog.Logger) []runner {
	lim := cfg.Limits
	smtpConfig := func(mode smtpserver.Mode, name string) smtpserver.Config {
		return smtpserver.Config{
			Mode:            mode,
			Hostname:        cfg.Hostname,
			Store:           st,
			Auth:            authn,
			Queue:           q,
			Logger:          log.With("component", name),
			MaxMessageBytes: lim.MaxMessageBytes,
			MaxRecipients:   lim.MaxRecipients,
			MaxLineLength:   lim.SMTPLineLength,
			ReadTimeout:     lim.SMTPCommandTimeout.Duration,
			WriteTimeout:    lim.SMTPCommandTimeout.Duration,
		}
	}
	mx := smtpserver.New(mxConfig(cfg, smtpConfig(smtpserver.ModeMX, "smtp")))
	sub := smtpserver.New(smtpConfig(smtpserver.ModeSubmission, "submission"))
	pop := pop3server.New(pop3server.Config{
		Hostname:    cfg.Hostname,
		Maildrop:    st,
		Auth:        authn,
		Logger:      log.With("component", "pop3"),
		IdleTimeout: lim.POP3IdleTimeout.Duration,
	})
	imap := imapserver.New(imapserver.Config{
		Hostname:       cfg.Hostname,
		Store:          st,
		Auth:           authn,
		Logger:         log.With("component", "imap"),
		MaxLineLength:  lim.IMAPMaxLineLength,
		MaxLiteralSize: lim.MaxMessageBytes,
		IdleTimeout:    lim.IMAPIdleTimeout.Duration,
	})
	return []runner{
		{"smtp", cfg.SMTP, mx.Serve, mx.Shutdown},
		{"submission", cfg.Submission, sub.Serve, sub.Shutdown},
		{"pop3", cfg.POP3, pop.Serve, pop.Shutdown},
		{"imap", cfg.IMAP, imap.Serve, imap.Shutdown},
	}
}
