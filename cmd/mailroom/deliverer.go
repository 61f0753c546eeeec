package main

import (
	"log/slog"

	"github.com/mailroom/mailroom/delivery"
	"github.com/mailroom/mailroom/internal/config"
	"github.com/mailroom/mailroom/queue"
	"github.com/mailroom/mailroom/sieve"
	"github.com/mailroom/mailroom/store"
)

// The [quota] and [aliases] policies are what the Deliverer applies.
var (
	_ delivery.Quota   = (*config.Quota)(nil)
	_ delivery.Aliases = (*config.AliasTable)(nil)
)

// newDeliverer builds the one delivery path of `serve` (package
// delivery): SMTP (MX and submission) and the queue's DSNs go through
// it, and it commits local copies and outbound queue entries in one
// store transaction, signing the queued copy with q first.
func newDeliverer(cfg config.Config, st store.Store, q *queue.Queue, log *slog.Logger) (*delivery.Deliverer, error) {
	// The global Sieve scripts: one that does not compile stops serve
	// with its file and line, rather than every delivery logging it.
	before, after, err := cfg.Filtering.CompileSieve(sieve.Limits{})
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
	return delivery.New(delivery.Config{
		SRS: sr,
		OutboundLimits: &delivery.OutboundLimits{
			MessagesPerHour:      cfg.OutboundLimits.MessagesPerHour,
			MessagesPerDay:       cfg.OutboundLimits.MessagesPerDay,
			RecipientsPerMessage: cfg.OutboundLimits.RecipientsPerMessage,
			RecipientsPerDay:     cfg.OutboundLimits.RecipientsPerDay,
			ExternalPerDay:       cfg.OutboundLimits.ExternalRecipientsPerDay,
			Hard:                 cfg.OutboundLimits.Hard,
		},
		Sieve:              delivery.SieveConfig{Before: before, After: after},
		Store:              st,
		Queue:              q,
		Hostname:           cfg.Hostname,
		Aliases:            cfg.Aliasing.Table(),
		RecipientDelimiter: cfg.RecipientDelimiter,
		Quota:              &cfg.Quota,
		Logger:             log,
	})
}
