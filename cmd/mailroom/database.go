package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/mailroom/mailroom/internal/config"
	"github.com/mailroom/mailroom/store"
	"github.com/mailroom/mailroom/store/postgres"
	"github.com/mailroom/mailroom/store/sqlite"
)

// databaseFlagHelp documents --database, taken by serve and the
// store-managing commands.
const databaseFlagHelp = `store: "" for SQLite in the data directory, or a postgres:// URL shared by several nodes`

// openStore opens the store cfg names: PostgreSQL when cfg.Database is a
// postgres:// URL, else the SQLite file in the data directory (created if
// needed).
func openStore(ctx context.Context, cfg config.Config, log *slog.Logger) (store.Store, error) {
	return openStoreWith(ctx, cfg, log, nil)
}

// flagSyncer is a store whose [store] sync_flag_changes a reload sets.
type flagSyncer interface{ SetSyncFlagChanges(on bool) }

var (
	_ flagSyncer = (*sqlite.Store)(nil)
	_ flagSyncer = (*postgres.Store)(nil)
)

// openStoreWith is openStore reporting store writes to m (nil: none).
func openStoreWith(ctx context.Context, cfg config.Config, log *slog.Logger, m sqlite.Metrics) (store.Store, error) {
	if cfg.UsesPostgres() {
		st, err := postgres.Open(ctx, cfg.Database, log)
		if err != nil {
			return nil, err
		}
		if m != nil {
			st.WithMetrics(m)
		}
		st.SetSyncFlagChanges(cfg.Store.SyncFlagChanges)
		return st, nil
	}
	if cfg.Database != "" {
		return nil, fmt.Errorf("database %q: want \"\" (SQLite in the data directory) or a postgres:// URL", cfg.Database)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, err
	}
	return sqlite.OpenWith(ctx, cfg.DBPath(), log, sqlite.Options{Metrics: m, SyncFlagChanges: cfg.Store.SyncFlagChanges})
}
