package main

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/pprof"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mailroom/mailroom/auth"
	"github.com/mailroom/mailroom/imapserver"
	"github.com/mailroom/mailroom/internal/authtest"
	"github.com/mailroom/mailroom/message"
	"github.com/mailroom/mailroom/smtpserver"
	"github.com/mailroom/mailroom/store"
	"github.com/mailroom/mailroom/store/sqlite"
)

func TestPickSteps(t *testing.T) {
	t.Parallel()
	all, err := pickSteps("")
	if err != nil || len(all) != len(staySteps) {
		t.Fatalf("all: %d, %v", len(all), err)
	}
	got, err := pickSteps("search unseen, NOOP")
	if err != nil || len(got) != 2 || got[0].op != "SEARCH UNSEEN" || got[1].op != "NOOP" {
		t.Fatalf("subset: %v, %v", got, err)
	}
	if _, err := pickSteps("LOGIN"); err == nil {
		t.Error("unknown step accepted")
	}
}

// countingListener counts the connections it accepts: which "node" a
// client went to.
type countingListener struct {
	net.Listener
	n atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}

// benchNodes is a mailroom store with mix@ and ingest@bench.test (12
// messages in mix's INBOX) served by IMAP and SMTP servers on nodes
// listeners each: several "nodes" of one store, as two mailroom processes
// on one PostgreSQL database are.
type benchNodes struct {
	imap, smtp           []string
	imapConns, smtpConns []*countingListener
}

func startBenchNodes(t *testing.T, nodes int) *benchNodes {
	t.Helper()
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	st, err := sqlite.OpenWith(ctx, filepath.Join(t.TempDir(), "m.db"), log, sqlite.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	h := authtest.Credentials("benchpass")
	acct, err := st.CreateAccount(ctx, "mix@bench.test", h)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateAccount(ctx, "ingest@bench.test", h); err != nil {
		t.Fatal(err)
	}
	inbox, _ := st.MailboxByName(ctx, acct.ID, store.Inbox)
	rng := rand.New(rand.NewPCG(1, 2))
	var msgs []store.NewMessage
	for i := range 12 {
		raw := makeMessage(rng, i, 3<<10, "mix@bench.test")
		msgs = append(msgs, store.NewMessage{Raw: raw, Part: message.Parse(raw)})
	}
	if _, _, err := st.Append(ctx, inbox.Ref(), msgs); err != nil {
		t.Fatal(err)
	}
	authn := auth.NewAuthenticator(st, log, nil)
	isrv := imapserver.New(imapserver.Config{Store: st, Auth: authn, Logger: log})
	ssrv := smtpserver.New(smtpserver.Config{Mode: smtpserver.ModeMX, Hostname: "bench.test", Store: st, Auth: authn, Logger: log,
		LookupAddr: func(context.Context, string) ([]string, error) { return []string{"localhost."}, nil }})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		isrv.Shutdown(ctx)
		ssrv.Shutdown(ctx)
	})
	b := &benchNodes{}
	listen := func() *countingListener {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		return &countingListener{Listener: l}
	}
	for range nodes {
		il, sl := listen(), listen()
		go isrv.Serve(il)
		go ssrv.Serve(sl)
		b.imap, b.imapConns = append(b.imap, il.Addr().String()), append(b.imapConns, il)
		b.smtp, b.smtpConns = append(b.smtp, sl.Addr().String()), append(b.smtpConns, sl)
	}
	return b
}

// imap-stay against a real mailroom IMAP server: the mix runs logged in,
// reports every step, and -cpuprofile saves one CPU profile per step
// (from a /debug/pprof/ stand-in).
func TestScenarioIMAPStay(t *testing.T) {
	t.Parallel()
	b := startBenchNodes(t, 1)
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	web := httptest.NewServer(mux)
	defer web.Close()

	dir := t.TempDir()
	o := &options{imapAddrs: b.imap, domain: "bench.test", pass: "benchpass", c: 2,
		duration: 300 * time.Millisecond, only: "SEARCH UNSEEN,NOOP", cpuProfile: dir, pprofURL: web.URL, profileFor: time.Second}
	var r Result
	if err := scenarioIMAPStay(o, &r); err != nil {
		t.Fatal(err)
	}
	seen := map[string]float64{}
	for _, m := range r.Metrics {
		seen[m.Name] = m.Value
	}
	for _, name := range []string{"commands", "SEARCH UNSEEN p50", "NOOP p99"} {
		if _, ok := seen[name]; !ok {
			t.Errorf("no metric %q in %v", name, seen)
		}
	}
	if _, ok := seen["LOGIN p50"]; ok || seen["commands"] <= 0 || r.Errors != 0 {
		t.Errorf("metrics %v, %d errors", seen, r.Errors)
	}
	for _, f := range []string{"SEARCH_UNSEEN.pprof", "NOOP.pprof"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil || len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
			t.Errorf("profile %s: %d bytes, %v", f, len(b), err)
		}
	}
	o.cpuProfile = ""
	if err := scenarioIMAPStay(o, &r); err == nil {
		t.Error("-pprof without -cpuprofile accepted")
	}
}

// A run shorter than its sessions take to start (here 1 ns; on a loaded
// machine, the tests' 200-300 ms) still has every session run the mix
// once, and reports: no "no IMAP command completed".
func TestScenarioIMAPStayShortRun(t *testing.T) {
	t.Parallel()
	b := startBenchNodes(t, 1)
	o := &options{imapAddrs: b.imap, domain: "bench.test", pass: "benchpass", c: 2,
		duration: time.Nanosecond, only: "NOOP"}
	var r Result
	if err := scenarioIMAPStay(o, &r); err != nil || r.Errors != 0 {
		t.Fatalf("imap-stay of 1 ns: %v, %d errors", err, r.Errors)
	}
	for _, m := range r.Metrics {
		if m.Name == "NOOP p50" {
			return
		}
	}
	t.Errorf("no NOOP p50 in %v", r.Metrics)
}

// With several -imap and -smtp addresses (two nodes on one PostgreSQL
// database), the clients of the IMAP mix and the SMTP sessions of the
// ingest are spread round-robin over them.
func TestScenariosSpreadOverNodes(t *testing.T) {
	t.Parallel()
	b := startBenchNodes(t, 2)
	o := &options{imapAddrs: b.imap, smtpAddrs: b.smtp, domain: "bench.test", pass: "benchpass", c: 4,
		n: 8, duration: 200 * time.Millisecond}
	var r Result
	if err := scenarioIMAPStay(o, &r); err != nil || r.Errors != 0 {
		t.Fatalf("imap-stay: %v, %d errors", err, r.Errors)
	}
	for i, l := range b.imapConns {
		if got := l.n.Load(); got != 2 {
			t.Errorf("imap-stay: node %d took %d of 4 clients, want 2", i, got)
		}
	}
	r = Result{}
	if err := scenarioSMTP(o, &r); err != nil || r.Errors != 0 {
		t.Fatalf("smtp: %v, %d errors", err, r.Errors)
	}
	for i, l := range b.smtpConns {
		if got := l.n.Load(); got != 2 {
			t.Errorf("smtp: node %d took %d of 4 sessions, want 2", i, got)
		}
	}
}

// imap-rate sends the mix at the rate asked, not as fast as the server
// answers, and reports it; -rate belongs to imap-rate only.
func TestScenarioIMAPRate(t *testing.T) {
	t.Parallel()
	b := startBenchNodes(t, 1)
	o := &options{scenario: "imap-rate", imapAddrs: b.imap, domain: "bench.test", pass: "benchpass", c: 2,
		duration: time.Second, rate: 100, only: "NOOP"}
	var r Result
	if err := scenarioIMAPStay(o, &r); err != nil || r.Errors != 0 {
		t.Fatalf("imap-rate: %v, %d errors", err, r.Errors)
	}
	seen := map[string]float64{}
	for _, m := range r.Metrics {
		seen[m.Name] = m.Value
	}
	// At most rate·duration commands, plus one per session, in at least
	// the duration: a closed loop would do thousands.
	if got := seen["commands"]; got <= 0 || got > 102 {
		t.Errorf("commands %v ops/s at rate 100, want at most 102", got)
	}
	if seen["offered rate"] != 100 {
		t.Errorf("offered rate %v, want 100", seen["offered rate"])
	}
	if _, ok := seen["NOOP p50"]; !ok {
		t.Errorf("no NOOP p50 in %v", seen)
	}
	o.scenario = "imap-stay"
	if err := scenarioIMAPStay(o, &r); err == nil {
		t.Error("imap-stay accepted -rate")
	}
}

// pace: a command due later is sent then and timed from its sending; one
// due earlier (its session was waiting for an answer) is timed from when
// it was due.
func TestPace(t *testing.T) {
	t.Parallel()
	t0 := time.Now().Add(-time.Hour)
	if got, want := pace(t0, 3, 1, 2, 10), t0.Add(700*time.Millisecond); !got.Equal(want) {
		t.Errorf("late command timed from %v, want its due time %v", got, want)
	}
	t0 = time.Now()
	due := t0.Add(20 * time.Millisecond) // k·n+w = 2 at 100/s
	if got := pace(t0, 1, 0, 2, 100); got.Before(due) {
		t.Errorf("command due at %v sent at %v", due, got)
	}
}
