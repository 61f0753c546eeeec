package sqlite

import (
	"context"
	"errors"
	"fmt"
	"strings"

	sqlite3 "modernc.org/sqlite"
)

// ErrCorrupt means the database file is damaged: PRAGMA quick_check found
// a problem, or SQLite reported SQLITE_CORRUPT or SQLITE_NOTADB.
var ErrCorrupt = errors.New("sqlite: database is damaged")

// SQLite's primary result codes for a damaged file (sqlite3.h).
const (
	codeCorrupt = 11 // SQLITE_CORRUPT
	codeNotADB  = 26 // SQLITE_NOTADB
)

// maxCheckLines bounds how many of quick_check's problem lines are kept.
const maxCheckLines = 5

// IsCorrupt reports whether err means the database file is damaged.
func IsCorrupt(err error) bool {
	if errors.Is(err, ErrCorrupt) {
		return true
	}
	var se *sqlite3.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case codeCorrupt, codeNotADB:
			return true
		}
	}
	return false
}

// QuickCheck runs PRAGMA quick_check: every page, b-tree and record
// format is checked (not index contents against their tables, which
// integrity_check adds at several times the cost). It reads the whole
// file: about 4 s per GB from the page cache on this project's test
// machine, a 473 MB store in 1.8-2.1 s (README, "Recovering a damaged
// store"). A damaged file yields an error wrapping
// ErrCorrupt with SQLite's first findings.
func (s *Store) QuickCheck(ctx context.Context) error {
	rows, err := s.rdb.QueryContext(ctx, "PRAGMA quick_check")
	if err != nil {
		if IsCorrupt(err) {
			return fmt.Errorf("%w: %v", ErrCorrupt, err)
		}
		return fmt.Errorf("sqlite: quick_check: %w", err)
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return fmt.Errorf("sqlite: quick_check: %w", err)
		}
		if line == "ok" {
			continue
		}
		if len(problems) < maxCheckLines {
			problems = append(problems, line)
		}
	}
	if err := rows.Err(); err != nil {
		if IsCorrupt(err) {
			return fmt.Errorf("%w: %v", ErrCorrupt, err)
		}
		return fmt.Errorf("sqlite: quick_check: %w", err)
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: quick_check: %s", ErrCorrupt, strings.Join(problems, "; "))
	}
	return nil
}

// Path is the database file.
func (s *Store) Path() string { return s.path }
