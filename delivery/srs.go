package delivery

import (
	"context"
	"fmt"
	"strings"

	"github.com/mailroom/mailroom/internal/srs"
	"github.com/mailroom/mailroom/store"
)

// SRS rewrites the envelope sender of forwarded mail (Sender Rewriting
// Scheme) and decodes bounces to the addresses it made. *srs.Rewriter
// implements it.
type SRS interface {
	// Domain is the domain of rewritten addresses.
	Domain() string
	// Forward returns sender rewritten into Domain.
	Forward(sender string) (string, error)
	// Reverse decodes an address Forward made; forged or expired
	// addresses are errors.
	Reverse(addr string) (string, error)
}

var _ SRS = (*srs.Rewriter)(nil)

// resolveSRS resolves a bounce to an SRS address of ours: the original
// sender it names, local or remote (a bounce is returned whatever the
// client's relay rights). A forged, expired or malformed one is
// ErrNoSuchUser (550 5.1.1): a backscatter spammer cannot use us as a
// relay by guessing the format.
func (d *Deliverer) resolveSRS(ctx context.Context, req Request) (Recipient, error) {
	orig, err := d.cfg.SRS.Reverse(req.Addr)
	if err != nil {
		d.log.Info("delivery: SRS address refused", "rcpt", req.Addr, "err", err)
		d.srsEvent(SRSRefused)
		return Recipient{Addr: req.Addr}, fmt.Errorf("%w: %w", ErrNoSuchUser, err)
	}
	_, domain, ok := splitAddress(orig)
	if !ok || domain == strings.ToLower(d.cfg.SRS.Domain()) {
		// Forward never rewrites into its own domain twice.
		return Recipient{Addr: req.Addr}, ErrNoSuchUser
	}
	rc, err := d.Resolve(ctx, Request{Addr: orig, Relay: true, IgnoreQuota: req.IgnoreQuota})
	if err != nil {
		return Recipient{Addr: req.Addr}, err
	}
	rc.Addr = req.Addr
	// What the bounce goes back to is no forwarding of ours: it keeps
	// its sender (normally the null sender).
	rc.ViaAlias = false
	d.log.Info("delivery: SRS bounce returned", "rcpt", req.Addr, "to", orig)
	d.srsEvent(SRSBounceDecoded)
	return rc, nil
}

// isSRSAddress reports whether local@domain is in our SRS namespace.
func (d *Deliverer) isSRSAddress(local, domain string) bool {
	s := d.cfg.SRS
	return s != nil && strings.EqualFold(domain, s.Domain()) && srs.IsSRS(local)
}

// forwardSender is the envelope sender for mail forwarded to another
// domain (an alias's remote target, a Sieve redirect): from rewritten
// with SRS, so the sender's SPF policy does not fail at the next hop.
// The null sender, a sender in a local domain (our SPF covers it) and
// a Deliverer without SRS keep from.
func (d *Deliverer) forwardSender(ctx context.Context, from string) string {
	if d.cfg.SRS == nil || from == "" {
		return from
	}
	at := strings.LastIndexByte(from, '@')
	if at < 0 {
		return from
	}
	if local, err := d.isLocalDomain(ctx, strings.ToLower(from[at+1:])); err != nil || local {
		return from
	}
	fwd, err := d.cfg.SRS.Forward(from)
	if err != nil {
		d.log.Warn("delivery: SRS rewrite failed; forwarding with the original sender", "from", from, "err", err)
		return from
	}
	d.srsEvent(SRSRewritten)
	return fwd
}

func (d *Deliverer) srsEvent(e string) {
	if d.cfg.Metrics != nil {
		d.cfg.Metrics.SRSEvent(e)
	}
}

// applySRS gives the remote recipients that aliases added (forwarded)
// the SRS sender: the whole queue entry when all remote recipients are
// forwarded, else a second entry beside the direct ones (only the
// transactional commit can store two; a Committer keeps one sender).
func (d *Deliverer) applySRS(ctx context.Context, c *Commit, direct, forwarded []string, env Envelope) {
	if len(forwarded) == 0 {
		return
	}
	from := d.forwardSender(ctx, c.From)
	if from == c.From {
		return
	}
	switch {
	case len(direct) == 0:
		c.From = from
	case d.Transactional():
		c.Remote = direct
		c.Extra = append(c.Extra, Outgoing{
			QueuedMessage: store.QueuedMessage{From: from, Recipients: forwarded, Raw: c.Raw, Created: c.Created},
			SignDomain:    env.SignDomain,
		})
	}
}
