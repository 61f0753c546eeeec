package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mailroom/mailroom/message"
	"github.com/mailroom/mailroom/store"
	"github.com/mailroom/mailroom/store/sqlite"
)

// runServeToExit runs `mailroom serve args...` in dir, expecting it to
// fail at start; it returns stdout, stderr and the exit code.
func runServeToExit(t *testing.T, dir string, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	args = append([]string{"--http", "", "--https", "", "--managesieve", ""}, args...)
	cmd := exec.CommandContext(ctx, mailroomBinary(t), append([]string{"serve"}, args...)...)
	cmd.Dir = dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("serve %v: %v, want it to exit with an error; stdout %q stderr %q", args, err, out.String(), errb.String())
	}
	return out.String(), errb.String(), ee.ExitCode()
}

// TestFirstStartTakenPortPrintsNoPassword: a first start whose listener
// cannot bind fails before it creates the first account, so no one-time
// password scrolls past a failed start, and the error names the flag and
// config key that move that listener. Before the fix the account was
// created (and its password printed) before the listeners were bound.
func TestFirstStartTakenPortPrintsNoPassword(t *testing.T) {
	t.Parallel()
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	dir := t.TempDir()
	args := append(slices.Clone(loopbackPorts), "--imap", taken.Addr().String())
	stdout, stderr, code := runServeToExit(t, dir, args...)
	if code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
	if strings.Contains(stdout, "password") || strings.Contains(stdout, "Created account") {
		t.Errorf("a failed start printed a password: %q", stdout)
	}
	for _, want := range []string{"imap listener", "address already in use", "--imap ADDR", `imap = "ADDR"`} {
		if !strings.Contains(stderr, want) {
			t.Errorf("error lacks %q:\n%s", want, stderr)
		}
	}
	// No account was created: the next start that binds creates it and
	// prints its password.
	out, err := runCLI(t, dir, "", "user", "list")
	if err != nil || strings.TrimSpace(out) != "" {
		t.Fatalf("accounts after the failed start: %q, %v", out, err)
	}
	p := startServe(t, dir, loopbackPorts...)
	waitStdout(t, p, "passwd")
	if !strings.Contains(p.stdout.String(), "Created account postmaster@localhost with password ") {
		t.Errorf("second start: %q", p.stdout.String())
	}
}

func waitStdout(t *testing.T, p *serverProc, want string) {
	t.Helper()
	for i := 0; i < 250 && !strings.Contains(p.stdout.String(), want); i++ {
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(p.stdout.String(), want) {
		t.Fatalf("stdout lacks %q: %q", want, p.stdout.String())
	}
}

// TestSecondServeOnDataDirRefused: a second serve on the same SQLite data
// directory is refused with the first one's PID, while the CLI commands
// keep working beside the running serve. Before the fix both served.
func TestSecondServeOnDataDirRefused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := startServe(t, dir, loopbackPorts...)
	_, stderr, code := runServeToExit(t, dir, loopbackPorts...)
	if code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
	want := fmt.Sprintf("is in use by another mailroom serve (pid %d)", p.cmd.Process.Pid)
	if !strings.Contains(stderr, want) {
		t.Errorf("second serve: want %q in\n%s", want, stderr)
	}
	if strings.Contains(stderr, "msg=listening") {
		t.Errorf("second serve bound listeners:\n%s", stderr)
	}
	if _, err := runCLI(t, dir, "pw\n", "user", "add", "carol@example.test", "--password-stdin"); err != nil {
		t.Fatalf("user add while serve runs: %v", err)
	}
	// The first one still serves, and the new account works there.
	if st := pop3Login(t, p.addr(t, "pop3"), "carol@example.test", "pw"); !strings.HasPrefix(st, "+OK") {
		t.Errorf("POP3 login of the account added while serving: %q", st)
	}
	// Once the first has stopped, the lock is free.
	_ = p.cmd.Process.Signal(os.Interrupt)
	<-p.done
	startServe(t, dir, loopbackPorts...)
}

// TestServeRefusesDamagedStore: a store with a damaged page is refused at
// start (PRAGMA quick_check), with the recovery commands in the message.
// Before the fix serve started and failed later on whatever touched the
// damaged page.
func TestServeRefusesDamagedStore(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	if err := os.MkdirAll(data, 0o700); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(data, "mailroom.db")
	ctx := context.Background()
	st, err := sqlite.Open(ctx, db, nil)
	if err != nil {
		t.Fatal(err)
	}
	a, err := st.CreateAccount(ctx, "alice@example.test", "h")
	if err != nil {
		t.Fatal(err)
	}
	body := strings.Repeat("a line of text that fills pages of the store\r\n", 100)
	for i := range 50 {
		raw := []byte(fmt.Sprintf("Subject: %d\r\n\r\n%s", i, body))
		if _, err := st.Deliver(ctx, []store.Target{{AccountID: a.ID}}, store.NewMessage{Raw: raw, Part: message.Parse(raw)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.QuickCheck(ctx); err != nil {
		t.Fatalf("quick_check of the intact store: %v", err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(db + "-wal"); err == nil {
		t.Fatal("WAL left after Close: the damage below would not reach the checked pages")
	}
	// Overwrite page 3 to the second-to-last page with garbage, keeping
	// page 1 (the header and schema) intact.
	f, err := os.OpenFile(db, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := f.Stat()
	const page = 4096
	junk := bytes.Repeat([]byte{0x5a}, page)
	for off := int64(2 * page); off < fi.Size()-page; off += 2 * page {
		if _, err := f.WriteAt(junk, off); err != nil {
			t.Fatal(err)
		}
	}
	f.Close()

	stdout, stderr, code := runServeToExit(t, dir, append(slices.Clone(loopbackPorts), "--data", data)...)
	if code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
	for _, want := range []string{"is damaged", ".recover", "mailroom backup", "Recovering a damaged store"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("error lacks %q:\n%s", want, stderr)
		}
	}
	if strings.Contains(stderr, "msg=ready") || stdout != "" {
		t.Errorf("serve started on a damaged store: stdout %q\n%s", stdout, stderr)
	}
}

// readmeCommandLine is the fenced block under README.md's "## Command line".
func readmeCommandLine(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)## Command line\n\n```\n(.*?)```").FindSubmatch(b)
	if m == nil {
		t.Fatal("README.md has no Command line block")
	}
	return string(m[1])
}

// normLines is text's non-empty lines with runs of spaces collapsed.
func normLines(text string) []string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if f := strings.Fields(l); len(f) > 0 {
			out = append(out, strings.Join(f, " "))
		}
	}
	return out
}

var flagRE = regexp.MustCompile(`--[a-z][a-z0-9-]*`)

// TestUsageMatchesREADME: the usage text printed with no arguments lists
// every command and flag of README's Command line block, and serve's
// flags are exactly the ones the README lists for it. Before the fix the
// usage text lacked user list --usage and --smtps/--pop3s/--imaps/--log-level.
func TestUsageMatchesREADME(t *testing.T) {
	t.Parallel()
	readme := readmeCommandLine(t)
	code, _, usage := runInProcess(t)
	if code != 2 {
		t.Errorf("no arguments: exit code %d, want 2", code)
	}
	_, block, ok := strings.Cut(usage, "Usage:\n")
	if !ok {
		t.Fatalf("usage text: %q", usage)
	}
	var cmdLines []string
	for _, l := range normLines(block) {
		if strings.HasPrefix(l, "mailroom ") || strings.HasPrefix(l, "[") {
			cmdLines = append(cmdLines, l)
		}
	}
	if want := normLines(readme); !slices.Equal(cmdLines, want) {
		t.Errorf("usage text commands:\n%s\nREADME:\n%s", strings.Join(cmdLines, "\n"), strings.Join(want, "\n"))
	}

	// serve's flags, as declared, against the README's serve lines.
	serveBlock, _, _ := strings.Cut(readme, "\nmailroom user")
	listed := flagRE.FindAllString(serveBlock, -1)
	slices.Sort(listed)
	fs, _ := newServeFlags(&bytes.Buffer{})
	var declared []string
	fs.VisitAll(func(f *flag.Flag) { declared = append(declared, "--"+f.Name) })
	slices.Sort(declared)
	if !slices.Equal(listed, declared) {
		t.Errorf("README serve flags %v, serve declares %v", listed, declared)
	}
}

// TestProgNameGoRun: a binary built by `go run` is named as the user ran
// it, in usage text and in the first-start hint.
func TestProgNameGoRun(t *testing.T) {
	t.Parallel()
	for arg0, want := range map[string]string{
		"/tmp/go-build3344/b001/exe/mailroom":  goRunProg,
		"/root/.cache/go-build/x/exe/mailroom": goRunProg,
		"mailroom":                             "mailroom",
		"./mailroom":                           "./mailroom",
		"/usr/local/bin/mailroom":              "/usr/local/bin/mailroom",
		"/tmp/go-build3344/b001/mailroom.test": "/tmp/go-build3344/b001/mailroom.test",
	} {
		if got := progName(arg0); got != want {
			t.Errorf("progName(%q) = %q, want %q", arg0, got, want)
		}
	}
	u := usageText(goRunProg)
	for _, want := range []string{
		"  go run ./cmd/mailroom serve [--config FILE]",
		"\n" + strings.Repeat(" ", 30) + "[--smtp ADDR]",
		"  go run ./cmd/mailroom user list [--usage]",
		`Run "go run ./cmd/mailroom COMMAND -h"`,
	} {
		if !strings.Contains(u, want) {
			t.Errorf("usage text lacks %q:\n%s", want, u)
		}
	}
	if strings.Contains(u, "  mailroom ") {
		t.Errorf("usage text still names mailroom:\n%s", u)
	}

	// The first-start hint, from an in-process serve run as `go run`.
	dir := t.TempDir()
	var out, errb lockedBuffer
	e := env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb,
		isTerminal: func() bool { return false }, prog: goRunProg}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	go func() {
		done <- run(ctx, append([]string{"serve", "--data", filepath.Join(dir, "d")}, loopbackPorts...), e)
	}()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(out.String(), "passwd") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("serve exit code %d: %s", code, errb.String())
	}
	want := "  go run ./cmd/mailroom user passwd postmaster@localhost --data " + filepath.Join(dir, "d") + "\n"
	if !strings.Contains(out.String(), want) {
		t.Errorf("first-start hint: want %q in %q", want, out.String())
	}
}

// TestVersionFromLdflags: make build's -ldflags reach `mailroom version`.
func TestVersionFromLdflags(t *testing.T) {
	t.Parallel()
	bin := filepath.Join(t.TempDir(), "mailroom")
	build := exec.Command("go", "build", "-buildvcs=false", "-ldflags", "-X main.version=v9.8.7 -X main.commit=0123456789ab", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(out), "mailroom v9.8.7 (0123456789ab) go") {
		t.Errorf("version: %q", out)
	}
}
