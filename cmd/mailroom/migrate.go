package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/mailroom/mailroom/internal/config"
	"github.com/mailroom/mailroom/store"
	"github.com/mailroom/mailroom/store/postgres"
	"github.com/mailroom/mailroom/store/sqlite"
	"github.com/mailroom/mailroom/transfer"
)

const migrateUsage = `Usage:
  mailroom migrate --to postgres://...|sqlite:DIR [--data DIR | --config FILE | --database URL]

Copies the whole store (the configured one: SQLite in the data directory,
or --database postgres://...) into an empty PostgreSQL database or a new
SQLite store in DIR, from one consistent snapshot, in one transaction,
then verifies both sides. Stop serve first: mail that arrives during the
copy is not in the snapshot, and verification then reports the difference.
`

func cmdMigrate(ctx context.Context, args []string, e env) error {
	fs := newFlagSet("migrate", e.stderr)
	sf := addStoreFlags(fs)
	to := fs.String("to", "", "the target store: postgres://... or sqlite:DIR")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 || *to == "" {
		fmt.Fprint(e.stderr, e.cmd(migrateUsage))
		return errUsage
	}
	cfg, err := sf.loadConfig()
	if err != nil {
		return err
	}
	src, err := openStore(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	defer src.Close()
	from, ok := src.(transfer.MigrateSource)
	if !ok {
		return fmt.Errorf("the store %T cannot be dumped", src)
	}
	dst, err := openTarget(ctx, *to, cfg)
	if err != nil {
		return err
	}
	defer dst.Close()
	log := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	prog := newProgress(e.stderr, "migrate", -1, log)
	stats, err := transfer.Migrate(ctx, from, dst, func(s transfer.MigrateStats) {
		prog.update(transfer.Stats{Messages: s.Rows["messages"], Bytes: s.Bytes})
	})
	prog.finish()
	if errors.Is(err, store.ErrExists) {
		return fmt.Errorf("%s is not empty: migrate writes only into an empty store (%w)", redactURL(*to), err)
	}
	if err != nil {
		return fmt.Errorf("migrate to %s: %w (nothing was written)", redactURL(*to), err)
	}
	r := stats.Rows
	fmt.Fprintf(e.stdout, "Migrated to %s: %d accounts, %d mailboxes, %d messages (%d bytes), %d queued, %d Sieve scripts\n",
		redactURL(*to), r["accounts"], r["mailboxes"], r["messages"], stats.Bytes, r["queue"], r["sieve_scripts"])
	fp, err := transfer.Verify(ctx, src, dst)
	if err != nil {
		return fmt.Errorf("verification failed: %w", err)
	}
	fmt.Fprintf(e.stdout, "Verified: %d accounts, %d mailboxes, %d messages, %d queued, %d Sieve scripts identical on both sides (per-mailbox SHA-256 over UIDs, modseqs, flags, sizes, dates)\n",
		fp.Accounts, fp.Mailboxes, fp.Messages, fp.QueueItems, fp.SieveScripts)
	return nil
}

// openTarget opens the store --to names: a postgres:// URL, or
// sqlite:DIR (created if missing; its mailroom.db must not exist yet).
func openTarget(ctx context.Context, to string, cfg config.Config) (transfer.MigrateTarget, error) {
	log := slog.New(slog.DiscardHandler)
	if strings.HasPrefix(to, "postgres://") || strings.HasPrefix(to, "postgresql://") {
		if cfg.UsesPostgres() && cfg.Database == to {
			return nil, errors.New("--to names the store being migrated")
		}
		return postgres.Open(ctx, to, log)
	}
	dir, ok := strings.CutPrefix(to, "sqlite:")
	if !ok || dir == "" {
		return nil, fmt.Errorf("--to %q: want postgres://... or sqlite:DIR", to)
	}
	path := filepath.Join(dir, "mailroom.db")
	if !cfg.UsesPostgres() {
		a, _ := filepath.Abs(path)
		b, _ := filepath.Abs(cfg.DBPath())
		if a == b {
			return nil, errors.New("--to names the store being migrated")
		}
	}
	if _, err := os.Stat(path); err == nil {
		return nil, fmt.Errorf("%s exists: migrate writes only into a new store", path)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	return sqlite.Open(ctx, path, log)
}

// redactURL hides the password of a postgres:// URL.
func redactURL(s string) string {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return s
	}
	userinfo, host, ok := strings.Cut(rest, "@")
	if !ok {
		return s
	}
	if u, _, hasPw := strings.Cut(userinfo, ":"); hasPw {
		return scheme + "://" + u + ":***@" + host
	}
	return s
}
