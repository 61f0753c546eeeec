package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
)

const backupUsage = `Usage:
  mailroom backup FILE [--data DIR | --config FILE]

Writes a consistent copy of the SQLite store to FILE (which must not
exist) while serve keeps running. To restore, stop serve and put the copy
in place of <data>/mailroom.db. For a PostgreSQL store use pg_dump.
`

// backuper is the optional store method behind `mailroom backup`
// (sqlite.Store has it).
type backuper interface {
	Backup(ctx context.Context, path string) error
}

// cmdBackup: mailroom backup FILE.
func cmdBackup(ctx context.Context, args []string, e env) error {
	fs := newFlagSet("backup", e.stderr)
	sf := addStoreFlags(fs)
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fmt.Fprint(e.stderr, e.cmd(backupUsage))
		return errUsage
	}
	cfg, err := sf.loadConfig()
	if err != nil {
		return err
	}
	if cfg.UsesPostgres() {
		return errors.New("backup: the store is PostgreSQL; use pg_dump")
	}
	st, err := sf.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	b, ok := st.(backuper)
	if !ok {
		return errors.New("backup: this store cannot be backed up by mailroom")
	}
	dest, err := filepath.Abs(pos[0])
	if err != nil {
		return err
	}
	if err := b.Backup(ctx, dest); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Backed up %s to %s.\n", cfg.DBPath(), dest)
	return nil
}
