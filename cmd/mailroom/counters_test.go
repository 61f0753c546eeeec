package main

import (
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The connection and authentication counters are gathered in one place and
// logged on SIGUSR1.
func TestCountersOnSIGUSR1(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, err := runCLI(t, dir, "pw\n", "user", "add", "cnt@example.test", "--password-stdin", "--data", "d"); err != nil {
		t.Fatal(err)
	}
	p := startServe(t, dir, append([]string{"--data", "d"}, loopbackPorts...)...)
	pop := p.addr(t, "pop3")
	if st := pop3Login(t, pop, "cnt@example.test", "wrong"); !strings.HasPrefix(st, "-ERR") {
		t.Fatalf("wrong password accepted: %q", st)
	}
	if st := pop3Login(t, pop, "cnt@example.test", "pw"); !strings.HasPrefix(st, "+OK") {
		t.Fatalf("login failed: %q", st)
	}
	if err := p.cmd.Process.Signal(syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	var line string
	for i := 0; i < 100 && line == ""; i++ {
		line = regexp.MustCompile(`(?m)^.*msg=counters .*$`).FindString(p.log())
		time.Sleep(20 * time.Millisecond)
	}
	for _, want := range []string{"auth_failed=1", "auth_succeeded=1", "auth_throttled=0", "pop3_accepted=2", "pop3_refused=0", "imap_accepted=0"} {
		if !strings.Contains(line, want) {
			t.Errorf("counters line %q lacks %s", line, want)
		}
	}
}
