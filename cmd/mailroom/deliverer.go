package main

import (
	"log/slog"

	"github.com/mailroom/mailroom/delivery"
	"github.com/mailroom/mailroom/internal/config"
	"github.com/mailroom/mailroom/internal/recent"
	"github.com/mailroom/mailroom/queue"
	"github.com/mailroom/mailroom/sieve"
	"github.com/mailroom/mailroom/store"
	"github.com/mailroom/mailroom/store/postgres"
)

// The [quota] and [aliases] policies are what the Deliverer applies.
var (
	_ delivery.Quota   = (*config.Quota)(nil)
	_ delivery.Aliases = (*config.AliasTable)(nil)
)

// recipientCache is a store that can answer a delivery's lookups from a
// per-node cache (PostgreSQL: each lookup is otherwise a round trip).
type recipientCache interface {
	Recipients() store.Store
}

var _ recipientCache = (*postgres.Store)(nil)

// newDeliverer builds the one delivery path of `serve` (package
// delivery): SMTP (MX and submission) and the queue's DSNs go through
// it, and it commits local copies and outbound queue entries in one
// store transaction, signing the queued copy with q first.
func newDeliverer(cfg config.Config, lv *live, st store.Store, q *queue.Queue, m delivery.Metrics, rec *recent.Log, log *slog.Logger) (*delivery.Deliverer, error) {
	// The global Sieve scripts: one that does not compile stops serve
	// with its file and line, rather than every delivery logging it.
	before, after, err := cfg.Filtering.CompileSieve(sieveLimits(cfg))
	if err != nil {
		return nil, err
	}
	rw, err := newSRS(cfg)
	if err != nil {
		return nil, err
	}
	var sr delivery.SRS
	if rw != nil {
		sr = rw
	}
	var j delivery.Journal
	if rec != nil {
		j = rec
	}
	if rc, ok := st.(recipientCache); ok {
		st = rc.Recipients()
	}
	return delivery.New(delivery.Config{
		Journal: j,
		SRS:     sr,
		Metrics: m,
		OutboundLimits: &delivery.OutboundLimits{
			MessagesPerHour:      cfg.OutboundLimits.MessagesPerHour,
			MessagesPerDay:       cfg.OutboundLimits.MessagesPerDay,
			RecipientsPerMessage: cfg.OutboundLimits.RecipientsPerMessage,
			RecipientsPerDay:     cfg.OutboundLimits.RecipientsPerDay,
			ExternalPerDay:       cfg.OutboundLimits.ExternalRecipientsPerDay,
			FailedRatio:          cfg.OutboundLimits.FailedRecipientRatio,
			FailedMin:            cfg.OutboundLimits.FailedRecipientMin,
			Hard:                 cfg.OutboundLimits.Hard,
		},
		Sieve: delivery.SieveConfig{
			Before: before, After: after, Limits: sieveLimits(cfg),
			Timeout:       cfg.Limits.SieveTimeout.Duration,
			GlobalScripts: cfg.Filtering.GlobalSieveScript,
			SpamHeaders:   spamHeaders(cfg),
			SpamMaxScore:  cfg.SieveSpamMaxScore,
			VirusHeader:   cfg.SieveVirusHeader,
		},
		Store:              st,
		Queue:              q,
		Hostname:           cfg.Hostname,
		Aliases:            liveAliases{lv},
		RecipientDelimiter: cfg.RecipientDelimiter,
		Quota:              liveQuota{lv},
		Logger:             log,
	})
}

// sieveLimits are the limits every Sieve script is compiled and run
// with: at delivery and when ManageSieve checks an upload.
func sieveLimits(cfg config.Config) sieve.Limits {
	l := cfg.Limits
	return sieve.Limits{
		MaxScriptSize: l.SieveMaxScriptBytes,
		MaxActions:    l.SieveMaxActions,
		MaxRedirects:  l.SieveMaxRedirects,
		MaxSteps:      l.SieveMaxSteps,
	}
}

// spamHeaders is sieve_spam_headers, nil (the defaults) when empty.
func spamHeaders(cfg config.Config) []string {
	if len(cfg.SieveSpamHeaders) == 0 {
		return nil
	}
	return cfg.SieveSpamHeaders
}
