package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/mailroom/mailroom/auth"
	"github.com/mailroom/mailroom/internal/config"
	"github.com/mailroom/mailroom/internal/connlimit"
	"github.com/mailroom/mailroom/internal/gcfloor"
	"github.com/mailroom/mailroom/internal/metrics"
	"github.com/mailroom/mailroom/internal/recent"
	"github.com/mailroom/mailroom/store"
)

// shutdownGrace is how long in-flight transactions get to finish after
// SIGINT/SIGTERM before their connections are closed.
const shutdownGrace = 30 * time.Second

// newServeFlags declares serve's flags (TestUsageMatchesREADME checks
// them against the README).
func newServeFlags(w io.Writer) (*flag.FlagSet, *string) {
	fs := newFlagSet("serve", w)
	configPath := fs.String("config", "", "TOML config file")
	def := config.Default()
	fs.String("data", def.DataDir, "data directory")
	fs.String("hostname", def.Hostname, "host name used in greetings and trace headers")
	fs.String("smtp", def.SMTP, `SMTP (MX) listen address; "" disables`)
	fs.String("submission", def.Submission, `submission listen address; "" disables`)
	fs.String("pop3", def.POP3, `POP3 listen address; "" disables`)
	fs.String("imap", def.IMAP, `IMAP listen address; "" disables`)
	fs.String("managesieve", def.ManageSieve, `ManageSieve (Sieve script upload) listen address; "" disables`)
	fs.String("smtps", def.SMTPS, `submission over implicit TLS listen address; "" disables`)
	fs.String("pop3s", def.POP3S, `POP3 over implicit TLS listen address; "" disables`)
	fs.String("imaps", def.IMAPS, `IMAP over implicit TLS listen address; "" disables`)
	fs.String("http", def.HTTP, `HTTP listen address (metrics, health, autoconfig); "" disables`)
	fs.String("https", def.HTTPS, `HTTPS listen address (same certificates as the mail listeners); "" disables`)
	fs.String("log-level", def.LogLevel, "debug, info, warn or error")
	fs.String("log-format", def.LogFormat, "text or json")
	fs.String("database", def.Database, databaseFlagHelp)
	return fs, configPath
}

func cmdServe(ctx context.Context, args []string, e env) error {
	fs, configPath := newServeFlags(e.stderr)
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		fmt.Fprintf(e.stderr, "mailroom serve: unexpected argument %q\n", pos[0])
		return errUsage
	}

	// The absolute path, as a reload reads it: a relative data
	// directory in the file resolves the same way both times.
	cfg, err := config.Load(absPath(*configPath))
	if err != nil {
		return err
	}
	// Flags given on the command line override the file, at start and
	// on every reload.
	override := func(cfg *config.Config) {
		for name, dst := range map[string]*string{
			"data": &cfg.DataDir, "hostname": &cfg.Hostname, "smtp": &cfg.SMTP,
			"submission": &cfg.Submission, "pop3": &cfg.POP3, "imap": &cfg.IMAP,
			"log-level": &cfg.LogLevel, "log-format": &cfg.LogFormat, "database": &cfg.Database,
			"smtps": &cfg.SMTPS, "pop3s": &cfg.POP3S, "imaps": &cfg.IMAPS,
			"http": &cfg.HTTP, "https": &cfg.HTTPS, "managesieve": &cfg.ManageSieve,
		} {
			if wasSet(fs, name) {
				*dst = fs.Lookup(name).Value.String()
			}
		}
	}
	override(&cfg)
	if err := cfg.Validate(); err != nil {
		return err
	}
	return serve(ctx, cfg, absPath(*configPath), override, e)
}

// newLogger is serve's logger: text (logfmt) or JSON lines on stderr, at
// a level a reload may change.
func newLogger(e env, format string, level *slog.LevelVar) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(e.stderr, opts))
	}
	return slog.New(slog.NewTextHandler(e.stderr, opts))
}

// serve runs every configured listener until ctx is cancelled, then shuts
// them down gracefully. configPath is the config file it was started with
// ("" for none), recorded in the data directory's lock file and re-read
// on SIGHUP with override (the command-line flags) applied over it.
func serve(ctx context.Context, cfg config.Config, configPath string, override func(*config.Config), e env) error {
	level := new(slog.LevelVar)
	_ = level.UnmarshalText([]byte(cfg.LogLevel)) // checked by Validate
	log := newLogger(e, cfg.LogFormat, level)
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return err
	}
	if !cfg.UsesPostgres() {
		// One serve per SQLite data directory: a second one would run
		// with its own change feed, and its IDLE clients would never hear
		// of the first one's deliveries.
		unlock, err := lockDataDir(cfg.DataDir, configPath)
		if err != nil {
			return err
		}
		defer unlock()
	}
	// Held until serve returns: collections start past the floor.
	floor := gcfloor.New(cfg.Limits.GCHeapFloorBytes)
	defer floor.Release()
	// One registry per process, handed to every server and the store.
	m := metrics.New(buildInfo())
	st, err := openStoreWith(ctx, cfg, log.With("component", "store"), m)
	if err != nil {
		return storeOpenError(cfg, err)
	}
	defer st.Close()
	if err := checkStore(ctx, st, cfg, log); err != nil {
		return err
	}

	authn := auth.NewAuthenticator(st, log.With("component", "auth"), nil).
		WithLimits(authLimits(cfg)).
		WithSCRAMPlus(cfg.SCRAMPlus).
		WithCache(auth.CacheConfig{TTL: cfg.Limits.AuthCacheTTL.Duration, Size: cfg.Limits.AuthCacheSize})
	authn.WithObserver(m)
	tlsCfg, reload, acme, err := setupTLS(cfg, log)
	if err != nil {
		return err
	}
	// The admin dashboard's recent deliveries and failures: in memory,
	// recent.DefaultSize of each.
	rec := recent.NewLog(recent.DefaultSize)
	q := newQueue(cfg, st, m, rec, log.With("component", "queue"))
	lv := newLive(cfg)
	dlv, err := newDeliverer(cfg, lv, st, q, m, rec, log.With("component", "delivery"))
	if err != nil {
		return err
	}
	q.SetDeliverer(dlv)
	m.AddQueue(queueStats{st}, time.Now, log.With("component", "metrics"))
	rd := &readiness{queue: q}
	servers, reloadable, err := buildServers(cfg, lv, st, authn, dlv, q, tlsCfg, acme, m, rd, rec, log)
	if err != nil {
		return err
	}
	rl := &reloader{
		path: configPath, override: override, log: log, level: level, live: lv,
		smtp: reloadable.smtp, imap: reloadable.imap, pop3: reloadable.pop3, msieve: reloadable.msieve, queue: q, authn: authn, web: reloadable.web, tls: reload,
		cur: cfg, maxSize: cfg.Limits.MaxMessageBytes,
	}
	rl.store, _ = st.(flagSyncer)

	// Bind every listener before the first account is created: a
	// one-time password printed by a start that then fails would be lost.
	type bound struct {
		runner
		l net.Listener
	}
	var listeners []bound
	closeAll := func() {
		for _, b := range listeners {
			b.l.Close()
		}
	}
	for _, s := range servers {
		if s.addr == "" {
			log.Info("listener disabled", "protocol", s.name)
			continue
		}
		l, err := net.Listen("tcp", s.addr)
		if err != nil {
			closeAll()
			return bindError(s.name, err)
		}
		listeners = append(listeners, bound{s, l})
	}
	if len(listeners) == 0 {
		return errors.New("every listener is disabled")
	}
	if err := ensureFirstAccount(ctx, st, cfg, configPath, e); err != nil {
		closeAll()
		return err
	}

	q.Start()
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
		defer cancel()
		q.Shutdown(ctx)
	}()
	if l := reloadable.learner; l != nil {
		// Spam learning: submissions still queued at shutdown are lost
		// (the messages stay filed; only Rspamd's lesson is skipped).
		lctx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { l.Run(lctx); close(done) }()
		defer func() { stop(); <-done }()
	}
	onSignal(ctx, syscall.SIGHUP, func() { _ = rl.reload() }) // reload logs its outcome
	ctrs := &counters{auth: authn, metrics: m}
	onSignal(ctx, syscall.SIGUSR1, func() { ctrs.log(log, "counters") })

	errc := make(chan error, len(listeners))
	var started []runner
	for _, b := range listeners {
		s := b.runner
		log.Info("listening", "protocol", s.name, "addr", b.l.Addr().String())
		started = append(started, s)
		total, perIP := cfg.Limits.ConnLimits(s.name)
		limited := connlimit.New(b.l, connlimit.Config{
			Total: total, PerIP: perIP,
			Refuse: s.refuse, Logger: log.With("protocol", s.name),
		})
		rl.addListener(s.name, limited)
		m.AddListener(s.name, limited)
		go func() { errc <- s.serve(limited) }()
	}
	rd.listening.Store(true)
	log.Info("ready", "listeners", len(started))

	select {
	case <-ctx.Done():
		log.Info("shutting down", "grace", shutdownGrace)
	case err := <-errc:
		log.Error("listener failed", "err", err)
		shutdownAll(started, log)
		return err
	}
	rd.listening.Store(false)
	shutdownAll(started, log)
	ctrs.log(log, "stopped")
	return nil
}

// bindError names the flag and config key that move the listener that
// could not be bound (they share the listener's name).
func bindError(name string, err error) error {
	return fmt.Errorf("%s listener: %w\n  (choose another address with --%s ADDR or %s = \"ADDR\" in the config file; --%s \"\" disables it)",
		name, err, name, name, name)
}

// absPath is p made absolute, "" for "".
func absPath(p string) string {
	if p == "" {
		return ""
	}
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

func shutdownAll(rs []runner, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	done := make(chan struct{}, len(rs))
	for _, r := range rs {
		go func() {
			if err := r.shutdown(ctx); err != nil && !errors.Is(err, context.Canceled) {
				log.Warn("shutdown", "protocol", r.name, "err", err)
			}
			done <- struct{}{}
		}()
	}
	for range rs {
		<-done
	}
}

// ensureFirstAccount creates postmaster@localhost with a random password
// when the store has no account at all, so a zero-configuration server can
// be tried at once. The password is printed once.
func ensureFirstAccount(ctx context.Context, st store.Store, cfg config.Config, configPath string, e env) error {
	accts, err := st.Accounts(ctx)
	if err != nil || len(accts) > 0 {
		return err
	}
	const email = "postmaster@localhost"
	pw := rand.Text()
	hash, err := auth.HashPassword(pw)
	if err != nil {
		return err
	}
	if _, err := st.CreateAccount(ctx, email, hash); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Created account %s with password %s\n", email, pw)
	where := "--data " + shellQuote(cfg.DataDir)
	if cfg.UsesPostgres() {
		where = "--database " + shellQuote(cfg.Database)
	}
	if configPath != "" {
		where = "--config " + shellQuote(configPath)
	}
	fmt.Fprintf(e.stdout, "This password is shown only once. Change it with:\n  %s user passwd %s %s\n", progOrDefault(e.prog), email, where)
	return nil
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:@+=,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
