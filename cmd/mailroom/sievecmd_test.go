package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailroom/mailroom/store/sqlite"
)

func TestSieveCommands(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "mailroom.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateAccount(ctx, "alice@example.org", "x"); err != nil {
		t.Fatal(err)
	}
	st.Close()
	good := filepath.Join(dir, "lists.sieve")
	script := "require \"fileinto\";\nif header :contains \"List-Id\" \"golang\" { fileinto \"Lists\"; }\n"
	if err := os.WriteFile(good, []byte(script), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.sieve")
	if err := os.WriteFile(bad, []byte("keep;\n\nfileinto \"x\";\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	if code, out, errs := runInProcess(t, "sieve", "put", "Alice@example.org", "lists", good, "--data", dir); code != 0 || !strings.Contains(out, `"lists"`) {
		t.Fatalf("put: %d %q %q", code, out, errs)
	}
	// A script that does not compile is refused with its line number.
	code, _, errs := runInProcess(t, "sieve", "put", "alice@example.org", "bad", bad, "--data", dir)
	if code != 1 || !strings.Contains(errs, "line 3:") {
		t.Fatalf("put of a bad script: %d %q", code, errs)
	}
	if code, out, _ := runInProcess(t, "sieve", "list", "alice@example.org", "--data", dir); code != 0 || out != "lists\n" {
		t.Fatalf("list: %d %q", code, out)
	}
	if code, _, errs := runInProcess(t, "sieve", "activate", "alice@example.org", "nope", "--data", dir); code != 1 || !strings.Contains(errs, `no sieve script "nope"`) {
		t.Fatalf("activate missing: %d %q", code, errs)
	}
	if code, _, _ := runInProcess(t, "sieve", "activate", "alice@example.org", "lists", "--data", dir); code != 0 {
		t.Fatalf("activate: %d", code)
	}
	if code, out, _ := runInProcess(t, "sieve", "list", "alice@example.org", "--data", dir); code != 0 || out != "lists\tACTIVE\n" {
		t.Fatalf("list after activate: %d %q", code, out)
	}
	if code, out, _ := runInProcess(t, "sieve", "get", "alice@example.org", "lists", "--data", dir); code != 0 || out != script {
		t.Fatalf("get: %d %q", code, out)
	}
	if code, _, _ := runInProcess(t, "sieve", "deactivate", "alice@example.org", "--data", dir); code != 0 {
		t.Fatalf("deactivate: %d", code)
	}
	if code, out, _ := runInProcess(t, "sieve", "list", "alice@example.org", "--data", dir); code != 0 || out != "lists\n" {
		t.Fatalf("list after deactivate: %d %q", code, out)
	}
	if code, _, _ := runInProcess(t, "sieve", "delete", "alice@example.org", "lists", "--data", dir); code != 0 {
		t.Fatalf("delete: %d", code)
	}
	if code, out, _ := runInProcess(t, "sieve", "list", "alice@example.org", "--data", dir); code != 0 || out != "" {
		t.Fatalf("list after delete: %d %q", code, out)
	}
	if code, _, errs := runInProcess(t, "sieve", "list", "nobody@example.org", "--data", dir); code != 1 || !strings.Contains(errs, "no such user") {
		t.Fatalf("unknown user: %d %q", code, errs)
	}
	for _, args := range [][]string{{"sieve"}, {"sieve", "put", "alice@example.org"}, {"sieve", "frobnicate", "x"}} {
		if code, _, _ := runInProcess(t, append(args, "--data", dir)...); code != 2 {
			t.Fatalf("%v: exit %d, want 2", args, code)
		}
	}
}
