package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"syscall"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/mailroom/mailroom/store"
)

// mapNoSpace turns a full disk or database into store.ErrNoSpace (keeping
// the cause): SQLITE_FULL (also what PRAGMA max_page_count gives), an
// SQLITE_IOERR that says ENOSPC, and ENOSPC from file writes.
func mapNoSpace(err error) error {
	if err == nil || errors.Is(err, store.ErrNoSpace) {
		return err
	}
	var se *sqlite.Error
	full := errors.Is(err, syscall.ENOSPC)
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_FULL:
			full = true
		case sqlite3.SQLITE_IOERR:
			full = full || strings.Contains(strings.ToLower(se.Error()), "no space")
		}
	}
	if full {
		return fmt.Errorf("%w: %w", store.ErrNoSpace, err)
	}
	return err
}

// SetMaxPageCount sets PRAGMA max_page_count on the write connections:
// writes that would grow the database beyond pages pages fail with
// SQLITE_FULL (store.ErrNoSpace), as at a full disk. For tests of what
// still works then.
func (s *Store) SetMaxPageCount(ctx context.Context, pages int64) error {
	// The writer's pinned connection gets it in a write job; the two
	// others of wdb (statement preparation), held at once, get it each.
	if err := s.write(ctx, func(tx *wtx) error {
		return tx.c.exec(fmt.Sprintf("PRAGMA max_page_count = %d", pages))
	}); err != nil {
		return err
	}
	var conns []*sql.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range 2 {
		c, err := s.wdb.Conn(ctx)
		if err != nil {
			return err
		}
		conns = append(conns, c)
		if _, err := c.ExecContext(ctx, fmt.Sprintf("PRAGMA max_page_count = %d", pages)); err != nil {
			return err
		}
	}
	return nil
}

// PageCount returns the database's size in pages.
func (s *Store) PageCount(ctx context.Context) (int64, error) {
	var n int64
	err := s.wdb.QueryRowContext(ctx, "PRAGMA page_count").Scan(&n)
	return n, err
}
