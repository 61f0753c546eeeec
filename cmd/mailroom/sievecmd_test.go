package main

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
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

// TestServeRunsSieve: a script stored with `mailroom sieve put` runs in
// serve's delivery path: list mail is filed into a folder the script
// creates, a redirect is queued, other mail is kept, and the global
// sieve_before script from the config file runs first.
func TestServeRunsSieve(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, err := runCLI(t, dir, "pw\n", "user", "add", "dana@example.test", "--password-stdin", "--data", "d"); err != nil {
		t.Fatal(err)
	}
	script := `require ["fileinto", "mailbox"];
if header :contains "List-Id" "golang" { fileinto :create "Lists"; stop; }
if header :is "Subject" "fwd" { redirect "far@remote.test"; }
`
	if _, err := runCLI(t, dir, script, "sieve", "put", "dana@example.test", "rules", "-", "--data", "d"); err != nil {
		t.Fatal(err)
	}
	if _, err := runCLI(t, dir, "", "sieve", "activate", "dana@example.test", "rules", "--data", "d"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "before.sieve"), []byte("if header :is \"Subject\" \"drop\" { discard; }\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := `data = "d"
hostname = "mx.example.test"
smtp = "127.0.0.1:0"
submission = ""
pop3 = "127.0.0.1:0"
imap = ""
smtps = ""
pop3s = ""
imaps = ""
relay_host = "127.0.0.1:1"
sieve_before = ["before.sieve"]
`
	if err := os.WriteFile(filepath.Join(dir, "m.toml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startServe(t, dir, "--config", "m.toml")
	send := func(subject, extra string) {
		t.Helper()
		msg := []byte("From: x@sender.test\r\nTo: dana@example.test\r\nSubject: " + subject + "\r\n" + extra + "\r\nhello\r\n")
		if err := sendMailNoTLS(p.addr(t, "smtp"), "x@sender.test", []string{"dana@example.test"}, msg); err != nil {
			t.Fatalf("send %s: %v", subject, err)
		}
	}
	send("list", "List-Id: <golang-nuts.googlegroups.com>\r\n")
	send("fwd", "")
	send("drop", "")
	if st := pop3Login(t, p.addr(t, "pop3"), "dana@example.test", "pw"); !strings.HasPrefix(st, "+OK 0 ") {
		t.Fatalf("dana STAT = %q, want an empty INBOX (filed, redirected, discarded)", st)
	}
	out, err := runCLI(t, dir, "", "queue", "show", "1", "--config", "m.toml")
	if err != nil || !srsFrom(out, "x@sender.test", "mx.example.test") || !strings.Contains(out, "far@remote.test") {
		t.Fatalf("queue show 1: %q, %v", out, err)
	}
	send("hello", "")
	if st := pop3Login(t, p.addr(t, "pop3"), "dana@example.test", "pw"); !strings.HasPrefix(st, "+OK 1 ") {
		t.Fatalf("dana STAT = %q, want the kept message", st)
	}
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "d", "mailroom.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	acct, err := st.AccountByEmail(context.Background(), "dana@example.test")
	if err != nil {
		t.Fatal(err)
	}
	mb, err := st.MailboxByName(context.Background(), acct.ID, "Lists")
	if err != nil {
		t.Fatalf("the folder fileinto :create made: %v", err)
	}
	if s, err := st.MailboxStatus(context.Background(), mb.Ref()); err != nil || s.Messages != 1 {
		t.Fatalf("Lists status %+v, %v", s, err)
	}
}

// TestSievePutConfiguredLimit: `sieve put --config` reads and compiles
// with the configured sieve_max_script_bytes, not the store's 1 MiB
// ceiling, so it stores nothing ManageSieve or delivery would refuse.
func TestSievePutConfiguredLimit(t *testing.T) {
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
	cfgPath := filepath.Join(dir, "m.toml")
	cfg := "data = " + strconv.Quote(dir) + "\n[limits]\nsieve_max_script_bytes = 1024\n"
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	small := filepath.Join(dir, "small.sieve")
	if err := os.WriteFile(small, []byte("# "+strings.Repeat("s", 1000)+"\nkeep;\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big.sieve")
	if err := os.WriteFile(big, []byte("# "+strings.Repeat("b", 1100)+"\nkeep;\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := runInProcess(t, "sieve", "put", "alice@example.org", "small", small, "--config", cfgPath); code != 0 {
		t.Fatalf("put of %d bytes under a limit of 1024: %d %q", 1008, code, errs)
	}
	code, _, errs := runInProcess(t, "sieve", "put", "alice@example.org", "big", big, "--config", cfgPath)
	if code != 1 || !strings.Contains(errs, "larger than 1024 bytes") {
		t.Fatalf("put of 1108 bytes over a limit of 1024: %d %q", code, errs)
	}
	// The same script passes under the default limit (1 MiB).
	if code, _, errs := runInProcess(t, "sieve", "put", "alice@example.org", "big", big, "--data", dir); code != 0 {
		t.Fatalf("put under the default limit: %d %q", code, errs)
	}
	if code, out, _ := runInProcess(t, "sieve", "list", "alice@example.org", "--config", cfgPath); code != 0 || out != "big\nsmall\n" {
		t.Fatalf("list: %d %q", code, out)
	}
}
