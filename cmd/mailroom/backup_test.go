package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailroom/mailroom/store/sqlite"
)

// TestBackupCommand: `mailroom backup FILE` writes a database that works
// as a data directory's store, and refuses to overwrite a file.
func TestBackupCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	if err := os.Mkdir(data, 0o700); err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(context.Background(), filepath.Join(data, "mailroom.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateAccount(context.Background(), "kept@example.org", "hash"); err != nil {
		t.Fatal(err)
	}
	st.Close()
	out := filepath.Join(dir, "copy.db")
	code, stdout, stderr := runInProcess(t, "backup", out, "--data", data)
	if code != 0 || !strings.Contains(stdout, "Backed up") {
		t.Fatalf("backup: %d %q %q", code, stdout, stderr)
	}
	if code, _, _ := runInProcess(t, "backup", out, "--data", data); code == 0 {
		t.Fatal("backup overwrote an existing file")
	}
	restored := filepath.Join(dir, "restored")
	if err := os.Mkdir(restored, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(out, filepath.Join(restored, "mailroom.db")); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr = runInProcess(t, "user", "list", "--data", restored)
	if code != 0 || !strings.Contains(stdout, "kept@example.org") {
		t.Fatalf("user list on the restored copy: %d %q %q", code, stdout, stderr)
	}
	if code, _, _ := runInProcess(t, "backup", "--data", data); code != 2 {
		t.Fatalf("backup without FILE: exit %d, want 2", code)
	}
}
