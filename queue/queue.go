// Package queue delivers mail to other domains: the outbound queue that
// authenticated users' mail for non-local recipients goes into.
//
// Messages are stored durably in the mail store (store.Store's queue
// methods) before the SMTP server answers 250. Workers claim due items
// (a short lease in the store, renewed while the attempt runs, so that
// several nodes can share one store, each item is delivered by one of
// them, and a crashed node's items move on within minutes; see lease.go),
// group their pending recipients by destination domain, look up the MX
// hosts (RFC 5321 §5) through an injected Resolver, and deliver each domain's
// recipients over one SMTP connection (opportunistic STARTTLS, verified
// and required when the domain's MTA-STS policy enforces it), or
// everything through a smarthost (RelayHost). A 4xx reply is retried on a
// schedule; a 5xx reply, a null MX (RFC 7505) or expiry fails the recipient
// for good, and the local sender then gets one delivery status
// notification (RFC 3464) in their INBOX. Mail from the null sender is
// never bounced.
//
// Each recipient's outcome is written to the store as soon as its
// destination has answered, so a restart neither loses a message nor
// delivers it twice (except in the window between the remote 250 and that
// write, which SMTP cannot close).
package queue

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mailroom/mailroom/delivery"
	"github.com/mailroom/mailroom/store"
)

// Store is what the queue needs from the mail store.
type Store interface {
	Enqueue(ctx context.Context, msg store.QueuedMessage) (int64, error)
	ClaimQueue(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]store.QueueItem, error)
	ReleaseQueueItem(ctx context.Context, id int64, owner string) error
	RenewQueueLeases(ctx context.Context, owner string, ids []int64, until time.Time) ([]int64, error)
	QueueItems(ctx context.Context) ([]store.QueueItem, error)
	QueueItem(ctx context.Context, id int64) (store.QueueItem, error)
	QueueMessage(ctx context.Context, id int64) ([]byte, error)
	UpdateQueueRecipients(ctx context.Context, id int64, rcpts []store.QueueRecipient) error
	DeleteQueueItem(ctx context.Context, id int64) error
	AccountByEmail(ctx context.Context, email string) (store.Account, error)
	Deliver(ctx context.Context, targets []store.Target, msg store.NewMessage) ([]store.Delivered, error)
}

var _ Store = (store.Store)(nil)

// Signer signs an outbound message (DKIM) with the keys of domain, and
// only when domain is the message's author (From:) domain. It returns raw
// unchanged when domain is "", is not the author domain, or has no key.
type Signer interface {
	Sign(raw []byte, domain string) ([]byte, error)
}

// DefaultRetrySchedule is the wait after the 1st, 2nd, … failed attempt;
// the last entry repeats. With DefaultLifetime a message is tried about 20
// times over 5 days.
var DefaultRetrySchedule = []time.Duration{
	5 * time.Minute, 10 * time.Minute, 20 * time.Minute, 40 * time.Minute,
	80 * time.Minute, 160 * time.Minute, 5 * time.Hour, 8 * time.Hour,
}

// Defaults for Config.
const (
	DefaultLifetime       = 5 * 24 * time.Hour
	DefaultPollInterval   = time.Minute
	DefaultWorkers        = 8
	DefaultPerDomain      = 2
	DefaultCommandTimeout = 5 * time.Minute // RFC 5321 §4.5.3.2
	DefaultLease          = 2 * time.Minute
	DefaultPort           = "25"
)

// Config configures a Queue. Store is required.
type Config struct {
	Store    Store
	Hostname string // EHLO name, Reporting-MTA of DSNs; default "localhost"
	Logger   *slog.Logger
	Now      func() time.Time // default time.Now
	// Metrics hears of each recipient's attempt outcome and of DSNs
	// (metrics.go); nil reports nothing.
	Metrics Metrics
	// Journal hears of each recipient that failed for good; nil tells
	// nobody.
	Journal Journal

	// Resolver looks up MX and address records; default net.DefaultResolver.
	Resolver Resolver
	// Dial opens connections; default a net.Dialer with a 30 s timeout.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// Port is the SMTP port of MX hosts; default "25". PortOverride maps
	// an MX host name to another port (tests).
	Port         string
	PortOverride map[string]string
	// TLSConfig is used for STARTTLS. Default: opportunistic, certificates
	// not verified (RFC 7435), and a failed handshake falls back to
	// plaintext, except under an MTA-STS policy (see PolicyFetcher).
	TLSConfig *tls.Config

	// MTA-STS (RFC 8461, mtasts.go) for MX delivery; a RelayHost bypasses
	// it. PolicyFetcher fetches a domain's policy file; default
	// NewPolicyFetcher(nil, nil) (HTTPS, system roots). RootCAs verify MX
	// certificates under a policy; nil means the system roots.
	// DisableMTASTS turns it off.
	PolicyFetcher PolicyFetcher
	RootCAs       *x509.CertPool
	DisableMTASTS bool

	// RelayHost ("host:port") sends everything through a smarthost
	// instead of MX delivery, authenticating with RelayUser/RelayPassword
	// (AUTH PLAIN) when RelayUser is set.
	RelayHost     string
	RelayUser     string
	RelayPassword string

	RetrySchedule []time.Duration // default DefaultRetrySchedule
	Lifetime      time.Duration   // a recipient still failing after this fails for good
	PollInterval  time.Duration   // how often the store is asked for due items
	Workers       int             // messages delivered at once
	PerDomain     int             // connections at once to one destination domain

	CommandTimeout time.Duration // per SMTP command
	// AttemptTimeout bounds one item's delivery attempt, waiting for a
	// connection slot included; recipients it cuts off are retried later.
	// Default: 30 s + 12 × CommandTimeout.
	AttemptTimeout time.Duration
	// Lease is how long a claim on an item (see Owner) lasts; the runner
	// renews the leases of the items it works on every Lease/4, so a
	// node that dies leaves its items to the others about one Lease
	// later. Default DefaultLease.
	Lease time.Duration
	// Owner names this runner in the leases it takes on queue items, so
	// that several nodes can run the queue on one store and each item is
	// delivered by one of them. Default: hostname/pid/random. It must
	// differ between runners.
	Owner string

	Signer Signer // DKIM; nil signs nothing

	// Deliverer delivers the DSNs for local senders (package delivery,
	// the same path as inbound mail); nil delivers them straight to the
	// INBOX of the account named by the sender address. It may also be
	// set after New with SetDeliverer, before Start.
	Deliverer Deliverer
}

// Deliverer is what the queue needs of package delivery to deliver a DSN
// to a local sender; *delivery.Deliverer implements it.
type Deliverer interface {
	Resolve(ctx context.Context, req delivery.Request) (delivery.Recipient, error)
	Deliver(ctx context.Context, env delivery.Envelope, msg store.NewMessage) (delivery.Result, error)
}

// Journal records recipients the queue gave up on (*recent.Log keeps
// the last few for the admin dashboard). outcome is "failed" (a
// permanent reply) or "expired" (out of retries).
type Journal interface {
	OutboundFailure(at time.Time, from, to, outcome, reply string)
}

// FailureCounter is the optional part of a Deliverer that counts a
// local sender's recipients that failed for good (the outbound
// failed-recipient ratio); *delivery.Deliverer implements it.
type FailureCounter interface {
	CountFailedRecipients(ctx context.Context, from string, n int)
}

var (
	_ FailureCounter = (*delivery.Deliverer)(nil)
	_ Deliverer      = (*delivery.Deliverer)(nil)
	_ delivery.Queue = (*Queue)(nil)
)

// Queue delivers queued messages. Create it with New, start it with Start.
type Queue struct {
	cfg        Config
	log        *slog.Logger
	lease      time.Duration
	renewEvery time.Duration

	kick    chan struct{}
	stop    chan struct{}
	ctx     context.Context // cancelled when Shutdown gives up
	cancel  context.CancelFunc
	loopWG  sync.WaitGroup
	renewWG sync.WaitGroup // the renewer; it runs until the workers are done
	workWG  sync.WaitGroup
	workers chan struct{} // semaphore

	mu       sync.Mutex
	inflight map[int64]*flight
	starved  bool                     // dispatch left due items unclaimed: kick when a worker frees
	domains  map[string]chan struct{} // per-destination semaphores
	started  bool
	// looping is true while the scheduler loop runs (Running).
	looping  atomic.Bool
	stopOnce sync.Once

	sts stsCache // MTA-STS policies by domain

	// relay is the smarthost in use (Config.RelayHost... at first,
	// SetRelay after): each item attempt reads it once.
	relay atomic.Pointer[Relay]
}

// Relay is the smarthost of Config (RelayHost, RelayUser, RelayPassword).
type Relay struct{ Host, User, Password string }

// SetRelay replaces the smarthost settings (a config reload): attempts
// that start afterwards use them, attempts under way finish with the old.
func (q *Queue) SetRelay(r Relay) { q.relay.Store(&r) }

// currentRelay is the smarthost settings for one attempt.
func (q *Queue) currentRelay() Relay { return *q.relay.Load() }

// New returns a Queue for cfg with defaults filled in.
func New(cfg Config) *Queue {
	if cfg.Hostname == "" {
		cfg.Hostname = "localhost"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Resolver == nil {
		cfg.Resolver = net.DefaultResolver
	}
	if cfg.Dial == nil {
		d := &net.Dialer{Timeout: 30 * time.Second}
		cfg.Dial = d.DialContext
	}
	if cfg.Metrics == nil {
		cfg.Metrics = nopMetrics{}
	}
	if cfg.PolicyFetcher == nil {
		cfg.PolicyFetcher = NewPolicyFetcher(nil, nil)
	}
	if cfg.Port == "" {
		cfg.Port = DefaultPort
	}
	if len(cfg.RetrySchedule) == 0 {
		cfg.RetrySchedule = DefaultRetrySchedule
	}
	if cfg.Lifetime <= 0 {
		cfg.Lifetime = DefaultLifetime
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = DefaultPollInterval
	}
	if cfg.Workers <= 0 {
		cfg.Workers = DefaultWorkers
	}
	if cfg.PerDomain <= 0 {
		cfg.PerDomain = DefaultPerDomain
	}
	if cfg.CommandTimeout <= 0 {
		cfg.CommandTimeout = DefaultCommandTimeout
	}
	if cfg.AttemptTimeout <= 0 {
		cfg.AttemptTimeout = defaultAttemptTimeout(cfg.CommandTimeout)
	}
	if cfg.Lease <= 0 {
		cfg.Lease = DefaultLease
	}
	if cfg.Owner == "" {
		cfg.Owner = defaultOwner()
	}
	ctx, cancel := context.WithCancel(context.Background())
	q := &Queue{
		cfg:        cfg,
		log:        cfg.Logger,
		lease:      cfg.Lease,
		renewEvery: max(cfg.Lease/4, time.Millisecond),
		kick:       make(chan struct{}, 1),
		stop:       make(chan struct{}),
		ctx:        ctx,
		cancel:     cancel,
		workers:    make(chan struct{}, cfg.Workers),
		inflight:   map[int64]*flight{},
		domains:    map[string]chan struct{}{},
	}
	q.SetRelay(Relay{Host: cfg.RelayHost, User: cfg.RelayUser, Password: cfg.RelayPassword})
	return q
}

// Enqueue signs msg (DKIM, when a key for its author domain exists) and
// stores it durably in the queue, then wakes the workers. It returns the
// queue id once the message is on disk.
func (q *Queue) Enqueue(ctx context.Context, from string, rcpts []string, raw []byte) (int64, error) {
	return q.EnqueueAs(ctx, from, rcpts, raw, authorDomain(raw))
}

// EnqueueAs is Enqueue for a message whose sender was checked by the
// caller: it is DKIM-signed only with signDomain ("" signs nothing), the
// domain the submitter was found to own (smtpserver's From: check), and
// only if that is still the message's From: domain.
func (q *Queue) EnqueueAs(ctx context.Context, from string, rcpts []string, raw []byte, signDomain string) (int64, error) {
	raw = q.Sign(raw, signDomain)
	id, err := q.cfg.Store.Enqueue(ctx, store.QueuedMessage{From: from, Recipients: rcpts, Raw: raw, Created: q.cfg.Now()})
	if err != nil {
		return 0, err
	}
	q.log.Info("queue: enqueued", "qid", id, "from", from, "rcpts", len(rcpts), "size", len(raw))
	q.Kick()
	return id, nil
}

// Sign returns raw DKIM-signed with the keys of signDomain (Config.Signer),
// only if that is still raw's From: domain; "" signs nothing. A signing
// failure is logged and raw goes unsigned. Package delivery calls it
// before the transaction that queues the message.
func (q *Queue) Sign(raw []byte, signDomain string) []byte {
	if q.cfg.Signer == nil || signDomain == "" {
		return raw
	}
	signed, err := q.cfg.Signer.Sign(raw, signDomain)
	if err != nil {
		q.log.Warn("queue: DKIM signing failed; sending unsigned", "err", err)
		return raw
	}
	return signed
}

// SetDeliverer sets Config.Deliverer. The Deliverer signs with and kicks
// this Queue, so it is made after it; call SetDeliverer before Start.
func (q *Queue) SetDeliverer(d Deliverer) { q.cfg.Deliverer = d }

// Kick makes the workers look for due items now (after Enqueue, or after
// the CLI changed the queue).
func (q *Queue) Kick() {
	select {
	case q.kick <- struct{}{}:
	default:
	}
}

// Start starts the scheduler. Items left final by a crash (all recipients
// done, DSN not yet sent) are claimed and finished like due ones.
func (q *Queue) Start() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.started {
		return
	}
	q.started = true
	q.loopWG.Add(1)
	go q.loop()
	q.renewWG.Add(1)
	go q.renewLoop()
}

// Running reports whether the scheduler loop runs: after Start, until
// Shutdown (or a panic) ends it. /readyz asks it.
func (q *Queue) Running() bool { return q.looping.Load() }

// Shutdown stops picking new items and waits for deliveries in progress.
// If ctx ends first, they are cancelled (their recipients stay pending) and
// ctx's error is returned.
func (q *Queue) Shutdown(ctx context.Context) error {
	q.stopOnce.Do(func() { close(q.stop) })
	q.loopWG.Wait()
	done := make(chan struct{})
	go func() { q.workWG.Wait(); close(done) }()
	// The renewer keeps the leases of the items still being worked on
	// until the workers are done; q.cancel stops it.
	defer q.renewWG.Wait()
	select {
	case <-done:
		q.cancel()
		return nil
	case <-ctx.Done():
		q.cancel()
		<-done
		return ctx.Err()
	}
}

func (q *Queue) loop() {
	defer q.loopWG.Done()
	q.looping.Store(true)
	defer q.looping.Store(false)
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-q.stop:
			return
		case <-q.kick:
		case <-t.C:
		}
		q.dispatch()
		t.Reset(q.cfg.PollInterval)
	}
}

// dispatch claims as many due items as there are idle workers and starts
// one on each. Items whose recipients are all final but which are still
// queued (a crash came before their DSN, or its delivery failed) are
// claimed too, and finished.
func (q *Queue) dispatch() {
	q.mu.Lock()
	busy := len(q.inflight)
	q.mu.Unlock()
	idle := cap(q.workers) - len(q.workers)
	if idle <= 0 {
		q.mu.Lock()
		q.starved = true
		q.mu.Unlock()
		return
	}
	// The claim returns the items this runner holds as well (renewing
	// their lease); asking for busy more keeps them from crowding out new
	// ones.
	now := q.cfg.Now()
	items, err := q.cfg.Store.ClaimQueue(q.ctx, q.cfg.Owner, now, q.lease, idle+busy)
	if err != nil {
		if q.ctx.Err() == nil {
			q.log.Error("queue: claiming due items", "err", err)
		}
		return
	}
	// Whether more is due is never judged from how many items came back
	// (items deleted meanwhile made a full claim look short, and the
	// queue then waited a poll interval with mail due: issue 11 item
	// 18). A claim that found anything is followed by another as soon as
	// a worker is free; only an empty claim waits for the poll or a kick.
	if len(items) > 0 {
		q.mu.Lock()
		q.starved = true
		q.mu.Unlock()
	}
	until := now.Add(q.lease)
	for _, it := range items {
		q.mu.Lock()
		f, busy := q.inflight[it.ID]
		if busy {
			f.extend(until) // the claim renewed it
		} else {
			f = newFlight(q.ctx, until)
			q.inflight[it.ID] = f
		}
		q.mu.Unlock()
		if busy {
			continue // a worker has it
		}
		select {
		case q.workers <- struct{}{}:
		default:
			// No worker after all (busy ones came back): let another
			// runner have it rather than hold it while waiting.
			q.done(it.ID, f)
			continue
		}
		deadline := time.Now().Add(q.cfg.AttemptTimeout)
		q.workWG.Add(1)
		go func() {
			defer q.workWG.Done()
			defer func() {
				if r := recover(); r != nil {
					q.log.Error("queue: worker panic", "qid", it.ID, "panic", r)
				}
				<-q.workers
				q.done(it.ID, f)
				q.mu.Lock()
				starved := q.starved
				q.starved = false
				q.mu.Unlock()
				if starved {
					q.Kick() // due items were left for want of a worker
				}
			}()
			q.process(f, it, deadline)
		}()
	}
}

// done releases item id and forgets that it is in flight, in one step
// under q.mu: a claim that dispatch made meanwhile either came before the
// release (which undoes it) or finds the item no longer in flight (and
// starts a worker on it), so an item is never left leased with nobody
// working on it. The release does nothing if the lease was lost.
func (q *Queue) done(id int64, f *flight) {
	f.cancel(nil)
	q.mu.Lock()
	defer q.mu.Unlock()
	q.release(id)
	delete(q.inflight, id)
}

func isPermanent(err error) bool {
	var p interface{ Permanent() bool }
	return errors.As(err, &p) && p.Permanent()
}
