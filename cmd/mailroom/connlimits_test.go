package main

import (
	"bufio"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestServePerListenerConnLimits: [limits.listener.pop3] narrows POP3 to
// one connection per IP while SMTP keeps the [limits] value.
func TestServePerListenerConnLimits(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := `smtp = "127.0.0.1:0"
submission = ""
pop3 = "127.0.0.1:0"
imap = ""
smtps = ""
pop3s = ""
imaps = ""
[limits]
max_connections_per_ip = 3
[limits.listener.pop3]
max_connections_per_ip = 1
`
	if err := os.WriteFile(filepath.Join(dir, "m.toml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startServe(t, dir, "--config", "m.toml")
	greet := func(proto string) string {
		t.Helper()
		c, err := net.Dial("tcp", p.addr(t, proto))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		c.SetReadDeadline(time.Now().Add(30 * time.Second))
		line, _ := bufio.NewReader(c).ReadString('\n')
		return line
	}
	if g := greet("pop3"); !strings.HasPrefix(g, "+OK") {
		t.Fatalf("first POP3 connection: %q", g)
	}
	if g := greet("pop3"); !strings.HasPrefix(g, "-ERR [SYS/TEMP]") {
		t.Fatalf("second POP3 connection from the same IP: %q, want -ERR [SYS/TEMP]", g)
	}
	for i := range 3 {
		if g := greet("smtp"); !strings.HasPrefix(g, "220 ") {
			t.Fatalf("SMTP connection %d: %q, want 220 (limit 3 per IP)", i+1, g)
		}
	}
	if g := greet("smtp"); !strings.HasPrefix(g, "421 ") {
		t.Fatalf("fourth SMTP connection: %q, want 421", g)
	}
}
