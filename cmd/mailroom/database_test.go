package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// TestUserCommandsOnPostgres runs `user add` and `user list` against a
// PostgreSQL store named by --database. It needs $MAILROOM_TEST_POSTGRES
// (set by .ci/run); store/postgres's own tests cover the backend without it.
func TestUserCommandsOnPostgres(t *testing.T) {
	admin := os.Getenv("MAILROOM_TEST_POSTGRES")
	if admin == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("MAILROOM_TEST_POSTGRES is not set")
		}
		t.Skip("MAILROOM_TEST_POSTGRES is not set (see .ci/run)")
	}
	ctx := context.Background()
	var b [6]byte
	rand.Read(b[:])
	schema := "mrcli_" + hex.EncodeToString(b[:])
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	defer conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE")
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	dsn := u.String()
	data := t.TempDir()

	mr := func(stdin string, args ...string) string {
		t.Helper()
		var out, errb bytes.Buffer
		e := env{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb,
			isTerminal: func() bool { return false }, readPassword: func() ([]byte, error) { return nil, nil }}
		if code := run(ctx, args, e); code != 0 {
			t.Fatalf("mailroom %s: exit %d\n%s", strings.Join(args, " "), code, errb.String())
		}
		return out.String()
	}
	mr("secret-pass-1\n", "user", "add", "pg@example.org", "--password-stdin", "--data", data, "--database", dsn)
	if out := mr("", "user", "list", "--database", dsn, "--data", data); !strings.Contains(out, "pg@example.org") {
		t.Fatalf("user list on PostgreSQL: %q", out)
	}
	// The SQLite store in the data directory is a different store.
	if out := mr("", "user", "list", "--data", data); strings.Contains(out, "pg@example.org") {
		t.Fatalf("user list on SQLite shows the PostgreSQL account: %q", out)
	}
	if out := mr("", "queue", "list", "--database", dsn, "--data", data); strings.Contains(out, "pg@example.org") {
		t.Fatalf("queue list: %q", out)
	}
}
