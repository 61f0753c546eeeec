package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// buildBinary compiles mailroom once per test binary run.
var buildOnce struct {
	sync.Once
	path string
	err  error
}

func mailroomBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "mailroom-bin")
		if err != nil {
			buildOnce.err = err
			return
		}
		buildOnce.path = filepath.Join(dir, "mailroom")
		out, err := exec.Command("go", "build", "-o", buildOnce.path, ".").CombinedOutput()
		if err != nil {
			buildOnce.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildOnce.err != nil {
		t.Fatal(buildOnce.err)
	}
	return buildOnce.path
}

// serverProc is a `mailroom serve` child process.
type serverProc struct {
	cmd    *exec.Cmd
	addrs  map[string]string // protocol -> listen address
	stdout *lockedBuffer
	mu     sync.Mutex
	lines  []string
	// records are the log lines written as JSON (--log-format json),
	// decoded.
	records []map[string]any
	done    chan struct{}
}

var listenRE = regexp.MustCompile(`msg=listening protocol=(\S+) addr=(\S+)`)

// startServe runs `mailroom serve args...` in dir and waits until every
// listener that is not disabled has logged its address.
func startServe(t *testing.T, dir string, args ...string) *serverProc {
	t.Helper()
	// Free ports for the HTTP(S) listener unless args say otherwise
	// (later flags win): its defaults would collide between parallel tests.
	args = append([]string{"--http", "127.0.0.1:0", "--https", "127.0.0.1:0", "--managesieve", "127.0.0.1:0"}, args...)
	cmd := exec.Command(mailroomBinary(t), append([]string{"serve"}, args...)...)
	cmd.Dir = dir
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &serverProc{cmd: cmd, addrs: map[string]string{}, stdout: &lockedBuffer{}, done: make(chan struct{})}
	cmd.Stdout = p.stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.done
	})
	ready := make(chan struct{})
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(stderr)
		isReady := false
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.lines = append(p.lines, line)
			if m := listenRE.FindStringSubmatch(line); m != nil {
				p.addrs[m[1]] = m[2]
			}
			var rec map[string]any
			if strings.HasPrefix(line, "{") && json.Unmarshal([]byte(line), &rec) == nil {
				p.records = append(p.records, rec)
				if rec["msg"] == "listening" {
					p.addrs[fmt.Sprint(rec["protocol"])] = fmt.Sprint(rec["addr"])
				}
			}
			p.mu.Unlock()
			if !isReady && (strings.Contains(line, "msg=ready") || rec["msg"] == "ready") {
				isReady = true
				close(ready)
			}
		}
		_ = cmd.Wait()
		if !isReady {
			close(ready)
		}
	}()
	select {
	case <-ready:
	case <-time.After(20 * time.Second):
		t.Fatalf("server did not start; log:\n%s", p.log())
	}
	return p
}

func (p *serverProc) addr(t *testing.T, proto string) string {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	a, ok := p.addrs[proto]
	if !ok {
		t.Fatalf("no %s listener; log:\n%s", proto, strings.Join(p.lines, "\n"))
	}
	return a
}

// waitRecord waits until n JSON log records match (at most 30 s: a hang guard) and
// returns the matching ones.
func (p *serverProc) waitRecord(t *testing.T, n int, match func(map[string]any) bool) []map[string]any {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var got []map[string]any
		p.mu.Lock()
		for _, r := range p.records {
			if match(r) {
				got = append(got, r)
			}
		}
		p.mu.Unlock()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d matching log records, want %d; log:\n%s", len(got), n, p.log())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (p *serverProc) log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.lines, "\n")
}

// runCLI runs the mailroom binary with args and stdin, returning stdout.
func runCLI(t *testing.T, dir, stdin string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, mailroomBinary(t), args...)
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if err != nil {
		return out.String(), fmt.Errorf("%v: %s", err, errb.String())
	}
	return out.String(), nil
}

// loopbackPorts are flags that put every listener on a free loopback port.
var loopbackPorts = []string{"--smtp", "127.0.0.1:0", "--submission", "127.0.0.1:0", "--pop3", "127.0.0.1:0", "--imap", "127.0.0.1:0",
	"--smtps", "127.0.0.1:0", "--pop3s", "127.0.0.1:0", "--imaps", "127.0.0.1:0",
	"--http", "127.0.0.1:0", "--https", "127.0.0.1:0", "--managesieve", "127.0.0.1:0"}

// noTLSPorts disables the implicit-TLS and HTTP listeners (whose default
// ports would collide between tests running in parallel).
var noTLSPorts = []string{"--smtps", "", "--pop3s", "", "--imaps", "", "--http", "", "--https", "", "--managesieve", ""}

// lockedBuffer collects a child's output while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
