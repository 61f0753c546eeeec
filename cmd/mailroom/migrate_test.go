package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/mailroom/mailroom/internal/pgtest"
	"github.com/mailroom/mailroom/store/sqlite"
)

var migratedRE = regexp.MustCompile(`(?m)^Migrated to \S+: (\d+) accounts, (\d+) mailboxes, (\d+) messages \(\d+ bytes\), (\d+) queued, (\d+) Sieve scripts$`)
var verifiedRE = regexp.MustCompile(`(?m)^Verified: (\d+) accounts, (\d+) mailboxes, (\d+) messages, (\d+) queued, (\d+) Sieve scripts identical on both sides`)

func migrateCounts(t *testing.T, re *regexp.Regexp, out string) [5]int {
	t.Helper()
	m := re.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no %s line in %q", re, out)
	}
	var n [5]int
	for i := range n {
		n[i], _ = strconv.Atoi(m[i+1])
	}
	return n
}

// TestMigrateCommand runs migrate from a SQLite data directory to
// PostgreSQL and back to a new SQLite directory, and checks that a
// non-empty target and bad --to values are refused.
func TestMigrateCommand(t *testing.T) {
	t.Parallel()
	dsn := pgtest.DSN(t)
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	mbox := filepath.Join(dir, "in.mbox")
	if err := os.WriteFile(mbox, []byte("From x Mon Jan  2 15:04:05 2023\nFrom: x@example.test\nSubject: one\nMessage-ID: <1@x>\n\nbody\n\n"+
		"From x Tue Jan  3 15:04:05 2023\nFrom: x@example.test\nSubject: two\nMessage-ID: <2@x>\n\nsecond\n\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(data, 0o700); err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(context.Background(), filepath.Join(data, "mailroom.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateAccount(context.Background(), "a@example.test", "hash"); err != nil {
		t.Fatal(err)
	}
	st.Close()
	if code, out, errOut := runInProcess(t, "import", "mbox", mbox, "--user", "a@example.test", "--data", data); code != 0 {
		t.Fatalf("import: exit %d: %s %s", code, out, errOut)
	}
	code, out, errOut := runInProcess(t, "migrate", "--to", dsn, "--data", data)
	if code != 0 {
		t.Fatalf("migrate to PostgreSQL: exit %d: %s %s", code, out, errOut)
	}
	want := [5]int{1, 6, 2, 0, 0}
	if got := migrateCounts(t, migratedRE, out); got != want {
		t.Fatalf("migrated %v, want %v", got, want)
	}
	if got := migrateCounts(t, verifiedRE, out); got != want {
		t.Fatalf("verified %v, want %v", got, want)
	}
	back := filepath.Join(dir, "back")
	code, out, errOut = runInProcess(t, "migrate", "--to", "sqlite:"+back, "--database", dsn)
	if code != 0 {
		t.Fatalf("migrate to SQLite: exit %d: %s %s", code, out, errOut)
	}
	if got := migrateCounts(t, verifiedRE, out); got != want {
		t.Fatalf("verified back %v, want %v", got, want)
	}
	// The account can log in on the migrated store: user list sees it.
	if code, out, errOut := runInProcess(t, "user", "list", "--data", back); code != 0 || !strings.Contains(out, "a@example.test") {
		t.Fatalf("user list on the migrated store: exit %d: %q %s", code, out, errOut)
	}
	for _, bad := range [][]string{
		{"migrate", "--to", dsn, "--data", data},                 // not empty
		{"migrate", "--to", "sqlite:" + back, "--database", dsn}, // exists
		{"migrate", "--to", "sqlite:" + data, "--data", data},    // itself
		{"migrate", "--to", "mysql://x", "--data", data},
	} {
		if code, out, errOut := runInProcess(t, bad...); code != 1 {
			t.Errorf("%q: exit %d (want 1): %s %s", bad, code, out, errOut)
		}
	}
	if code, _, _ := runInProcess(t, "migrate", "--data", data); code != 2 {
		t.Errorf("migrate without --to: exit %d, want 2", code)
	}
}
