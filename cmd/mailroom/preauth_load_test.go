package main

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestPreAuthLoadMemoryBound is issue 11's "done when": many connections,
// none logged in, each pushing the largest input the server lets it send
// before authentication (a LOGIN literal, a USER or AUTH line without an
// end, a message over MX DATA that is never finished), must not make the
// server's memory grow with the input. It measures the server process's
// resident memory (VmHWM: the peak) against the idle baseline, prints the
// bound per connection, and fails if 100 such connections would take the
// server over 500 MB, or if one connection costs more than 2 MB.
//
// CI runs it with small numbers; MAILROOM_LOAD_CONNS and
// MAILROOM_LOAD_BYTES (bytes pushed per connection) make it bigger.
func TestPreAuthLoadMemoryBound(t *testing.T) {
	conns := envInt(t, "MAILROOM_LOAD_CONNS", 40)
	push := envInt(t, "MAILROOM_LOAD_BYTES", 8<<20)

	dir := t.TempDir()
	cfg := `smtp = "127.0.0.1:0"
submission = "127.0.0.1:0"
pop3 = "127.0.0.1:0"
imap = "127.0.0.1:0"
smtps = ""
pop3s = ""
imaps = ""
hostname = "mx.example.test"
[limits]
max_connections_per_ip = 1000
`
	if err := os.WriteFile(filepath.Join(dir, "m.toml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := runCLI(t, dir, "pw\n", "user", "add", "rcpt@example.test", "--password-stdin", "--config", "m.toml"); err != nil {
		t.Fatal(err)
	}
	p := startServe(t, dir, "--config", "m.toml")
	pid := p.cmd.Process.Pid

	// Warm up every protocol once so that the baseline includes what a
	// first connection allocates for good (buffers pools, statements).
	kinds := []struct {
		name  string
		proto string
		run   func(c net.Conn, r *bufio.Reader, push int) error
	}{
		{"imap LOGIN literal", "imap", pushIMAPLiteral},
		{"pop3 USER line", "pop3", pushLine("USER ")},
		{"submission AUTH line", "submission", pushSMTPLine("AUTH PLAIN ")},
		{"smtp DATA", "smtp", pushSMTPData},
	}
	for _, k := range kinds {
		c, err := net.Dial("tcp", p.addr(t, k.proto))
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(30 * time.Second))
		_ = k.run(c, bufio.NewReader(c), 64<<10)
		c.Close()
	}
	time.Sleep(300 * time.Millisecond)
	base := procStatusKB(t, pid, "VmRSS")

	var wg sync.WaitGroup
	var mu sync.Mutex
	sent := map[string]int64{}
	open := make([]net.Conn, 0, conns)
	for i := range conns {
		k := kinds[i%len(kinds)]
		c, err := net.Dial("tcp", p.addr(t, k.proto))
		if err != nil {
			t.Fatalf("connection %d (%s): %v", i, k.name, err)
		}
		open = append(open, c)
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.SetDeadline(time.Now().Add(60 * time.Second))
			cw := &countingConn{Conn: c}
			_ = k.run(cw, bufio.NewReader(c), push)
			mu.Lock()
			sent[k.name] += cw.n
			mu.Unlock()
		}()
	}
	wg.Wait()
	// Every connection is still open, holding what it sent: measure now.
	time.Sleep(300 * time.Millisecond)
	rss := procStatusKB(t, pid, "VmRSS")
	peak := procStatusKB(t, pid, "VmHWM")
	for _, c := range open {
		c.Close()
	}

	growth := peak - base
	if growth < 0 {
		growth = 0
	}
	perConn := float64(growth) / float64(conns)
	at100 := float64(base) + 100*perConn
	t.Logf("%d connections, up to %d bytes each; sent: %v", conns, push, sent)
	t.Logf("server RSS: baseline %d KiB, after %d KiB, peak %d KiB; bound per connection %.0f KiB; 100 connections → %.0f MiB",
		base, rss, peak, perConn, at100/1024)
	fmt.Printf("pre-auth load: %.0f KiB per connection, 100 connections → %.0f MiB resident (limit 500 MiB)\n", perConn, at100/1024)
	if perConn > 2048 {
		t.Errorf("each connection costs %.0f KiB of server memory (limit 2 MiB)", perConn)
	}
	if at100 > 500*1024 {
		t.Errorf("100 connections would take the server to %.0f MiB (limit 500 MiB)", at100/1024)
	}
}

// pushIMAPLiteral announces a 50 MiB non-synchronizing literal in a
// LOGIN before authentication and sends as much of it as the server takes.
func pushIMAPLiteral(c net.Conn, r *bufio.Reader, push int) error {
	if _, err := r.ReadString('\n'); err != nil {
		return err
	}
	if _, err := fmt.Fprintf(c, "a LOGIN {%d+}\r\n", 50<<20); err != nil {
		return err
	}
	return pushBytes(c, push)
}

// pushLine sends prefix and then a line that never ends.
func pushLine(prefix string) func(net.Conn, *bufio.Reader, int) error {
	return func(c net.Conn, r *bufio.Reader, push int) error {
		if _, err := r.ReadString('\n'); err != nil {
			return err
		}
		if _, err := c.Write([]byte(prefix)); err != nil {
			return err
		}
		return pushBytes(c, push)
	}
}

// pushSMTPLine is pushLine after EHLO.
func pushSMTPLine(prefix string) func(net.Conn, *bufio.Reader, int) error {
	return func(c net.Conn, r *bufio.Reader, push int) error {
		if err := smtpHello(c, r); err != nil {
			return err
		}
		if _, err := c.Write([]byte(prefix)); err != nil {
			return err
		}
		return pushBytes(c, push)
	}
}

// pushSMTPData starts a message to a local account over MX and sends
// push bytes of it without ever ending it.
func pushSMTPData(c net.Conn, r *bufio.Reader, push int) error {
	if err := smtpHello(c, r); err != nil {
		return err
	}
	for _, cmd := range []string{"MAIL FROM:<sender@remote.test>", "RCPT TO:<rcpt@example.test>", "DATA"} {
		if _, err := fmt.Fprintf(c, "%s\r\n", cmd); err != nil {
			return err
		}
		line, err := r.ReadString('\n')
		if err != nil {
			return err
		}
		if !strings.HasPrefix(line, "2") && !strings.HasPrefix(line, "354") {
			return fmt.Errorf("%s: %q", cmd, line)
		}
	}
	if _, err := c.Write([]byte("Subject: load\r\n\r\n")); err != nil {
		return err
	}
	line := bytes.Repeat([]byte("x"), 998)
	line = append(line, '\r', '\n')
	for sent := 0; sent < push; sent += len(line) {
		if _, err := c.Write(line); err != nil {
			return err
		}
	}
	return nil
}

func smtpHello(c net.Conn, r *bufio.Reader) error {
	if _, err := r.ReadString('\n'); err != nil {
		return err
	}
	if _, err := c.Write([]byte("EHLO load.test\r\n")); err != nil {
		return err
	}
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return err
		}
		if len(line) >= 4 && line[3] == ' ' {
			return nil
		}
	}
}

// pushBytes writes push bytes without a line end, stopping early when the
// server stops reading (the write deadline passes) or closes.
func pushBytes(c net.Conn, push int) error {
	chunk := bytes.Repeat([]byte("A"), 32<<10)
	for sent := 0; sent < push; sent += len(chunk) {
		c.SetWriteDeadline(time.Now().Add(2 * time.Second))
		if _, err := c.Write(chunk); err != nil {
			return err
		}
	}
	return nil
}

type countingConn struct {
	net.Conn
	n int64
}

func (c *countingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.n += int64(n)
	return n, err
}

func procStatusKB(t *testing.T, pid int, field string) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}

func envInt(t *testing.T, name string, def int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q: want a positive number", name, v)
	}
	return n
}
