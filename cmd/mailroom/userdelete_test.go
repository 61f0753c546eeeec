package main

import (
	"bufio"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// lineConn is a raw protocol connection read line by line.
type lineConn struct {
	t  *testing.T
	nc net.Conn
	br *bufio.Reader
}

func dialLines(t *testing.T, addr string) *lineConn {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(30 * time.Second))
	return &lineConn{t: t, nc: nc, br: bufio.NewReader(nc)}
}

func (c *lineConn) line() string {
	c.t.Helper()
	l, err := c.br.ReadString('\n')
	if err != nil {
		c.t.Fatalf("read: %v (got %q)", err, l)
	}
	return strings.TrimRight(l, "\r\n")
}

// cmd sends a line and returns the first reply line whose first field is
// tag (for IMAP; "" returns the next line).
func (c *lineConn) cmd(line, tag string) string {
	c.t.Helper()
	if _, err := io.WriteString(c.nc, line+"\r\n"); err != nil {
		c.t.Fatal(err)
	}
	for {
		l := c.line()
		if tag == "" || strings.HasPrefix(l, tag+" ") {
			return l
		}
	}
}

// closed checks that the server closes the connection next.
func (c *lineConn) closed() {
	c.t.Helper()
	if l, err := c.br.ReadString('\n'); !errors.Is(err, io.EOF) {
		c.t.Errorf("after the goodbye: %q, %v; want the connection closed", l, err)
	}
}

// TestUserDeleteEndsSessions: `mailroom user delete` run beside serve (on
// the same SQLite file, another process) ends that user's open sessions
// at once, even idle ones that send no command: IMAP in IDLE gets
// `* BYE account was deleted`, a POP3 session waiting for its next command
// `-ERR [SYS/PERM] account was deleted`; both are closed. Another user's
// session stays.
func TestUserDeleteEndsSessions(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, u := range []string{"gone@example.test", "kept@example.test"} {
		if _, err := runCLI(t, dir, "pw\n", "user", "add", u, "--password-stdin", "--data", "d"); err != nil {
			t.Fatal(err)
		}
	}
	p := startServe(t, dir, append([]string{"--data", "d"}, append(loopbackPorts, noTLSPorts...)...)...)

	imap := dialLines(t, p.addr(t, "imap"))
	imap.line() // greeting
	if l := imap.cmd("a login gone@example.test pw", "a"); !strings.HasPrefix(l, "a OK") {
		t.Fatalf("imap login: %q", l)
	}
	if l := imap.cmd("b idle", "+"); l != "+ idling" {
		t.Fatalf("idle: %q", l)
	}
	kept := dialLines(t, p.addr(t, "imap"))
	kept.line()
	if l := kept.cmd("a login kept@example.test pw", "a"); !strings.HasPrefix(l, "a OK") {
		t.Fatalf("imap login: %q", l)
	}
	pop := dialLines(t, p.addr(t, "pop3"))
	pop.line()
	pop.cmd("USER gone@example.test", "")
	if l := pop.cmd("PASS pw", ""); !strings.HasPrefix(l, "+OK") {
		t.Fatalf("pop3 login: %q", l)
	}

	if _, err := runCLI(t, dir, "", "user", "delete", "gone@example.test", "--data", "d"); err != nil {
		t.Fatal(err)
	}
	// Neither client sends anything: only the server can end them.
	imap.nc.SetReadDeadline(time.Now().Add(30 * time.Second))
	if l := imap.line(); l != "* BYE account was deleted" {
		t.Errorf("imap: %q, want * BYE account was deleted", l)
	}
	imap.closed()
	pop.nc.SetReadDeadline(time.Now().Add(30 * time.Second))
	if l := pop.line(); l != "-ERR [SYS/PERM] account was deleted" {
		t.Errorf("pop3: %q, want -ERR [SYS/PERM] account was deleted", l)
	}
	pop.closed()
	if l := kept.cmd("c noop", "c"); !strings.HasPrefix(l, "c OK") {
		t.Errorf("the other user's session: %q", l)
	}
}
