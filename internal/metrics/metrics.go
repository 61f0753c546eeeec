// Package metrics holds mailroom's Prometheus collectors. One Metrics is
// made per `serve` process (no package-level registry: tests run several
// servers in one process) and handed to the servers through their
// Configs, each of which defines the narrow interface it calls.
//
// Every label has a fixed, small set of values: listener and protocol
// names, SASL mechanism names, outcomes, IMAP command names from the
// server's command table. Nothing is labelled per user, address or IP.
package metrics

import (
	"context"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	dto "github.com/prometheus/client_model/go"

	"github.com/mailroom/mailroom/internal/connlimit"
)

const namespace = "mailroom"

// Login outcomes (label "outcome" of mailroom_logins_total).
const (
	LoginSucceeded = "succeeded"
	LoginFailed    = "failed"
	LoginThrottled = "throttled"
)

// knownMechanisms bounds the "mechanism" label; anything else is "other".
var knownMechanisms = map[string]bool{
	"PLAIN": true, "LOGIN": true, "SCRAM-SHA-256": true, "SCRAM-SHA-256-PLUS": true,
	"PASSWORD": true, // auth.MechPassword: IMAP LOGIN, POP3 USER/PASS
}

// BuildInfo labels mailroom_build_info.
type BuildInfo struct {
	Version   string
	Commit    string
	GoVersion string
}

// Metrics is one process's collectors and their registry.
type Metrics struct {
	Registry *prometheus.Registry

	logins          *prometheus.CounterVec
	smtpTx          *prometheus.CounterVec
	delivered       prometheus.Counter
	deliveredBytes  prometheus.Counter
	deliveryLatency prometheus.Histogram
	imapCommands    *prometheus.CounterVec
	imapLatency     *prometheus.HistogramVec
	idle            prometheus.Gauge
	tlsFailures     *prometheus.CounterVec
	queueAttempts   *prometheus.CounterVec
	dsns            prometheus.Counter
	authVerdicts    *prometheus.CounterVec
	storeWrites     prometheus.Histogram
	storeBatch      prometheus.Histogram
	textPending     prometheus.Gauge
	milterVerdicts  *prometheus.CounterVec
	spamLearn       *prometheus.CounterVec
	srsEvents       *prometheus.CounterVec
	outboundLimits  *prometheus.CounterVec

	mu        sync.Mutex
	listeners []namedListener
}

type namedListener struct {
	name string
	l    ListenerStats
}

// ListenerStats is what the connection metrics read from a listener
// (*connlimit.Listener).
type ListenerStats interface {
	Stats() connlimit.Stats
}

var _ ListenerStats = (*connlimit.Listener)(nil)

// New returns a Metrics with every mailroom collector and the Go runtime
// and process collectors registered.
func New(b BuildInfo) *Metrics {
	r := prometheus.NewRegistry()
	m := &Metrics{
		Registry: r,
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "logins_total",
			Help: "Login attempts by protocol, SASL mechanism and outcome (succeeded, failed, throttled).",
		}, []string{"protocol", "mechanism", "outcome"}),
		smtpTx: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "smtp", Name: "transactions_total",
			Help: "SMTP mail transactions by listener, outcome and reply class (2xx, 4xx, 5xx).",
		}, []string{"listener", "outcome", "class"}),
		delivered: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Name: "messages_delivered_total",
			Help: "Messages committed to local mailboxes, one per recipient account.",
		}),
		deliveredBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Name: "messages_delivered_bytes_total",
			Help: "Bytes of the messages counted by mailroom_messages_delivered_total (once per message).",
		}),
		deliveryLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: namespace, Name: "delivery_duration_seconds",
			Help:    "Time from the end of SMTP DATA to the committed delivery.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}),
		imapCommands: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "imap", Name: "commands_total",
			Help: "IMAP commands by name (from the server's command table) and status (ok, no, bad).",
		}, []string{"command", "status"}),
		imapLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Subsystem: "imap", Name: "command_duration_seconds",
			Help:    "IMAP command latency by command name (IDLE excluded).",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"command"}),
		idle: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Subsystem: "imap", Name: "idle_sessions",
			Help: "IMAP sessions currently in IDLE.",
		}),
		tlsFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "tls_handshake_failures_total",
			Help: "Failed TLS handshakes by listener (implicit TLS, and STARTTLS on the plaintext listeners).",
		}, []string{"listener"}),
		queueAttempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "queue", Name: "attempts_total",
			Help: "Outbound delivery attempts per recipient by outcome (delivered, deferred, failed, expired).",
		}, []string{"outcome"}),
		dsns: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "queue", Name: "dsns_sent_total",
			Help: "Delivery status notifications delivered to local senders.",
		}),
		authVerdicts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "auth_verdicts_total",
			Help: "Inbound SPF, DKIM (per signature; none without one) and DMARC results of messages from unauthenticated MX clients.",
		}, []string{"method", "result"}),
		storeWrites: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: namespace, Subsystem: "store", Name: "write_duration_seconds",
			Help:    "Store writes: from the call to its committed transaction (SQLite: waiting for the writer included; PostgreSQL: retries included).",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}),
		storeBatch: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: namespace, Subsystem: "store", Name: "commit_batch_size",
			Help:    "Writes committed together by one group commit (SQLite; PostgreSQL per node).",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128},
		}),
		textPending: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Name: "text_index_pending",
			Help: "Messages (blobs) whose full-text index entry the background indexer has yet to write (SQLite; 0 on PostgreSQL, which indexes at delivery).",
		}),
		milterVerdicts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "milter_verdicts_total",
			Help: "Milter answers other than continue, by milter address and action (accept, quarantine, discard, tempfail, reject, error).",
		}, []string{"milter", "action"}),
		spamLearn: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "spam_learn_total",
			Help: "Messages submitted to Rspamd's controller for learning, by kind (spam, ham) and outcome (learned, failed, dropped, skipped).",
		}, []string{"kind", "outcome"}),
		srsEvents: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "srs_total",
			Help: "SRS events: rewritten (a forwarded message's sender), bounce_decoded (a bounce returned to its sender), forged (an SRS address refused: forged, expired or malformed).",
		}, []string{"event"}),
		outboundLimits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "outbound_limit_hits_total",
			Help: "Submissions refused by a per-account outbound limit, by limit ([outbound_limits] key).",
		}, []string{"limit"}),
	}
	build := prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: namespace, Name: "build_info",
		Help:        "Always 1; the labels name the running build.",
		ConstLabels: prometheus.Labels{"version": b.Version, "commit": b.Commit, "goversion": b.GoVersion},
	})
	build.Set(1)
	r.MustRegister(m.logins, m.smtpTx, m.delivered, m.deliveredBytes, m.deliveryLatency,
		m.imapCommands, m.imapLatency, m.idle, m.tlsFailures, m.queueAttempts, m.dsns, m.milterVerdicts, m.spamLearn, m.srsEvents, m.outboundLimits, build,
		m.authVerdicts, m.storeWrites, m.storeBatch, m.textPending,
		listenerCollector{m},
		// The scheduler's too: go_sched_latencies_seconds (how long
		// runnable goroutines waited for a core) and
		// go_sched_goroutines_created_goroutines_total show a CPU-bound
		// node (docs/operations.md).
		collectors.NewGoCollector(collectors.WithGoCollectorRuntimeMetrics(collectors.MetricsGC, collectors.MetricsScheduler)),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// knownVerdicts bounds the labels of mailroom_auth_verdicts_total: the
// methods and the RFC 8601 result values; anything else is "other".
var knownVerdicts = map[string]map[string]bool{
	"spf":   {"none": true, "neutral": true, "pass": true, "fail": true, "softfail": true, "temperror": true, "permerror": true},
	"dkim":  {"none": true, "pass": true, "fail": true, "policy": true, "neutral": true, "temperror": true, "permerror": true},
	"dmarc": {"none": true, "pass": true, "fail": true, "temperror": true, "permerror": true},
}

// AuthVerdict counts one inbound SPF, DKIM or DMARC result.
func (m *Metrics) AuthVerdict(method, result string) {
	results, ok := knownVerdicts[method]
	if !ok {
		return
	}
	result = strings.ToLower(result)
	if !results[result] {
		result = "other"
	}
	m.authVerdicts.WithLabelValues(method, result).Inc()
}

// StoreWrite observes one store write: d from the call to its commit.
func (m *Metrics) StoreWrite(d time.Duration) { m.storeWrites.Observe(d.Seconds()) }

// StoreBatch observes one group commit of n writes.
func (m *Metrics) StoreBatch(n int) { m.storeBatch.Observe(float64(n)) }

// TextIndexPending sets how many blobs wait for their full-text entry.
func (m *Metrics) TextIndexPending(n int64) { m.textPending.Set(float64(n)) }

// Login counts one login attempt. Unknown mechanism names count as "other".
func (m *Metrics) Login(protocol, mechanism, outcome string) {
	mechanism = strings.ToUpper(mechanism)
	switch {
	case mechanism == "PASSWORD":
		mechanism = "password"
	case !knownMechanisms[mechanism]:
		mechanism = "other"
	}
	m.logins.WithLabelValues(protocol, mechanism, outcome).Inc()
}

// SMTPTransaction counts one finished mail transaction: outcome is
// "accepted", "rejected", "deferred" or "aborted"; code its final reply
// code (0 when none was sent).
func (m *Metrics) SMTPTransaction(listener, outcome string, code int) {
	m.smtpTx.WithLabelValues(listener, outcome, replyClass(code)).Inc()
}

func replyClass(code int) string {
	switch {
	case code >= 200 && code < 300:
		return "2xx"
	case code >= 400 && code < 500:
		return "4xx"
	case code >= 500 && code < 600:
		return "5xx"
	}
	return "none"
}

// Delivered counts a committed local delivery of size bytes to recipients
// accounts, d after the end of DATA.
func (m *Metrics) Delivered(recipients int, size int64, d time.Duration) {
	m.delivered.Add(float64(recipients))
	m.deliveredBytes.Add(float64(size))
	m.deliveryLatency.Observe(d.Seconds())
}

// IMAPCommand counts one IMAP command; name must come from the server's
// fixed command table, status is "ok", "no" or "bad".
func (m *Metrics) IMAPCommand(name, status string, d time.Duration) {
	m.imapCommands.WithLabelValues(name, status).Inc()
	m.imapLatency.WithLabelValues(name).Observe(d.Seconds())
}

// IMAPIdle moves the IDLE gauge by delta (+1 entering, -1 leaving).
func (m *Metrics) IMAPIdle(delta int) { m.idle.Add(float64(delta)) }

// TLSHandshakeFailed counts a failed TLS handshake on a listener (named as
// in the config: imap for STARTTLS, imaps, https ...).
func (m *Metrics) TLSHandshakeFailed(listener string) {
	m.tlsFailures.WithLabelValues(listener).Inc()
}

// QueueAttempt counts one recipient's outbound delivery attempt.
func (m *Metrics) QueueAttempt(outcome string) { m.queueAttempts.WithLabelValues(outcome).Inc() }

// DSNSent counts a delivery status notification.
func (m *Metrics) DSNSent() { m.dsns.Inc() }

// MilterVerdict counts a milter's answer (milter.Metrics).
func (m *Metrics) MilterVerdict(milter, action string) {
	m.milterVerdicts.WithLabelValues(milter, action).Inc()
}

// SpamLearn counts one spam-learning submission (spamlearn.Metrics);
// both labels come from spamlearn's constants.
func (m *Metrics) SpamLearn(kind, outcome string) {
	m.spamLearn.WithLabelValues(kind, outcome).Inc()
}

// SRSEvent counts an SRS event (delivery.Metrics).
func (m *Metrics) SRSEvent(event string) { m.srsEvents.WithLabelValues(event).Inc() }

// OutboundLimitHit counts a submission over an outbound limit
// (delivery.Metrics).
func (m *Metrics) OutboundLimitHit(limit string) { m.outboundLimits.WithLabelValues(limit).Inc() }

// AddListener adds a listener's connection counters (accepted, refused,
// active) under its name.
func (m *Metrics) AddListener(name string, l ListenerStats) {
	m.mu.Lock()
	m.listeners = append(m.listeners, namedListener{name, l})
	m.mu.Unlock()
}

// Connection metrics of the listeners, read at scrape time.
var (
	descAccepted = prometheus.NewDesc(namespace+"_connections_accepted_total",
		"Connections accepted per listener.", []string{"listener"}, nil)
	descRefused = prometheus.NewDesc(namespace+"_connections_refused_total",
		"Connections refused per listener because a connection limit was reached.", []string{"listener"}, nil)
	descActive = prometheus.NewDesc(namespace+"_connections_active",
		"Open connections per listener.", []string{"listener"}, nil)
)

type listenerCollector struct{ m *Metrics }

func (c listenerCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descAccepted
	ch <- descRefused
	ch <- descActive
}

func (c listenerCollector) Collect(ch chan<- prometheus.Metric) {
	c.m.mu.Lock()
	ls := append([]namedListener(nil), c.m.listeners...)
	c.m.mu.Unlock()
	for _, nl := range ls {
		s := nl.l.Stats()
		ch <- prometheus.MustNewConstMetric(descAccepted, prometheus.CounterValue, float64(s.Accepted), nl.name)
		ch <- prometheus.MustNewConstMetric(descRefused, prometheus.CounterValue, float64(s.Refused), nl.name)
		ch <- prometheus.MustNewConstMetric(descActive, prometheus.GaugeValue, float64(s.Active), nl.name)
	}
}

// QueueStats is what the queue collector asks at scrape time: how many
// items have pending recipients (counted up to limit) and when the oldest
// of them was created.
type QueueStats interface {
	QueueStats(ctx context.Context, limit int) (depth int, oldest time.Time, err error)
}

// Queue-size bounds: a scrape reads at most queueScrapeLimit items, within
// queueScrapeTimeout.
const (
	queueScrapeLimit   = 10000
	queueScrapeTimeout = 2 * time.Second
)

var (
	descQueueDepth = prometheus.NewDesc(namespace+"_queue_depth",
		"Outbound queue items with pending recipients (counted up to 10000).", nil, nil)
	descQueueOldest = prometheus.NewDesc(namespace+"_queue_oldest_age_seconds",
		"Age of the oldest outbound queue item with pending recipients; 0 when none.", nil, nil)
	descQueueScrapeErrors = prometheus.NewDesc(namespace+"_queue_scrape_errors_total",
		"Scrapes whose queue read failed or timed out.", nil, nil)
)

type queueCollector struct {
	q    QueueStats
	now  func() time.Time
	log  *slog.Logger
	errs *errCount
}

type errCount struct {
	mu sync.Mutex
	n  uint64
}

// AddQueue registers the queue collector over q; now is the clock.
func (m *Metrics) AddQueue(q QueueStats, now func() time.Time, log *slog.Logger) {
	m.Registry.MustRegister(queueCollector{q: q, now: now, log: log, errs: &errCount{}})
}

func (c queueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descQueueDepth
	ch <- descQueueOldest
	ch <- descQueueScrapeErrors
}

func (c queueCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), queueScrapeTimeout)
	defer cancel()
	depth, oldest, err := c.q.QueueStats(ctx, queueScrapeLimit)
	c.errs.mu.Lock()
	if err != nil {
		c.errs.n++
	}
	n := c.errs.n
	c.errs.mu.Unlock()
	ch <- prometheus.MustNewConstMetric(descQueueScrapeErrors, prometheus.CounterValue, float64(n))
	if err != nil {
		c.log.Warn("metrics: queue read failed", "err", err)
		return
	}
	age := 0.0
	if depth > 0 && !oldest.IsZero() {
		age = max(0, c.now().Sub(oldest).Seconds())
	}
	ch <- prometheus.MustNewConstMetric(descQueueDepth, prometheus.GaugeValue, float64(depth))
	ch <- prometheus.MustNewConstMetric(descQueueOldest, prometheus.GaugeValue, age)
}

// Snapshot flattens the mailroom_* metrics (not the Go runtime ones) into
// name{label="v",...} → value, for the SIGUSR1 log line. Histograms are
// reported by their sample count.
func (m *Metrics) Snapshot() map[string]float64 {
	mfs, _ := m.Registry.Gather()
	out := make(map[string]float64)
	for _, mf := range mfs {
		name := mf.GetName()
		if !strings.HasPrefix(name, namespace+"_") || name == namespace+"_build_info" {
			continue
		}
		for _, mt := range mf.GetMetric() {
			key := name + labelString(mt.GetLabel())
			switch {
			case mt.Counter != nil:
				out[key] = mt.Counter.GetValue()
			case mt.Gauge != nil:
				out[key] = mt.Gauge.GetValue()
			case mt.Histogram != nil:
				out[key+"_count"] = float64(mt.Histogram.GetSampleCount())
			}
		}
	}
	return out
}

func labelString(ls []*dto.LabelPair) string {
	if len(ls) == 0 {
		return ""
	}
	parts := make([]string, 0, len(ls))
	for _, l := range ls {
		parts = append(parts, l.GetName()+"="+l.GetValue())
	}
	sort.Strings(parts)
	return "{" + strings.Join(parts, ",") + "}"
}

// Listeners returns each added listener's current connection counters by
// name (the SIGUSR1 log line reads them).
func (m *Metrics) Listeners() map[string]connlimit.Stats {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]connlimit.Stats, len(m.listeners))
	for _, nl := range m.listeners {
		out[nl.name] = nl.l.Stats()
	}
	return out
}
