package main

import (
	"bufio"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// pop3Login logs in over POP3 and returns the STAT reply, or the error line.
func pop3Login(t *testing.T, addr, user, pass string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	r := bufio.NewReader(c)
	line := func() string {
		l, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("pop3 read: %v", err)
		}
		return strings.TrimRight(l, "\r\n")
	}
	if g := line(); !strings.HasPrefix(g, "+OK") {
		t.Fatalf("greeting %q", g)
	}
	send := func(s string) string { _, _ = c.Write([]byte(s + "\r\n")); return line() }
	if l := send("USER " + user); !strings.HasPrefix(l, "+OK") {
		return l
	}
	if l := send("PASS " + pass); !strings.HasPrefix(l, "+OK") {
		return l
	}
	st := send("STAT")
	send("QUIT")
	return st
}

func TestUserCommandsFlagsAfterPositional(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out, err := runCLI(t, dir, "s3cret\n", "user", "add", "Alice@Example.TEST", "--password-stdin", "--data", "d")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "alice@example.test") {
		t.Errorf("add output %q", out)
	}
	if _, err := runCLI(t, dir, "x\n", "user", "--data", "d", "add", "bob@example.test", "--password-stdin"); err != nil {
		t.Fatal(err)
	}
	if _, err := runCLI(t, dir, "again\n", "user", "add", "alice@example.test", "--password-stdin", "--data", "d"); err == nil {
		t.Error("adding an existing user succeeded")
	}
	out, err = runCLI(t, dir, "", "user", "list", "--data", "d")
	if err != nil {
		t.Fatal(err)
	}
	if out != "alice@example.test\nbob@example.test\n" {
		t.Errorf("list = %q", out)
	}
	if _, err := runCLI(t, dir, "", "user", "delete", "bob@example.test", "--data", "d"); err != nil {
		t.Fatal(err)
	}
	if _, err := runCLI(t, dir, "", "user", "delete", "bob@example.test", "--data", "d"); err == nil {
		t.Error("deleting a missing user succeeded")
	}
	out, _ = runCLI(t, dir, "", "user", "list", "--data", "d")
	if out != "alice@example.test\n" {
		t.Errorf("list after delete = %q", out)
	}
	if _, err := runCLI(t, dir, "", "user", "add", "not-an-address", "--password-stdin", "--data", "d"); err == nil {
		t.Error("invalid address accepted")
	}
	// Without --password-stdin and without a terminal, refuse rather than
	// read a password that would echo.
	if _, err := runCLI(t, dir, "pw\n", "user", "add", "carol@example.test", "--data", "d"); err == nil ||
		!strings.Contains(err.Error(), "--password-stdin") {
		t.Errorf("add without terminal: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "d", "mailroom.db")); err != nil {
		t.Error(err)
	}
}

func TestUserCommandsTakeEffectWhileServing(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, err := runCLI(t, dir, "old-pw\n", "user", "add", "dana@example.test", "--password-stdin", "--data", "d"); err != nil {
		t.Fatal(err)
	}
	p := startServe(t, dir, append([]string{"--data", "d", "--hostname", "mx.example.test"}, loopbackPorts...)...)
	pop := p.addr(t, "pop3")
	if st := pop3Login(t, pop, "dana@example.test", "old-pw"); !strings.HasPrefix(st, "+OK 0 0") {
		t.Fatalf("STAT = %q", st)
	}
	// passwd and add while the server runs: no restart needed.
	if _, err := runCLI(t, dir, "new-pw\n", "user", "passwd", "dana@example.test", "--password-stdin", "--data", "d"); err != nil {
		t.Fatal(err)
	}
	if st := pop3Login(t, pop, "dana@example.test", "old-pw"); !strings.HasPrefix(st, "-ERR") {
		t.Errorf("old password still works: %q", st)
	}
	if st := pop3Login(t, pop, "dana@example.test", "new-pw"); !strings.HasPrefix(st, "+OK") {
		t.Errorf("new password refused: %q", st)
	}
	if _, err := runCLI(t, dir, "pw\n", "user", "add", "erin@other.test", "--password-stdin", "--data", "d"); err != nil {
		t.Fatal(err)
	}
	// other.test became a local domain: the MX listener now accepts mail for it.
	msg := "From: x@remote.test\r\nTo: erin@other.test\r\nSubject: hi\r\n\r\nhello\r\n"
	if err := sendMailNoTLS(p.addr(t, "smtp"), "x@remote.test", []string{"erin@other.test"}, []byte(msg)); err != nil {
		t.Fatalf("delivery to a domain added while serving: %v", err)
	}
	if st := pop3Login(t, pop, "erin@other.test", "pw"); !strings.HasPrefix(st, "+OK 1 ") {
		t.Errorf("erin STAT = %q", st)
	}
}

func TestServeZeroConfigCreatesPostmaster(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := startServe(t, dir, loopbackPorts...)
	// stdout and stderr are separate pipes: give stdout a moment to catch up.
	for i := 0; i < 100 && !strings.Contains(p.stdout.String(), "passwd"); i++ {
		time.Sleep(20 * time.Millisecond)
	}
	m := regexp.MustCompile(`Created account postmaster@localhost with password (\S+)`).FindStringSubmatch(p.stdout.String())
	if m == nil {
		t.Fatalf("no postmaster password printed; stdout %q", p.stdout.String())
	}
	if !strings.Contains(p.stdout.String(), "mailroom user passwd postmaster@localhost") {
		t.Errorf("no hint how to change the password: %q", p.stdout.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "mailroom-data", "mailroom.db")); err != nil {
		t.Errorf("default data dir not used: %v", err)
	}
	for _, proto := range []string{"smtp", "submission", "pop3", "imap"} {
		if a := p.addr(t, proto); !strings.HasPrefix(a, "127.0.0.1:") {
			t.Errorf("%s listens on %s", proto, a)
		}
	}
	if st := pop3Login(t, p.addr(t, "pop3"), "postmaster@localhost", m[1]); !strings.HasPrefix(st, "+OK") {
		t.Errorf("printed password does not work: %q", st)
	}
	// A second start finds the account and prints no new password.
	_ = p.cmd.Process.Signal(os.Interrupt)
	<-p.done
	p2 := startServe(t, dir, loopbackPorts...)
	if strings.Contains(p2.stdout.String(), "Created account") {
		t.Error("second start created another account")
	}
}

func TestServeEmptyAddrDisablesListener(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := startServe(t, dir, append([]string{"--smtp", "127.0.0.1:0", "--submission", "", "--pop3", "", "--imap", ""}, noTLSPorts...)...)
	p.addr(t, "smtp")
	p.mu.Lock()
	n := len(p.addrs)
	p.mu.Unlock()
	if n != 1 {
		t.Errorf("listeners started: %v", p.addrs)
	}
	if !strings.Contains(p.log(), `msg="listener disabled" protocol=pop3`) {
		t.Errorf("disabled listener not logged:\n%s", p.log())
	}
}

func TestServeConfigFileAndFlagOverride(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := `data = "cfgdata"
hostname = "cfg.example.test"
smtp = "127.0.0.1:0"
submission = ""
pop3 = "127.0.0.1:0"
imap = ""
smtps = ""
pop3s = ""
imaps = ""
`
	if err := os.WriteFile(filepath.Join(dir, "m.toml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startServe(t, dir, "--config", "m.toml", "--pop3", "")
	c, err := net.Dial("tcp", p.addr(t, "smtp"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	greet, _ := bufio.NewReader(c).ReadString('\n')
	if !strings.Contains(greet, "cfg.example.test") {
		t.Errorf("greeting %q does not use the configured hostname", greet)
	}
	p.mu.Lock()
	_, popOn := p.addrs["pop3"]
	p.mu.Unlock()
	if popOn {
		t.Error("--pop3 \"\" did not override the config file")
	}
	if _, err := os.Stat(filepath.Join(dir, "cfgdata", "mailroom.db")); err != nil {
		t.Errorf("config data dir not used: %v", err)
	}
}
