// Package delivery is mailroom's one delivery path: it decides where a
// message goes (local accounts, through aliases, subaddresses, catch-alls
// and the postmaster rule, or the outbound queue) and makes it durable,
// the local copies and the outbound queue entry in one store transaction.
//
// It knows no protocol. The SMTP server resolves each RCPT with Resolve
// and commits the message with Deliver; the outbound queue delivers its
// delivery status notifications with them; Sieve redirects and imports
// are meant to use them too. Errors are typed (ErrNoSuchUser, ErrLoop,
// ErrMailboxFull, ErrRelayDenied, ...): each protocol maps them to its
// replies in its one mapping function.
//
// A message never crosses two transactions: before, the SMTP server
// enqueued the remote recipients and then delivered locally in a second
// transaction, so a failure of the local part, answered with 451, left a
// queued copy behind that the client's retry queued again. Deliver signs
// the queued copy first (Queue.Sign: DKIM) and then commits everything
// with store.DeliverAndEnqueue, so a failure stores nothing and the retry
// yields exactly one copy of each.
package delivery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/mailroom/mailroom/store"
)

// Directory is what Resolve reads from the store.
type Directory interface {
	AccountByEmail(ctx context.Context, email string) (store.Account, error)
	Accounts(ctx context.Context) ([]store.Account, error)
	IsLocalDomain(ctx context.Context, domain string) (bool, error)
	AccountUsage(ctx context.Context, accountID int64) (store.Usage, error) // Config.Quota
}

// Store is the store role of a Deliverer: the lookups and the one
// transaction that commits a delivery.
type Store interface {
	Directory
	DeliverAndEnqueue(ctx context.Context, targets []store.Target, msg store.NewMessage, queued *store.QueuedMessage) ([]store.Delivered, int64, error)
}

var _ Store = (store.Store)(nil)

// mailboxFinder is the optional store method that filing in Junk needs.
type mailboxFinder interface {
	MailboxByName(ctx context.Context, accountID int64, name string) (store.Mailbox, error)
}

// Queue is the outbound queue's part in a delivery (*queue.Queue
// implements it).
type Queue interface {
	// Sign returns the bytes to queue: raw DKIM-signed with the keys of
	// signDomain, only if that is raw's author (From:) domain; "" signs
	// nothing. It never fails: a signing error leaves raw unsigned.
	Sign(raw []byte, signDomain string) []byte
	// Kick wakes the queue workers after a commit that queued a message.
	Kick()
}

// Aliases is the admin's alias table (*config.AliasTable implements it).
// Keys are lower-cased: an address, or "@domain" for a domain's
// catch-all; targets are lower-cased addresses, local or remote.
type Aliases interface {
	AliasTargets(key string) ([]string, bool)
	// AliasDomain reports whether a key lives in domain: such a domain
	// is local even with no account in it.
	AliasDomain(domain string) bool
}

// AliasStore is the optional Directory method that gives the aliases an
// admin edits while the server runs (mailroom alias, the web admin);
// store.Store implements it. It is read at every lookup, never cached,
// so a change is effective at once on every node. Config.Aliases (the
// config file's [aliases]) is asked first and overrides it key by key.
type AliasStore interface {
	// AliasTargets returns the targets of a lower-cased key;
	// store.ErrNotFound when there is no such alias.
	AliasTargets(ctx context.Context, key string) ([]string, error)
}

var _ AliasStore = (store.Store)(nil)

// Quota gives each account's storage limits (*config.Quota implements
// it).
type Quota interface {
	// Limits returns the byte and message limits of the account with
	// this email; 0 is unlimited.
	Limits(email string) (storage, messages int64)
}

// Typed errors of Resolve and Deliver. Protocols map them to replies.
var (
	// ErrBadAddress: not a mailbox the server can route (no or several
	// '@', the '%' hack).
	ErrBadAddress = errors.New("delivery: bad address syntax")
	// ErrNoSuchUser: a local address that resolves to no account.
	ErrNoSuchUser = errors.New("delivery: no such local user")
	// ErrLoop: expanding a recipient reached an alias that is already
	// being expanded, or went deeper than MaxAliasDepth. It is permanent
	// (RFC 3463 X.4.6 routing loop detected): the loop is in the
	// configuration, and the admin finds it in the log.
	ErrLoop = errors.New("delivery: alias loop")
	// ErrMailboxFull: the account is at or over its quota (soft: the
	// message that crosses the limit is accepted, the next refused).
	ErrMailboxFull = errors.New("delivery: recipient over quota")
	// ErrRelayDenied: another domain, and the sender may not relay.
	ErrRelayDenied = errors.New("delivery: relay denied")
	// ErrRelayUnavailable: another domain (directly or through an
	// alias), and there is no outbound queue.
	ErrRelayUnavailable = errors.New("delivery: relaying not available")
	// ErrNoRecipients: Deliver without a recipient.
	ErrNoRecipients = errors.New("delivery: no recipients")
)

// MaxAliasDepth bounds alias-of-alias expansion; deeper counts as a loop.
const MaxAliasDepth = 8

// postmasterLocal is the reserved mailbox name of RFC 5321 §4.5.1.
const postmasterLocal = "postmaster"

// Config configures a Deliverer. Store is required.
type Config struct {
	// Store is read by Resolve and, unless Committer is set, must
	// implement Store: its DeliverAndEnqueue commits each delivery.
	Store Directory
	// Queue signs the queued copy and is kicked after a commit that
	// queued one; nil means no outbound queue: remote recipients are
	// refused with ErrRelayUnavailable. Not used with a Committer.
	Queue Queue
	// Committer replaces the one-transaction commit. It exists for test
	// doubles and stores without DeliverAndEnqueue; with one, local
	// copies and queue entry are only as atomic as the Committer makes
	// them. Production wiring (cmd/mailroom) leaves it nil.
	Committer Committer

	// Hostname is the server's name: postmaster@Hostname (the bare
	// "<postmaster>") is always local.
	Hostname string
	// Aliases expands local recipients; nil has no aliases.
	Aliases Aliases
	// RecipientDelimiter starts the subaddress of a local part
	// (alice+news@ -> alice@, RFC 5233); "" disables subaddressing.
	RecipientDelimiter string
	// Quota limits what local accounts may store; nil limits nothing.
	Quota Quota
	// Sieve configures filtering with each account's active Sieve
	// script (sieve.go). It runs when the store implements SieveStore
	// and no Committer is set.
	Sieve SieveConfig
	// SRS rewrites the sender of mail forwarded to remote alias
	// targets and Sieve redirects, and decodes bounces to its
	// addresses at Resolve (srs.go); nil forwards with the original
	// sender.
	SRS SRS
	// OutboundLimits bound each account's submissions (Envelope.Submitter;
	// outbound.go); nil limits nothing. The counters live in the store
	// when it implements OutboundStore (both backends).
	OutboundLimits *OutboundLimits
	// Metrics hears of SRS events and outbound limit hits; nil reports
	// nothing.
	Metrics Metrics
	// Journal hears of every local copy committed (the admin dashboard's
	// recent deliveries); nil tells nobody.
	Journal Journal

	Logger *slog.Logger     // default slog.Default()
	Now    func() time.Time // default time.Now
}

// Metrics hears of the Deliverer's abuse-related events. Every label
// is one of a fixed set.
type Metrics interface {
	// SRSEvent: SRSRewritten, SRSBounceDecoded or SRSRefused.
	SRSEvent(event string)
	// OutboundLimitHit names the outbound limit a submission reached
	// ("messages_per_hour", "messages_per_day",
	// "recipients_per_message", "recipients_per_day",
	// "external_recipients_per_day", "failed_recipient_ratio").
	OutboundLimitHit(limit string)
}

// Journal records local deliveries (*recent.Log keeps the last few
// for the admin dashboard). outcome is "inbox", "junk" (Envelope.Junk)
// or "filtered" (a Sieve script decided where the copy went).
type Journal interface {
	LocalDelivery(at time.Time, from, to, outcome string)
}

// SRS events (Metrics.SRSEvent).
const (
	SRSRewritten     = "rewritten"      // a forwarded message got an SRS sender
	SRSBounceDecoded = "bounce_decoded" // a bounce to an SRS address went back to its sender
	SRSRefused       = "forged"         // an SRS address that is forged, expired or malformed
)

// Committer makes one delivery durable: the copies for c.Targets and,
// when c.Remote is not empty, the outbound queue entry.
type Committer interface {
	// Outbound reports whether Commit can queue remote recipients.
	Outbound() bool
	Commit(ctx context.Context, c Commit) (Result, error)
}

// Commit is one delivery as the Deliverer hands it to its Committer.
type Commit struct {
	Targets []store.Target // one per local account (INBOX or Junk)
	Message store.NewMessage

	// The outbound part; none when Remote is empty.
	From       string   // reverse-path of the queued copy ("" = null sender)
	Remote     []string // each once (case-insensitive)
	Raw        []byte   // the bytes to queue, not yet signed
	SignDomain string   // DKIM signing domain for Raw; "" signs nothing
	Created    time.Time

	// What Sieve scripts made of the delivery; both empty without them.
	// Copies are stored in place of Targets and Message (copies differ
	// per account: mailbox, flags, header edits); Extra are further
	// queue entries (redirects, vacation replies, rejections), each
	// signed for its SignDomain. Only the txCommitter handles them.
	Copies []store.Copy
	Extra  []Outgoing
}

// Result reports what a delivery stored.
type Result struct {
	Delivered []store.Delivered // one per local account
	QueueID   int64             // the outbound queue entry; 0 for none
	// SieveQueued are the queue entries Sieve scripts added (redirects,
	// vacation replies, rejections).
	SieveQueued []int64
}

// Deliverer resolves recipients and delivers messages. It is safe for
// concurrent use.
type Deliverer struct {
	cfg     Config
	dir     Directory
	aliases AliasStore // nil when the store has none
	commit  Committer
	log     *slog.Logger
	scripts scriptCache // compiled Sieve scripts (sieve.go)
}

// New returns a Deliverer for cfg.
func New(cfg Config) (*Deliverer, error) {
	if cfg.Store == nil {
		return nil, errors.New("delivery: Config.Store is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Hostname == "" {
		cfg.Hostname = "localhost"
	}
	d := &Deliverer{cfg: cfg, dir: cfg.Store, commit: cfg.Committer, log: cfg.Logger}
	d.aliases, _ = cfg.Store.(AliasStore)
	if d.commit == nil {
		st, ok := cfg.Store.(Store)
		if !ok {
			return nil, fmt.Errorf("delivery: store %T has no DeliverAndEnqueue and no Committer is set", cfg.Store)
		}
		d.commit = &txCommitter{st: st, q: cfg.Queue}
	}
	return d, nil
}

// Outbound reports whether remote recipients can be accepted (there is
// an outbound queue).
func (d *Deliverer) Outbound() bool { return d.commit.Outbound() }

// Transactional reports whether Deliver commits local copies and queue
// entry in one store transaction (no Committer replaces it).
func (d *Deliverer) Transactional() bool {
	_, ok := d.commit.(*txCommitter)
	return ok
}

// txCommitter is the production Committer: sign, then one transaction.
type txCommitter struct {
	st Store
	q  Queue
}

func (c *txCommitter) Outbound() bool { return c.q != nil }

func (c *txCommitter) Commit(ctx context.Context, cm Commit) (Result, error) {
	var queued *store.QueuedMessage
	if len(cm.Remote) > 0 {
		if c.q == nil {
			return Result{}, ErrRelayUnavailable
		}
		// Signing happens before the transaction: it must not hold
		// the store's write lock, and the bytes it returns are what is
		// stored and sent.
		queued = &store.QueuedMessage{From: cm.From, Recipients: cm.Remote, Raw: c.q.Sign(cm.Raw, cm.SignDomain), Created: cm.Created}
	}
	if len(cm.Copies) > 0 || len(cm.Extra) > 0 {
		return c.commitBatch(ctx, cm, queued)
	}
	delivered, qid, err := c.st.DeliverAndEnqueue(ctx, cm.Targets, cm.Message, queued)
	if err != nil {
		return Result{}, err
	}
	if qid != 0 {
		c.q.Kick()
	}
	return Result{Delivered: delivered, QueueID: qid}, nil
}

// commitBatch commits a delivery Sieve changed: Copies and every queue
// entry in one DeliverBatch transaction.
func (c *txCommitter) commitBatch(ctx context.Context, cm Commit, queued *store.QueuedMessage) (Result, error) {
	bs, ok := c.st.(SieveStore)
	if !ok {
		return Result{}, fmt.Errorf("delivery: store %T cannot commit a filtered delivery", c.st)
	}
	if len(cm.Copies) == 0 && len(cm.Targets) > 0 {
		// No Sieve copies, only further queue entries (an SRS
		// forward beside direct recipients): the plain copies.
		cm.Copies = []store.Copy{{Targets: cm.Targets, Message: cm.Message}}
	}
	var qs []store.QueuedMessage
	if queued != nil {
		qs = append(qs, *queued)
	}
	for _, o := range cm.Extra {
		if c.q == nil {
			return Result{}, ErrRelayUnavailable
		}
		m := o.QueuedMessage
		m.Raw = c.q.Sign(m.Raw, o.SignDomain)
		qs = append(qs, m)
	}
	if len(cm.Copies) == 0 && len(qs) == 0 {
		return Result{}, nil // everything discarded
	}
	delivered, qids, err := bs.DeliverBatch(ctx, cm.Copies, qs)
	if err != nil {
		return Result{}, err
	}
	res := Result{Delivered: delivered}
	if queued != nil {
		res.QueueID, qids = qids[0], qids[1:]
	}
	res.SieveQueued = qids
	if len(qs) > 0 {
		c.q.Kick()
	}
	return res, nil
}

// splitAddress returns the lower-cased local part and domain of a
// forward-path mailbox. It refuses what could steer mail elsewhere: more
// than one '@' (also inside a quoted local part) and the '%' hack.
func splitAddress(addr string) (local, domain string, ok bool) {
	local, domain, found := strings.Cut(addr, "@")
	if !found || local == "" || domain == "" || strings.ContainsAny(domain, "@%") || strings.Contains(local, "%") {
		return "", "", false
	}
	return strings.ToLower(local), strings.ToLower(domain), true
}

// SplitAddress is splitAddress for the protocols' sender checks.
func SplitAddress(addr string) (local, domain string, ok bool) { return splitAddress(addr) }
