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
	"testing"
	"time"

	"github.com/mailroom/mailroom/auth"
	"github.com/mailroom/mailroom/imapserver"
	"github.com/mailroom/mailroom/message"
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

// imap-stay against a real mailroom IMAP server: the mix runs logged in,
// reports every step, and -cpuprofile saves one CPU profile per step
// (from a /debug/pprof/ stand-in).
func TestScenarioIMAPStay(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	st, err := sqlite.OpenWith(ctx, filepath.Join(t.TempDir(), "m.db"), log, sqlite.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	h, _ := auth.HashPassword("benchpass")
	acct, err := st.CreateAccount(ctx, "mix@bench.test", h)
	if err != nil {
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
	srv := imapserver.New(imapserver.Config{Store: st, Auth: auth.NewAuthenticator(st, log, nil), Logger: log})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	}()
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	web := httptest.NewServer(mux)
	defer web.Close()

	dir := t.TempDir()
	o := &options{imapAddr: l.Addr().String(), domain: "bench.test", pass: "benchpass", c: 2,
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
