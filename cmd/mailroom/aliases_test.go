package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestServeAliases: [aliases] and recipient_delimiter from the config file
// reach the MX listener: an alias in an alias-only domain delivers to a
// local account and forwards a copy to a remote address through the
// queue, a subaddress reaches its base account, and an unknown user of
// the alias-only domain is refused as unknown, not as relaying.
func TestServeAliases(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, err := runCLI(t, dir, "pw\n", "user", "add", "dana@example.test", "--password-stdin", "--data", "d"); err != nil {
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
recipient_delimiter = "+"
[aliases]
"Sales@Aliases.test" = ["team@aliases.test", "far@remote.test"]
"team@aliases.test" = ["dana@example.test"]
`
	if err := os.WriteFile(filepath.Join(dir, "m.toml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startServe(t, dir, "--config", "m.toml")
	msg := []byte("From: x@sender.test\r\nTo: sales@aliases.test\r\nSubject: hi\r\n\r\nhello\r\n")
	if err := sendMailNoTLS(p.addr(t, "smtp"), "x@sender.test", []string{"sales@aliases.test", "dana+news@example.test"}, msg); err != nil {
		t.Fatalf("send: %v", err)
	}
	if st := pop3Login(t, p.addr(t, "pop3"), "dana@example.test", "pw"); !strings.HasPrefix(st, "+OK 1 ") {
		t.Errorf("dana STAT = %q, want one message", st)
	}
	out, err := runCLI(t, dir, "", "queue", "show", "1", "--config", "m.toml")
	if err != nil || !srsFrom(out, "x@sender.test", "mx.example.test") || !strings.Contains(out, "far@remote.test") {
		t.Errorf("queue show 1: %q, %v", out, err)
	}
	err = sendMailNoTLS(p.addr(t, "smtp"), "x@sender.test", []string{"nobody@aliases.test"}, msg)
	if err == nil || !strings.Contains(err.Error(), "5.1.1") {
		t.Errorf("unknown user of an alias-only domain: %v, want 5.1.1", err)
	}
}
