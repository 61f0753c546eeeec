package metrics

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/mailroom/mailroom/internal/connlimit"
)

type fakeListener struct{ s connlimit.Stats }

func (f fakeListener) Stats() connlimit.Stats { return f.s }

type fakeQueue struct {
	depth  int
	oldest time.Time
	err    error
	limit  int
}

func (f *fakeQueue) QueueStats(_ context.Context, limit int) (int, time.Time, error) {
	f.limit = limit
	return f.depth, f.oldest, f.err
}

func newTest(t *testing.T, q *fakeQueue, now time.Time) *Metrics {
	m := New(BuildInfo{Version: "v1.2.3", Commit: "abc123", GoVersion: "go1.26"})
	m.AddListener("imap", fakeListener{connlimit.Stats{Active: 2, Accepted: 7, Refused: 1}})
	m.AddQueue(q, func() time.Time { return now }, slog.New(slog.NewTextHandler(io.Discard, nil)))
	m.Login("imap", "plain", LoginSucceeded)
	m.Login("imap", "X-EVIL-MECH-FROM-CLIENT", LoginFailed)
	m.SMTPTransaction("mx", "accepted", 250)
	m.SMTPTransaction("mx", "rejected", 550)
	m.Delivered(2, 1000, 5*time.Millisecond)
	m.IMAPCommand("FETCH", "ok", time.Millisecond)
	m.IMAPIdle(1)
	m.IMAPIdle(1)
	m.IMAPIdle(-1)
	m.TLSHandshakeFailed("imaps")
	m.QueueAttempt("deferred")
	m.QueueAttempt("deferred")
	m.DSNSent()
	m.AuthVerdict("spf", "pass")
	m.AuthVerdict("dkim", "none")
	m.AuthVerdict("dmarc", "FAIL")
	m.AuthVerdict("dmarc", "made-up-by-a-resolver")
	m.AuthVerdict("arc", "pass") // not a method we count
	m.StoreWrite(2 * time.Millisecond)
	m.StoreWrite(3 * time.Millisecond)
	m.StoreBatch(2)
	m.TextIndexPending(7)
	m.TextIndexPending(5)
	return m
}

// scrape returns the exposition and its parsed families.
func scrape(t *testing.T, m *Metrics) (string, map[string]float64) {
	t.Helper()
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	text := rec.Body.String()
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("exposition does not parse: %v", err)
	}
	flat := map[string]float64{}
	for name, mf := range mfs {
		for _, mt := range mf.GetMetric() {
			key := name + labelString(mt.GetLabel())
			switch {
			case mt.Counter != nil:
				flat[key] = mt.Counter.GetValue()
			case mt.Gauge != nil:
				flat[key] = mt.Gauge.GetValue()
			case mt.Histogram != nil:
				flat[key+"_count"] = float64(mt.Histogram.GetSampleCount())
			}
		}
	}
	return text, flat
}

func TestExposition(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	q := &fakeQueue{depth: 3, oldest: now.Add(-90 * time.Second)}
	m := newTest(t, q, now)
	_, got := scrape(t, m)
	for k, want := range map[string]float64{
		`mailroom_connections_accepted_total{listener=imap}`:                       7,
		`mailroom_connections_refused_total{listener=imap}`:                        1,
		`mailroom_connections_active{listener=imap}`:                               2,
		`mailroom_logins_total{mechanism=PLAIN,outcome=succeeded,protocol=imap}`:   1,
		`mailroom_logins_total{mechanism=other,outcome=failed,protocol=imap}`:      1,
		`mailroom_smtp_transactions_total{class=2xx,listener=mx,outcome=accepted}`: 1,
		`mailroom_smtp_transactions_total{class=5xx,listener=mx,outcome=rejected}`: 1,
		`mailroom_messages_delivered_total`:                                        2,
		`mailroom_messages_delivered_bytes_total`:                                  1000,
		`mailroom_delivery_duration_seconds_count`:                                 1,
		`mailroom_imap_commands_total{command=FETCH,status=ok}`:                    1,
		`mailroom_imap_command_duration_seconds{command=FETCH}_count`:              1,
		`mailroom_imap_idle_sessions`:                                              1,
		`mailroom_tls_handshake_failures_total{listener=imaps}`:                    1,
		`mailroom_queue_depth`:                                                     3,
		`mailroom_queue_oldest_age_seconds`:                                        90,
		`mailroom_queue_scrape_errors_total`:                                       0,
		`mailroom_build_info{commit=abc123,goversion=go1.26,version=v1.2.3}`:       1,
		`mailroom_auth_verdicts_total{method=spf,result=pass}`:                     1,
		`mailroom_auth_verdicts_total{method=dkim,result=none}`:                    1,
		`mailroom_auth_verdicts_total{method=dmarc,result=fail}`:                   1,
		`mailroom_auth_verdicts_total{method=dmarc,result=other}`:                  1,
		`mailroom_store_write_duration_seconds_count`:                              2,
		`mailroom_store_commit_batch_size_count`:                                   1,
		`mailroom_text_index_pending`:                                              5,
	} {
		if v, ok := got[k]; !ok || v != want {
			t.Errorf("%s = %v (present %v), want %v", k, v, ok, want)
		}
	}
	if q.limit != queueScrapeLimit {
		t.Errorf("queue asked with limit %d", q.limit)
	}
	if _, ok := got["go_goroutines"]; !ok {
		t.Errorf("no Go runtime metrics")
	}
	for k := range got {
		if strings.Contains(k, "method=arc") {
			t.Errorf("unknown verdict method exported: %s", k)
		}
	}

	// A failing queue read drops the queue gauges and counts the error.
	q.err = errors.New("db gone")
	_, got = scrape(t, m)
	if _, ok := got["mailroom_queue_depth"]; ok {
		t.Errorf("queue depth reported after a failed read")
	}
	if got["mailroom_queue_scrape_errors_total"] != 1 {
		t.Errorf("scrape errors %v", got["mailroom_queue_scrape_errors_total"])
	}
}

// The SIGUSR1 log line reads the same collectors.
func TestSnapshot(t *testing.T) {
	m := newTest(t, &fakeQueue{}, time.Now())
	s := m.Snapshot()
	if s["mailroom_connections_accepted_total{listener=imap}"] != 7 || s["mailroom_logins_total{mechanism=PLAIN,outcome=succeeded,protocol=imap}"] != 1 {
		t.Errorf("snapshot %v", s)
	}
	for k := range s {
		if !strings.HasPrefix(k, "mailroom_") || strings.HasPrefix(k, "mailroom_build_info") {
			t.Errorf("unexpected %s in snapshot", k)
		}
	}
}

// promtool (Debian package "prometheus") checks names, help, units and
// types of the real exposition.
func TestPromtoolCheckMetrics(t *testing.T) {
	path, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("MAILROOM_REQUIRE_PROMTOOL") != "" {
			t.Fatal("promtool not found (apt-get install prometheus)")
		}
		t.Skip("promtool not installed (Debian package prometheus); set MAILROOM_REQUIRE_PROMTOOL=1 to require it")
	}
	m := newTest(t, &fakeQueue{depth: 1, oldest: time.Now()}, time.Now())
	text, _ := scrape(t, m)
	cmd := exec.Command(path, "check", "metrics")
	cmd.Stdin = strings.NewReader(text)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("promtool check metrics: %v\n%s", err, out.String())
	}
	if strings.TrimSpace(out.String()) != "" {
		t.Errorf("promtool lint findings:\n%s", out.String())
	}
}
