package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/mailroom/mailroom/internal/config"
	"github.com/mailroom/mailroom/store"
	"github.com/mailroom/mailroom/store/sqlite"
)

// quickChecker is a store that can check its own file at start (SQLite).
type quickChecker interface {
	QuickCheck(ctx context.Context) error
}

var _ quickChecker = (*sqlite.Store)(nil)

// checkStore runs the store's integrity check before serve accepts any
// connection: a damaged SQLite file is refused with the way to recover,
// instead of failing later on whatever command touches the bad page.
func checkStore(ctx context.Context, st store.Store, cfg config.Config, log *slog.Logger) error {
	qc, ok := st.(quickChecker)
	if !ok {
		return nil
	}
	t0 := time.Now()
	if err := qc.QuickCheck(ctx); err != nil {
		return storeOpenError(cfg, err)
	}
	log.Info("store checked", "check", "quick_check", "took", time.Since(t0).Round(time.Millisecond))
	return nil
}

// storeOpenError adds the recovery procedure to an error that says the
// SQLite file is damaged.
func storeOpenError(cfg config.Config, err error) error {
	if cfg.UsesPostgres() || !sqlite.IsCorrupt(err) {
		return err
	}
	db := cfg.DBPath()
	aside := filepath.Join(filepath.Dir(db), "damaged")
	q, qa := shellQuote(db), shellQuote(filepath.Join(aside, filepath.Base(db)))
	return fmt.Errorf(`%v
the SQLite store %s is damaged; serve refuses to start on it. To recover, stop
every mailroom process on it and move the damaged file aside (with its -wal and -shm files, if any):
  mkdir %s && mv %s* %s/
then either restore your last backup (made with mailroom backup FILE):
  cp BACKUP %s
or salvage what is still readable into a new file:
  sqlite3 %s .recover | sqlite3 %s
(see README, "Recovering a damaged store")`,
		err, q, shellQuote(aside), q, shellQuote(aside), q, qa, q)
}
