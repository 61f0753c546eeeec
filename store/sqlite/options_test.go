package sqlite

import (
	"context"
	"path/filepath"
	"testing"
)

// TestOpenWithNoSync: the test-harness option turns fsync off on the
// write connections only; Open keeps synchronous=FULL (TestCheckSettings).
func TestOpenWithNoSync(t *testing.T) {
	s, err := OpenWith(context.Background(), filepath.Join(t.TempDir(), "mail.db"), nil, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var mode string
	var sync int
	if err := s.wdb.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if err := s.wdb.QueryRow("PRAGMA synchronous").Scan(&sync); err != nil {
		t.Fatal(err)
	}
	if mode != "wal" || sync != 0 {
		t.Fatalf("journal_mode %q synchronous %d; want wal, 0 (OFF)", mode, sync)
	}
}
