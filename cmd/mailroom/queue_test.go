package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mailroom/mailroom/httpserver"
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

// The _mta-sts TXT id is the served policy's, and changes with it; a
// host name that is not a FQDN is warned about.
func TestDNSRecordsMTASTS(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	idOf := func(args ...string) (string, string) {
		t.Helper()
		code, out, errs := runInProcess(t, append([]string{"dns-records", "example.org"}, args...)...)
		if code != 0 {
			t.Fatalf("dns-records: %d %s", code, errs)
		}
		m := regexp.MustCompile(`(?m)^_mta-sts\.example\.org\. IN TXT "v=STSv1; id=([a-z0-9]{1,32})"$`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("no _mta-sts record:\n%s", out)
		}
		return m[1], errs
	}
	id1, errs := idOf("--hostname", "mx.example.org", "--data", dir)
	if strings.Contains(errs, "warning") {
		t.Errorf("warning for a FQDN: %s", errs)
	}
	want := httpserver.MTASTSPolicy{Mode: "testing", MaxAge: 7 * 24 * time.Hour, MX: []string{"mx.example.org"}}.ID()
	if id1 != want {
		t.Errorf("id %s, want the served policy's %s", id1, want)
	}
	if id2, _ := idOf("--hostname", "mx2.example.org", "--data", dir); id2 == id1 {
		t.Errorf("id did not change with the mx")
	}
	cfg := filepath.Join(dir, "c.toml")
	os.WriteFile(cfg, []byte("mta_sts_mode = \"enforce\"\n"), 0o600)
	if id3, _ := idOf("--hostname", "mx.example.org", "--config", cfg); id3 == id1 {
		t.Errorf("id did not change with the mode")
	}
	if _, errs := idOf("--hostname", "mailhost", "--data", dir); !strings.Contains(errs, `warning: mail host "mailhost" is not a fully qualified domain name`) {
		t.Errorf("no FQDN warning: %q", errs)
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
		"_submissions._tcp.example.org. IN SRV 0 1 465 mx.example.org.",
		"_submission._tcp.example.org. IN SRV 10 1 587 mx.example.org.",
		"_imaps._tcp.example.org. IN SRV 0 1 993 mx.example.org.",
		"_imap._tcp.example.org. IN SRV 10 1 143 mx.example.org.",
		"_pop3s._tcp.example.org. IN SRV 0 1 995 mx.example.org.",
		"_pop3._tcp.example.org. IN SRV 10 1 110 mx.example.org.",
		"autoconfig.example.org. IN CNAME mx.example.org.",
		"autodiscover.example.org. IN CNAME mx.example.org.",
		"mta-sts.example.org. IN CNAME mx.example.org.",
		`_smtp._tls.example.org. IN TXT "v=TLSRPTv1; rua=mailto:postmaster@example.org"`,
	} {
		if code != 0 || !strings.Contains(out, want) {
			t.Fatalf("dns-records lacks %q: %d\n%s", want, code, out)
		}
	}
}
