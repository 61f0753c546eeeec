package main

import (
	"errors"
	"net/textproto"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/mailroom/mailroom/internal/config"
)

// wantReply checks that err is the SMTP reply code with the enhanced
// code enh.
func wantReply(t *testing.T, what string, err error, code int, enh string) {
	t.Helper()
	var te *textproto.Error
	if !errors.As(err, &te) || te.Code != code || !strings.HasPrefix(te.Msg, enh+" ") {
		t.Fatalf("%s: %v, want %d %s", what, err, code, enh)
	}
}

// TestServeReloadOnSIGHUP: SIGHUP re-reads the config file of a running
// serve. A new alias delivers at once (it got 550 5.1.1 before), a lower
// max_recipients applies to new sessions, a changed listener address is
// logged as needing a restart, and a file that does not validate is
// rejected with a log line while the running configuration stays. The
// log is JSON (log_format), which the test decodes.
func TestServeReloadOnSIGHUP(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, err := runCLI(t, dir, "pw\n", "user", "add", "dana@example.test", "--password-stdin", "--data", "d"); err != nil {
		t.Fatal(err)
	}
	base := `data = "d"
hostname = "mx.example.test"
log_format = "json"
smtp = "127.0.0.1:0"
submission = ""
pop3 = "127.0.0.1:0"
imap = ""
smtps = ""
pop3s = ""
imaps = ""
`
	cfgPath := filepath.Join(dir, "m.toml")
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(cfgPath, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(base)
	p := startServe(t, dir, "--config", "m.toml")
	smtpAddr, pop3Addr := p.addr(t, "smtp"), p.addr(t, "pop3")
	msg := []byte("From: x@sender.test\r\nSubject: hi\r\n\r\nhello\r\n")
	rcpts := []string{"sales@example.test", "dana@example.test"}

	err := sendMailNoTLS(smtpAddr, "x@sender.test", rcpts[:1], msg)
	wantReply(t, "alias before reload", err, 550, "5.1.1")

	reloaded := func(n int) {
		t.Helper()
		if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		p.waitRecord(t, n, func(r map[string]any) bool { return r["msg"] == "config reloaded" })
	}
	write(base + `[limits]
max_recipients = 1
[aliases]
"sales@example.test" = ["dana@example.test"]
`)
	reloaded(1)
	if err := sendMailNoTLS(smtpAddr, "x@sender.test", rcpts[:1], msg); err != nil {
		t.Fatalf("alias after reload: %v", err)
	}
	if st := pop3Login(t, pop3Addr, "dana@example.test", "pw"); !strings.HasPrefix(st, "+OK 1 ") {
		t.Fatalf("dana STAT = %q, want the message sent to the alias", st)
	}
	err = sendMailNoTLS(smtpAddr, "x@sender.test", rcpts, msg)
	wantReply(t, "second recipient with max_recipients = 1", err, 452, "4.5.3")

	// A listener address needs a restart: logged by key, not applied.
	write(strings.Replace(base, `pop3 = "127.0.0.1:0"`, `pop3 = "127.0.0.1:1"`, 1) + `[aliases]
"sales@example.test" = ["dana@example.test"]
`)
	reloaded(2)
	var keys []string
	for _, r := range p.waitRecord(t, 1, func(r map[string]any) bool {
		return r["msg"] == "config change needs restart; keeping the running value"
	}) {
		keys = append(keys, r["key"].(string))
	}
	if !slices.Equal(keys, []string{"pop3"}) {
		t.Errorf("needs-restart keys %q, want [pop3]", keys)
	}
	// max_recipients is back at its default: two recipients pass.
	if err := sendMailNoTLS(smtpAddr, "x@sender.test", rcpts, msg); err != nil {
		t.Fatalf("two recipients after the limit was removed: %v", err)
	}

	// A file that does not validate changes nothing.
	write(base + `[limits]
max_recipients = -1
`)
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	rej := p.waitRecord(t, 1, func(r map[string]any) bool {
		return r["msg"] == "config reload rejected; keeping the running configuration"
	})
	if e, _ := rej[0]["err"].(string); !strings.Contains(e, "max_recipients") {
		t.Errorf("rejection reason %q does not name max_recipients", e)
	}
	if err := sendMailNoTLS(smtpAddr, "x@sender.test", rcpts[:1], msg); err != nil {
		t.Fatalf("alias after a rejected reload: %v", err)
	}
	// One copy per account, however many of its addresses a message
	// names: 1 + 1 + 1.
	if st := pop3Login(t, pop3Addr, "dana@example.test", "pw"); !strings.HasPrefix(st, "+OK 3 ") {
		t.Fatalf("dana STAT = %q, want 3 messages", st)
	}
}

// TestChangedKeys: the diff names changed keys, tables flattened, and
// isReloadable sorts them.
func TestChangedKeys(t *testing.T) {
	t.Parallel()
	a := config.Default()
	b := config.Default()
	b.SMTP = "127.0.0.1:25"
	b.Limits.MaxRecipients = 7
	b.Limits.SMTPCommandTimeout.Duration *= 2
	b.Limits.TLSHandshakeTimeout.Duration *= 2
	b.Aliasing.Aliases = map[string][]string{"a@example.test": {"b@example.test"}}
	b.Quota.Storage = 1 << 20
	b.Store.SyncFlagChanges = true
	got, err := changedKeys(a, b)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"aliases.a@example.test", "limits.max_recipients", "limits.smtp_command_timeout", "limits.tls_handshake_timeout", "quota.storage", "smtp", "store.sync_flag_changes"}
	if !slices.Equal(got, want) {
		t.Fatalf("changedKeys = %q, want %q", got, want)
	}
	var restart []string
	for _, k := range got {
		if !isReloadable(k) {
			restart = append(restart, k)
		}
	}
	if !slices.Equal(restart, []string{"limits.tls_handshake_timeout", "smtp"}) {
		t.Errorf("needs restart: %q", restart)
	}
	if got, _ := changedKeys(a, a); len(got) != 0 {
		t.Errorf("no change: %q", got)
	}
}
