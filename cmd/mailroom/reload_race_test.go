package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/mailroom/mailroom/auth"
	"github.com/mailroom/mailroom/internal/authtest"
	"github.com/mailroom/mailroom/internal/config"
	"github.com/mailroom/mailroom/internal/metrics"
)

// TestReloadWhileServing runs serve's wiring in this process (so that
// `go test -race` sees it) and reloads the config over and over while
// SMTP sessions resolve aliases, the queue and the metrics endpoint's
// access rules are swapped, and logins are throttled: every reload must
// apply without a data race, and each session sees one alias table or the
// other.
func TestReloadWhileServing(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "m.toml")
	write := func(n int) {
		t.Helper()
		body := fmt.Sprintf(`data = %q
hostname = "mx.example.test"
[limits]
max_recipients = %d
login_failures_per_ip = %d
[aliases]
"sales@example.test" = ["dana@example.test"]
"n%d@example.test" = ["dana@example.test"]
`, filepath.Join(dir, "d"), 5+n%3, 10+n, n)
		if err := os.WriteFile(cfgPath, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(0)
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx := context.Background()
	st, err := openStore(ctx, cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	hash := authtest.Credentials("pw")
	if _, err := st.CreateAccount(ctx, "dana@example.test", hash); err != nil {
		t.Fatal(err)
	}
	m := metrics.New(buildInfo())
	authn := auth.NewAuthenticator(st, log, nil).WithLimits(authLimits(cfg))
	q := newQueue(cfg, st, m, nil, log)
	lv := newLive(cfg)
	dlv, err := newDeliverer(cfg, lv, st, q, nil, nil, log)
	if err != nil {
		t.Fatal(err)
	}
	level := new(slog.LevelVar)
	_, targets, err := buildServers(cfg, lv, st, authn, dlv, q, nil, nil, m, &readiness{queue: q}, nil, log)
	if err != nil {
		t.Fatal(err)
	}
	rl := &reloader{
		path: cfgPath, override: func(*config.Config) {}, log: log, level: level, live: lv,
		smtp: targets.smtp, imap: targets.imap, pop3: targets.pop3, queue: q, authn: authn, web: targets.web, cur: cfg, maxSize: cfg.Limits.MaxMessageBytes,
	}
	mx := targets.smtp[0]
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go mx.Serve(l)
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		mx.Shutdown(ctx)
	}()

	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() { // the reloads
		defer wg.Done()
		for n := 1; n <= 30; n++ {
			write(n)
			if err := rl.reload(); err != nil {
				t.Errorf("reload %d: %v", n, err)
				return
			}
		}
		close(stop)
	}()
	for range 3 { // sessions and other readers meanwhile
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if err := sendMailNoTLS(l.Addr().String(), "x@sender.test", []string{"sales@example.test"}, []byte("Subject: x\r\n\r\nx\r\n")); err != nil {
					t.Errorf("send to the alias kept by every reload: %v", err)
					return
				}
				authn.Authenticate(ctx, "dana@example.test", "wrong", &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1)})
				quota := liveQuota{lv}
				quota.Limits("dana@example.test")
			}
		}()
	}
	wg.Wait()
	aliases := liveAliases{lv}
	if got, ok := aliases.AliasTargets("n30@example.test"); !ok || len(got) != 1 {
		t.Errorf("last reload's alias: %v %v", got, ok)
	}
	if _, ok := aliases.AliasTargets("n29@example.test"); ok {
		t.Error("an alias removed by the last reload still resolves")
	}
}
