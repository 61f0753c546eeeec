// Package pgtest gives a test a PostgreSQL schema of its own, for the
// tests of every package that runs against PostgreSQL (store/postgres,
// the IMAP two-node tests, the CLI). It is imported by tests only.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
)

// EnvDSN names the environment variable with the URL of a PostgreSQL
// database the tests may create schemas in; scripts/test-deps prints it
// for `make test`.
const EnvDSN = "MAILROOM_TEST_POSTGRES"

// DSN is Schema in the database named by $MAILROOM_TEST_POSTGRES. Without
// the variable the test fails under CI (CI=1), where PostgreSQL is part of
// the suite, and is skipped elsewhere.
func DSN(t testing.TB) string {
	t.Helper()
	admin := os.Getenv(EnvDSN)
	if admin == "" {
		if os.Getenv("CI") != "" {
			t.Fatal(EnvDSN + " is not set")
		}
		t.Skip(EnvDSN + " is not set (make test sets it: scripts/test-deps)")
	}
	return Schema(t, admin)
}

// Schema creates a schema of its own for t in the database at admin,
// dropped when t ends, and returns a URL whose search_path selects it.
// Commits in it do not wait for the WAL flush (synchronous_commit=off):
// no test of durability across a database crash uses it.
func Schema(t testing.TB, admin string) string {
	t.Helper()
	ctx := context.Background()
	var b [6]byte
	rand.Read(b[:])
	schema := "mrtest_" + hex.EncodeToString(b[:])
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatalf("connect to %s: %v", EnvDSN, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn, err := pgx.Connect(ctx, admin)
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Error(err)
		}
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("%s must be a postgres:// URL: %v", EnvDSN, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	q.Set("synchronous_commit", "off")
	u.RawQuery = q.Encode()
	return u.String()
}
