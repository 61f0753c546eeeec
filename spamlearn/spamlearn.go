// Package spamlearn teaches Rspamd from what users file: a message
// moved or copied into a Junk mailbox (special-use \Junk) is submitted
// to Rspamd's controller as spam (POST /learnspam), one moved or copied
// out of Junk into INBOX as ham (POST /learnham), as Dovecot's IMAPSieve
// with rspamc does.
//
// The protocol servers only report copies (Learner.Copied, the
// imapserver.CopyObserver seam); submissions run on one background
// goroutine from a bounded queue that holds mailbox references, not
// message bodies. A full queue drops the submission with a log line and
// a metric; failed submissions are retried a bounded number of times.
package spamlearn

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/mailroom/mailroom/store"
)

// Kinds of submission (the kind label of mailroom_spam_learn_total).
const (
	Spam = "spam"
	Ham  = "ham"
)

// Outcomes of a submission (the outcome label).
const (
	OutcomeLearned = "learned" // controller answered 2xx
	OutcomeFailed  = "failed"  // refused, or every attempt failed
	OutcomeDropped = "dropped" // queue full
	OutcomeSkipped = "skipped" // message gone or larger than MaxMessageBytes
)

// Store is what the learner reads: the copied message's bytes.
type Store interface {
	ListBodies(ctx context.Context, mbox store.MailboxRef, uids []uint32, fn func(store.MessageMeta, []byte) error) error
}

var _ Store = (store.Store)(nil)

// Metrics hears of every submission's outcome.
type Metrics interface {
	SpamLearn(kind, outcome string)
}

// Defaults of the Config limits.
const (
	DefaultQueueSize       = 1000
	DefaultMaxAttempts     = 3
	DefaultRetryDelay      = 10 * time.Second
	DefaultTimeout         = 30 * time.Second
	DefaultMaxMessageBytes = 20 << 20
)

// Config configures a Learner.
type Config struct {
	// Controller is the base URL of Rspamd's controller worker
	// ("http://127.0.0.1:11334"); required.
	Controller string
	// Password is sent in the Password header (the controller's
	// enable_password); "" sends none.
	Password string
	Store    Store
	Client   *http.Client // default: a client with Timeout
	Logger   *slog.Logger
	Metrics  Metrics // nil reports nothing
	// QueueSize bounds the messages waiting for submission; default
	// DefaultQueueSize.
	QueueSize int
	// MaxAttempts bounds the tries of one submission; default
	// DefaultMaxAttempts.
	MaxAttempts int
	// RetryDelay is the wait before the second try, doubled for each
	// further one; default DefaultRetryDelay.
	RetryDelay time.Duration
	// Timeout bounds one HTTP request; default DefaultTimeout.
	Timeout time.Duration
	// MaxMessageBytes: larger messages are not submitted; default
	// DefaultMaxMessageBytes.
	MaxMessageBytes int64
}

type job struct {
	kind string
	mbox store.MailboxRef
	uid  uint32
}

// Learner submits filed messages to Rspamd. Start it with Run.
type Learner struct {
	cfg   Config
	log   *slog.Logger
	url   string
	queue chan job

	pending sync.WaitGroup // jobs queued and not yet finished (tests)
}

// New returns a Learner; it submits nothing until Run is called.
func New(cfg Config) (*Learner, error) {
	if cfg.Controller == "" || cfg.Store == nil {
		return nil, errors.New("spamlearn: Controller and Store are required")
	}
	if !strings.HasPrefix(cfg.Controller, "http://") && !strings.HasPrefix(cfg.Controller, "https://") {
		return nil, fmt.Errorf("spamlearn: controller %q is not an http(s) URL", cfg.Controller)
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = DefaultQueueSize
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	if cfg.RetryDelay <= 0 {
		cfg.RetryDelay = DefaultRetryDelay
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MaxMessageBytes <= 0 {
		cfg.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: cfg.Timeout}
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Learner{
		cfg:   cfg,
		log:   log,
		url:   strings.TrimRight(cfg.Controller, "/"),
		queue: make(chan job, cfg.QueueSize),
	}, nil
}

// Kind tells what copying a message from src to dst teaches: Spam into
// a \Junk mailbox (from any other), Ham from \Junk into INBOX, "" else.
func Kind(src, dst store.Mailbox) string {
	switch {
	case dst.SpecialUse == store.UseJunk && src.SpecialUse != store.UseJunk:
		return Spam
	case src.SpecialUse == store.UseJunk && dst.Name == store.Inbox:
		return Ham
	}
	return ""
}

// Copied is called after messages were copied or moved from src to
// dst (imapserver.CopyObserver). It queues their submission and never
// blocks: what does not fit in the queue is dropped.
func (l *Learner) Copied(_ context.Context, src, dst store.Mailbox, pairs []store.UIDPair) {
	kind := Kind(src, dst)
	if kind == "" {
		return
	}
	dropped := 0
	for _, p := range pairs {
		l.pending.Add(1)
		select {
		case l.queue <- job{kind: kind, mbox: dst.Ref(), uid: p.Dst}:
		default:
			l.pending.Done()
			dropped++
			l.count(kind, OutcomeDropped)
		}
	}
	if dropped > 0 {
		l.log.Warn("spam learning queue full, submissions dropped", "kind", kind, "account", dst.AccountID, "dropped", dropped)
	}
}

// Run submits queued messages until ctx ends.
func (l *Learner) Run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case j := <-l.queue:
			l.submit(ctx, j)
			l.pending.Done()
		}
	}
}

// wait returns when every queued job is finished (tests).
func (l *Learner) wait() { l.pending.Wait() }

func (l *Learner) count(kind, outcome string) {
	if l.cfg.Metrics != nil {
		l.cfg.Metrics.SpamLearn(kind, outcome)
	}
}

// errPermanent marks an answer not worth retrying.
var errPermanent = errors.New("refused")

func (l *Learner) submit(ctx context.Context, j job) {
	var body []byte
	tooBig := false
	err := l.cfg.Store.ListBodies(ctx, j.mbox, []uint32{j.uid}, func(m store.MessageMeta, b []byte) error {
		if m.Size > l.cfg.MaxMessageBytes {
			tooBig = true
			return nil
		}
		body = bytes.Clone(b)
		return nil
	})
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		l.log.Error("spam learning: reading message", "kind", j.kind, "account", j.mbox.AccountID, "uid", j.uid, "err", err)
		l.count(j.kind, OutcomeFailed)
		return
	}
	if body == nil {
		// Expunged meanwhile, or too large for the controller.
		l.log.Debug("spam learning: message skipped", "kind", j.kind, "account", j.mbox.AccountID, "uid", j.uid, "too_large", tooBig)
		l.count(j.kind, OutcomeSkipped)
		return
	}
	delay := l.cfg.RetryDelay
	for attempt := 1; ; attempt++ {
		err = l.post(ctx, j.kind, body)
		if err == nil {
			l.count(j.kind, OutcomeLearned)
			return
		}
		if errors.Is(err, errPermanent) || attempt >= l.cfg.MaxAttempts || ctx.Err() != nil {
			break
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
		case <-t.C:
		}
		delay *= 2
	}
	l.log.Warn("spam learning failed", "kind", j.kind, "account", j.mbox.AccountID, "uid", j.uid, "err", err)
	l.count(j.kind, OutcomeFailed)
}

// post sends one message to /learnspam or /learnham. 2xx (208 "already
// learned" included) is success; 5xx, 429 and transport errors may be
// retried; other answers are permanent.
func (l *Learner) post(ctx context.Context, kind string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, l.url+"/learn"+kind, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%w: %v", errPermanent, err)
	}
	req.Header.Set("Content-Type", "message/rfc822")
	if l.cfg.Password != "" {
		req.Header.Set("Password", l.cfg.Password)
	}
	resp, err := l.cfg.Client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	switch {
	case resp.StatusCode/100 == 2:
		return nil
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
		return fmt.Errorf("controller answered %s: %s", resp.Status, bytes.TrimSpace(msg))
	default:
		return fmt.Errorf("%w: controller answered %s: %s", errPermanent, resp.Status, bytes.TrimSpace(msg))
	}
}
