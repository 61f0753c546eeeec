package main

import (
	"errors"
	"net"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// dialSMTP connects to addr and reads the first reply.
func dialSMTP(t *testing.T, addr string) (*textproto.Conn, int, string) {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	nc.SetDeadline(time.Now().Add(20 * time.Second))
	c := textproto.NewConn(nc)
	t.Cleanup(func() { c.Close() })
	code, msg, err := c.ReadResponse(0)
	if err != nil && !errors.As(err, new(*textproto.Error)) {
		t.Fatalf("greeting: %v", err)
	}
	return c, code, msg
}

// TestServeReloadSMTPLimitsOnSIGHUP: SIGHUP applies the SMTP line
// length and the per-IP connection limit to the next connection, which
// needed a restart before; the reload logs no key as needing a restart.
func TestServeReloadSMTPLimitsOnSIGHUP(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	base := `data = "d"
hostname = "mx.example.test"
log_format = "json"
smtp = "127.0.0.1:0"
submission = ""
pop3 = ""
imap = ""
smtps = ""
pop3s = ""
imaps = ""
managesieve = ""
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
	addr := p.addr(t, "smtp")
	long := "EHLO " + strings.Repeat("h", 1500) // 1507 bytes with CRLF

	before, code, _ := dialSMTP(t, addr)
	if code != 220 {
		t.Fatalf("greeting %d", code)
	}
	if err := before.PrintfLine("%s", long); err != nil {
		t.Fatal(err)
	}
	if code, _, err := before.ReadResponse(250); err != nil {
		t.Fatalf("long EHLO at the default 4096: %d %v", code, err)
	}

	write(base + `[limits]
smtp_max_line_length = 1000
smtp_command_timeout = "2m"
[limits.listener.smtp]
max_connections_per_ip = 2
`)
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	rec := p.waitRecord(t, 1, func(r map[string]any) bool { return r["msg"] == "config reloaded" })
	applied, _ := rec[0]["applied"].(string)
	for _, k := range []string{"limits.smtp_max_line_length", "limits.smtp_command_timeout", "limits.listener.smtp.max_connections_per_ip"} {
		if !strings.Contains(" "+applied+" ", " "+k+" ") {
			t.Errorf("applied %q lacks %s", applied, k)
		}
	}
	if strings.Contains(p.log(), "needs restart") {
		t.Errorf("a key was logged as needing a restart:\n%s", p.log())
	}

	// The next connection: the long line is refused and the session
	// closed.
	after, code, _ := dialSMTP(t, addr)
	if code != 220 {
		t.Fatalf("greeting after reload %d", code)
	}
	if err := after.PrintfLine("%s", long); err != nil {
		t.Fatal(err)
	}
	code, msg, err := after.ReadResponse(250)
	if code != 500 || !strings.HasPrefix(msg, "5.4.0 ") {
		t.Fatalf("long EHLO after reload: %d %q %v, want 500 5.4.0", code, msg, err)
	}
	if _, err := after.ReadLine(); err == nil {
		t.Fatal("connection open after the long line")
	}
	// The refused connection was released when it closed: one is open
	// (before), a second fits max_connections_per_ip = 2, a third not.
	if _, code, _ := dialSMTP(t, addr); code != 220 {
		t.Fatalf("second connection from this IP: %d, want 220", code)
	}
	if _, code, msg := dialSMTP(t, addr); code != 421 || !strings.HasPrefix(msg, "4.7.0 ") {
		t.Fatalf("third connection from this IP: %d %q, want 421 4.7.0", code, msg)
	}
	// The session opened before the reload keeps its 4096.
	if err := before.PrintfLine("%s", long); err != nil {
		t.Fatal(err)
	}
	if code, _, err := before.ReadResponse(250); err != nil {
		t.Fatalf("long EHLO on the old session: %d %v", code, err)
	}
}
