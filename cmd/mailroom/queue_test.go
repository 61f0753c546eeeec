package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mailroom/mailroom/store"
	"github.com/mailroom/mailroom/store/sqlite"
)

// runInProcess runs one command line in-process and returns its exit
// code and output.
func runInProcess(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	e := env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb,
		isTerminal: func() bool { return false }, readPassword: func() ([]byte, error) { return nil, nil }}
	code := run(context.Background(), args, e)
	return code, out.String(), errb.String()
}

func TestQueueCommands(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "mailroom.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	id, err := st.Enqueue(ctx, store.QueuedMessage{From: "alice@example.org", Recipients: []string{"bob@remote.test", "carol@remote.test"}, Raw: []byte("Subject: x\r\n\r\ny\r\n")})
	if err != nil {
		t.Fatal(err)
	}
	// A node is delivering it: list and show name the node.
	if items, err := st.ClaimQueue(ctx, "node-b/42/ab", time.Now(), time.Hour, 10); err != nil || len(items) != 1 {
		t.Fatalf("ClaimQueue: %+v, %v", items, err)
	}
	st.Close()
	ids := strconv.FormatInt(id, 10)

	code, out, _ := runInProcess(t, "queue", "list", "--data", dir)
	if code != 0 || !strings.Contains(out, ids) || !strings.Contains(out, "alice@example.org") || !strings.Contains(out, "2/2") || !strings.Contains(out, "HELD BY") || !strings.Contains(out, "node-b/42/ab") {
		t.Fatalf("list: %d %q", code, out)
	}
	code, out, _ = runInProcess(t, "queue", "show", ids, "--data", dir)
	if code != 0 || !strings.Contains(out, "bob@remote.test") || !strings.Contains(out, "status:   pending") || !strings.Contains(out, "Held by: node-b/42/ab until ") {
		t.Fatalf("show: %d %q", code, out)
	}
	if code, out, _ = runInProcess(t, "queue", "retry", ids, "--data", dir); code != 0 || !strings.Contains(out, "1 message") {
		t.Fatalf("retry: %d %q", code, out)
	}
	if code, out, _ = runInProcess(t, "queue", "retry", "--all", "--data", dir); code != 0 || !strings.Contains(out, "1 message") {
		t.Fatalf("retry --all: %d %q", code, out)
	}
	if code, _, _ = runInProcess(t, "queue", "retry", "--data", dir); code != 2 {
		t.Fatalf("retry without id: exit %d", code)
	}
	if code, _, errs := runInProcess(t, "queue", "show", "999", "--data", dir); code != 1 || !strings.Contains(errs, "no queued message 999") {
		t.Fatalf("show unknown: %d %q", code, errs)
	}
	if code, _, _ = runInProcess(t, "queue", "delete", ids, "--data", dir); code != 0 {
		t.Fatalf("delete: %d", code)
	}
	if code, out, _ = runInProcess(t, "queue", "list", "--data", dir); code != 0 || !strings.Contains(out, "Queue is empty") {
		t.Fatalf("list after delete: %d %q", code, out)
	}
	if code, _, _ = runInProcess(t, "queue", "bogus", "--data", dir); code != 2 {
		t.Fatalf("unknown subcommand: exit %d", code)
	}
}

func TestDKIMAndDNSRecords(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	code, out, errs := runInProcess(t, "dkim", "generate", "Example.ORG", "--data", dir)
	if code != 0 || !strings.Contains(out, "mailroom-ed._domainkey.example.org. IN TXT \"v=DKIM1; k=ed25519; p=") ||
		!strings.Contains(out, "mailroom-rsa._domainkey.example.org. IN TXT ( \"v=DKIM1; k=rsa; p=") {
		t.Fatalf("dkim generate: %d %q %q", code, out, errs)
	}
	if code, _, _ = runInProcess(t, "dkim", "generate", "example.org", "--data", dir); code != 1 {
		t.Fatalf("second generate overwrote keys: exit %d", code)
	}
	code, out, _ = runInProcess(t, "dns-records", "example.org", "--hostname", "mx.example.org", "--data", dir)
	for _, want := range []string{
		"example.org. IN MX 10 mx.example.org.", `example.org. IN TXT "v=spf1 mx -all"`,
		"mailroom-ed._domainkey.example.org. IN TXT", "_dmarc.example.org. IN TXT \"v=DMARC1;",
		"_submission._tcp.example.org. IN SRV 0 1 587 mx.example.org.",
	} {
		if code != 0 || !strings.Contains(out, want) {
			t.Fatalf("dns-records lacks %q: %d\n%s", want, code, out)
		}
	}
}
