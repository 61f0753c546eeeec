package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/mailroom/mailroom/internal/pgtest"
)

// TestUserCommandsOnPostgres runs the user and queue commands against a
// PostgreSQL store named by --database.
func TestUserCommandsOnPostgres(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := pgtest.DSN(t)
	data := t.TempDir()

	mr := func(stdin string, args ...string) string {
		t.Helper()
		var out, errb bytes.Buffer
		e := env{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb,
			isTerminal: func() bool { return false }, readPassword: func() ([]byte, error) { return nil, nil }}
		if code := run(ctx, args, e); code != 0 {
			t.Fatalf("mailroom %s: exit %d\n%s", strings.Join(args, " "), code, errb.String())
		}
		return out.String()
	}
	mr("secret-pass-1\n", "user", "add", "pg@example.org", "--password-stdin", "--data", data, "--database", dsn)
	if out := mr("", "user", "list", "--database", dsn, "--data", data); !strings.Contains(out, "pg@example.org") {
		t.Fatalf("user list on PostgreSQL: %q", out)
	}
	// The SQLite store in the data directory is a different store.
	if out := mr("", "user", "list", "--data", data); strings.Contains(out, "pg@example.org") {
		t.Fatalf("user list on SQLite shows the PostgreSQL account: %q", out)
	}
	if out := mr("", "queue", "list", "--database", dsn, "--data", data); strings.Contains(out, "pg@example.org") {
		t.Fatalf("queue list: %q", out)
	}
}

// TestTwoNodesOnPostgres runs two serve processes on one PostgreSQL
// database: mail delivered over SMTP to node 1 wakes an IMAP IDLE on node 2.
func TestTwoNodesOnPostgres(t *testing.T) {
	t.Parallel()
	dsn := pgtest.DSN(t)
	dir := t.TempDir()
	if _, err := runCLI(t, dir, "ivy-pw\n", "user", "add", "ivy@example.test", "--password-stdin", "--database", dsn); err != nil {
		t.Fatal(err)
	}
	n1 := startServe(t, dir, append([]string{"--data", "n1", "--hostname", "n1.example.test", "--database", dsn}, loopbackPorts...)...)
	n2 := startServe(t, dir, append([]string{"--data", "n2", "--hostname", "n2.example.test", "--database", dsn}, loopbackPorts...)...)

	nc, err := net.DialTimeout("tcp", n2.addr(t, "imap"), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(20 * time.Second))
	r := bufio.NewReader(nc)
	expect := func(prefix string) {
		t.Helper()
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("waiting for %q: %v", prefix, err)
			}
			if strings.HasPrefix(line, prefix) {
				return
			}
		}
	}
	expect("* OK")
	fmt.Fprintf(nc, "a LOGIN ivy@example.test ivy-pw\r\n")
	expect("a OK")
	fmt.Fprintf(nc, "b SELECT INBOX\r\n")
	expect("b OK")
	fmt.Fprintf(nc, "c IDLE\r\n")
	expect("+")
	msg := "From: x@remote.test\r\nTo: ivy@example.test\r\nSubject: two nodes\r\n\r\nhello\r\n"
	if err := sendMailNoTLS(n1.addr(t, "smtp"), "x@remote.test", []string{"ivy@example.test"}, []byte(msg)); err != nil {
		t.Fatalf("delivery to node 1: %v", err)
	}
	expect("* 1 EXISTS")
	fmt.Fprintf(nc, "DONE\r\n")
	expect("c OK")
}
