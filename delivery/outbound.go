package delivery

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mailroom/mailroom/message"
	"github.com/mailroom/mailroom/store"
)

// OutboundLimits bound what one account may send on submission, against
// a compromised account turned spam cannon (*config.OutboundLimits
// fills it). 0 is no limit for that count.
type OutboundLimits struct {
	MessagesPerHour      int64
	MessagesPerDay       int64
	RecipientsPerMessage int64
	RecipientsPerDay     int64
	// ExternalPerDay bounds the distinct recipients in other domains a
	// day (estimated from a bitmap: within a few percent).
	ExternalPerDay int64
	// FailedRatio bounds the share of the day's recipients that failed
	// for good (CountFailedRecipients) once the day has FailedMin
	// recipients; 0 is no limit.
	FailedRatio float64
	FailedMin   int64
	// Hard refuses with a permanent error (550 5.7.1) instead of a
	// temporary one (451 4.7.1).
	Hard bool
}

// OutboundStore is the store part of the limits: counters shared by
// every node (both backends implement it).
type OutboundStore interface {
	OutboundCounters(ctx context.Context, accountID, day int64) (store.OutboundCounters, error)
	AddOutbound(ctx context.Context, accountID, day, hour, recipients int64, external []byte) error
	MarkOutboundNotified(ctx context.Context, accountID, day int64) (bool, error)
	AddOutboundFailed(ctx context.Context, accountID, day, n int64) error
}

var _ OutboundStore = (store.Store)(nil)

// Errors of a submission over an outbound limit.
var (
	ErrOutboundLimit     = errors.New("delivery: outbound limit reached")
	ErrOutboundLimitHard = errors.New("delivery: outbound limit reached (hard)")
)

// outboundCheck is what the limit check found, for the record after
// the commit.
type outboundCheck struct {
	st        OutboundStore
	acct      store.Account
	day, hour int64
	rcpts     int64
	external  []byte
}

// checkOutbound applies Config.OutboundLimits to a submission by acct:
// one read of the account's counters of the day. Over a limit it logs,
// tells the postmaster (once per account and day) and returns
// ErrOutboundLimit (ErrOutboundLimitHard with Hard).
func (d *Deliverer) checkOutbound(ctx context.Context, acct store.Account, rcpts []Recipient, remote []string) (*outboundCheck, error) {
	lim := d.cfg.OutboundLimits
	st, ok := d.dir.(OutboundStore)
	if lim == nil || !ok {
		return nil, nil
	}
	now := d.cfg.Now().UTC()
	oc := &outboundCheck{st: st, acct: acct, day: now.Unix() / 86400, hour: now.Unix() / 3600, rcpts: int64(len(rcpts))}
	if len(remote) > 0 {
		oc.external = make([]byte, store.OutboundBitmapBytes)
		for _, r := range remote {
			i, bit := store.OutboundBit(strings.ToLower(r))
			oc.external[i] |= bit
		}
	}
	c, err := st.OutboundCounters(ctx, acct.ID, oc.day)
	if err != nil {
		return nil, err
	}
	hourMsgs := c.HourMessages
	if c.Hour != oc.hour {
		hourMsgs = 0
	}
	var over string
	var count, limit int64
	switch {
	case lim.RecipientsPerMessage > 0 && oc.rcpts > lim.RecipientsPerMessage:
		over, count, limit = "recipients_per_message", oc.rcpts, lim.RecipientsPerMessage
	case lim.MessagesPerHour > 0 && hourMsgs+1 > lim.MessagesPerHour:
		over, count, limit = "messages_per_hour", hourMsgs+1, lim.MessagesPerHour
	case lim.MessagesPerDay > 0 && c.DayMessages+1 > lim.MessagesPerDay:
		over, count, limit = "messages_per_day", c.DayMessages+1, lim.MessagesPerDay
	case lim.RecipientsPerDay > 0 && c.DayRecipients+oc.rcpts > lim.RecipientsPerDay:
		over, count, limit = "recipients_per_day", c.DayRecipients+oc.rcpts, lim.RecipientsPerDay
	case lim.FailedRatio > 0 && c.DayRecipients >= max(lim.FailedMin, 1) && float64(c.DayFailed) > lim.FailedRatio*float64(c.DayRecipients):
		// count and limit in percent of the day's recipients.
		over, count, limit = "failed_recipient_ratio", c.DayFailed*100/c.DayRecipients, int64(lim.FailedRatio*100+0.5)
	case lim.ExternalPerDay > 0 && oc.external != nil:
		if n := store.OutboundDistinct(store.OrBitmaps(c.External, oc.external)); n > float64(lim.ExternalPerDay)+0.5 {
			over, count, limit = "external_recipients_per_day", int64(min(n, 1e12)+0.5), lim.ExternalPerDay
		}
	}
	if over == "" {
		return oc, nil
	}
	d.log.Warn("delivery: outbound limit reached", "account", acct.Email, "limit", over, "count", count, "max", limit, "hard", lim.Hard,
		"day_recipients", c.DayRecipients, "day_failed", c.DayFailed)
	if d.cfg.Metrics != nil {
		d.cfg.Metrics.OutboundLimitHit(over)
	}
	d.notifyPostmaster(ctx, st, oc, over, limit)
	if lim.Hard {
		return nil, fmt.Errorf("%w: %s", ErrOutboundLimitHard, over)
	}
	return nil, fmt.Errorf("%w: %s", ErrOutboundLimit, over)
}

// recordOutbound counts an accepted submission: one upsert. A failure
// is logged; the message is already committed.
func (d *Deliverer) recordOutbound(ctx context.Context, oc *outboundCheck) {
	if oc == nil {
		return
	}
	if err := oc.st.AddOutbound(context.WithoutCancel(ctx), oc.acct.ID, oc.day, oc.hour, oc.rcpts, oc.external); err != nil {
		d.log.Warn("delivery: counting outbound message", "account", oc.acct.Email, "err", err)
	}
}

// notifyPostmaster delivers a note to the postmaster the first time an
// account reaches a limit on a day (on any node).
func (d *Deliverer) notifyPostmaster(ctx context.Context, st OutboundStore, oc *outboundCheck, over string, limit int64) {
	ctx = context.WithoutCancel(ctx)
	first, err := st.MarkOutboundNotified(ctx, oc.acct.ID, oc.day)
	if err != nil {
		d.log.Warn("delivery: outbound limit notice", "err", err)
		return
	}
	if !first {
		return
	}
	host := strings.ToLower(d.cfg.Hostname)
	pm, err := d.resolvePostmaster(ctx, host)
	if err != nil {
		d.log.Warn("delivery: outbound limit notice: no postmaster", "err", err)
		return
	}
	now := d.cfg.Now()
	var b strings.Builder
	fmt.Fprintf(&b, "From: Mail Delivery System <MAILER-DAEMON@%s>\r\n", host)
	fmt.Fprintf(&b, "To: <postmaster@%s>\r\n", host)
	fmt.Fprintf(&b, "Subject: Outbound limit reached by %s\r\n", cleanHeaderValue(oc.acct.Email))
	fmt.Fprintf(&b, "Date: %s\r\n", now.Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Message-ID: %s\r\n", d.messageID())
	b.WriteString("Auto-Submitted: auto-generated\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n")
	if over == "failed_recipient_ratio" {
		fmt.Fprintf(&b, "The account %s reached its outbound limit %s = %d%%: too many of its recipients today were refused or bounced.\r\n",
			cleanHeaderValue(oc.acct.Email), over, limit)
	} else {
		fmt.Fprintf(&b, "The account %s reached its outbound limit %s = %d.\r\n", cleanHeaderValue(oc.acct.Email), over, limit)
	}
	b.WriteString("Further messages from it are refused until the count falls under the limit.\r\n")
	b.WriteString("If the account did not send this mail, it may be compromised: change its password.\r\n")
	b.WriteString("This is the only notice for this account today.\r\n")
	raw := []byte(b.String())
	msg := store.NewMessage{Raw: raw, Part: message.Parse(raw), InternalDate: now}
	if _, err := d.Deliver(ctx, Envelope{Recipients: []Recipient{{Addr: "postmaster@" + host, Accounts: []store.Account{pm}}}, NoSieve: true}, msg); err != nil {
		d.log.Warn("delivery: outbound limit notice not delivered", "err", err)
	}
}

// CountFailedRecipients counts n recipients of a message from the
// envelope sender from that failed for good (refused by the next hop,
// or expired in the queue) against the sender's account, for
// OutboundLimits.FailedRatio: one upsert per bounced message. A sender
// that is not exactly one local account counts nowhere; without the
// ratio limit nothing is written. Failures are logged, not returned:
// the bounce goes on regardless.
func (d *Deliverer) CountFailedRecipients(ctx context.Context, from string, n int) {
	lim := d.cfg.OutboundLimits
	st, ok := d.dir.(OutboundStore)
	if lim == nil || lim.FailedRatio <= 0 || !ok || n <= 0 || from == "" {
		return
	}
	rc, err := d.Resolve(ctx, Request{Addr: from, IgnoreQuota: true})
	if err != nil || len(rc.Accounts) != 1 || len(rc.Remote) != 0 {
		return
	}
	day := d.cfg.Now().UTC().Unix() / 86400
	if err := st.AddOutboundFailed(context.WithoutCancel(ctx), rc.Accounts[0].ID, day, int64(n)); err != nil {
		d.log.Warn("delivery: counting failed recipients", "account", rc.Accounts[0].Email, "err", err)
	}
}
