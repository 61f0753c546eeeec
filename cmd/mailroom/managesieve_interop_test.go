package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mailroom/mailroom/store/sqlite"
)

// requireSieveClients finds Debian's sieve-connect and /usr/bin/python3
// with python3-sievelib; missing, the test skips unless
// MAILROOM_REQUIRE_SIEVE_CONNECT is set (scripts/test-deps installs both
// and sets it for make test).
func requireSieveClients(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("sieve-connect")
	if err == nil {
		err = exec.Command("/usr/bin/python3", "-c", "import sievelib.managesieve").Run()
	}
	if err != nil {
		if os.Getenv("MAILROOM_REQUIRE_SIEVE_CONNECT") != "" {
			t.Fatalf("sieve-connect or python3-sievelib missing (apt-get install sieve-connect python3-sievelib): %v", err)
		}
		t.Skip("sieve-connect / python3-sievelib not installed; set MAILROOM_REQUIRE_SIEVE_CONNECT=1 to require them")
	}
	return path
}

// TestManageSieveInterop uploads, activates and lists a script with
// sieve-connect (over STARTTLS), then checks that an SMTP delivery lands
// where the script says; then python3-sievelib drives the other
// commands.
func TestManageSieveInterop(t *testing.T) {
	t.Parallel()
	sc := requireSieveClients(t)
	dir := t.TempDir()
	if _, err := runCLI(t, dir, "pw\n", "user", "add", "erin@example.test", "--password-stdin", "--data", "d"); err != nil {
		t.Fatal(err)
	}
	p := startServe(t, dir, append([]string{"--data", "d", "--hostname", "mx.example.test", "--smtp", "127.0.0.1:0",
		"--submission", "", "--pop3", "", "--imap", "", "--managesieve", "127.0.0.1:0"}, noTLSPorts[:6]...)...)
	host, port, _ := net.SplitHostPort(p.addr(t, "managesieve"))
	script := "require [\"fileinto\", \"mailbox\"];\nif header :is \"Subject\" \"sort me\" { fileinto :create \"Sorted\"; }\n"
	if err := os.WriteFile(filepath.Join(dir, "rules.sieve"), []byte(script), 0o600); err != nil {
		t.Fatal(err)
	}
	connect := func(args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, sc, append([]string{"--server", host, "--port", port,
			"--user", "erin@example.test", "--passwordfd", "3", "--notlsverify"}, args...)...)
		cmd.Dir = dir
		pr, pw, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		pw.WriteString("pw")
		pw.Close()
		defer pr.Close()
		cmd.ExtraFiles = []*os.File{pr}
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			t.Fatalf("sieve-connect %v: %v\n%s\nserver log:\n%s", args, err, out.String(), p.log())
		}
		return out.String()
	}
	connect("--upload", "--localsieve", "rules.sieve", "--remotesieve", "rules")
	connect("--activate", "--remotesieve", "rules")
	if out := connect("--list"); strings.TrimSpace(out) != `"rules" ACTIVE` {
		t.Fatalf("sieve-connect --list: %q", out)
	}
	msg := []byte("From: x@sender.test\r\nTo: erin@example.test\r\nSubject: sort me\r\n\r\nhello\r\n")
	if err := sendMailNoTLS(p.addr(t, "smtp"), "x@sender.test", []string{"erin@example.test"}, msg); err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "d", "mailroom.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	acct, err := st.AccountByEmail(context.Background(), "erin@example.test")
	if err != nil {
		t.Fatal(err)
	}
	mb, err := st.MailboxByName(context.Background(), acct.ID, "Sorted")
	if err != nil {
		t.Fatalf("the folder the uploaded script files into: %v", err)
	}
	if s, err := st.MailboxStatus(context.Background(), mb.Ref()); err != nil || s.Messages != 1 {
		t.Fatalf("Sorted status %+v, %v", s, err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "/usr/bin/python3", "-c", sievelibClient, host, port).CombinedOutput()
	if err != nil {
		t.Fatalf("python3-sievelib client: %v\n%s", err, out)
	}
	if got := strings.TrimSpace(string(out)); got != "ok" {
		t.Fatalf("python3-sievelib client: %s", got)
	}
}

// sievelibClient drives the server with python3-sievelib (Debian's
// sievelib.managesieve.Client) on a plaintext loopback connection and
// prints "ok" or what went wrong.
const sievelibClient = `
import sys
from sievelib.managesieve import Client
host, port = sys.argv[1], int(sys.argv[2])
c = Client(host, port)
def check(cond, what):
    if not cond:
        print("failed:", what, c.errmsg)
        sys.exit(0)
check(c.connect("erin@example.test", "pw", starttls=False, authmech="PLAIN"), "login")
active, others = c.listscripts()
check(active == "rules" and others == [], "listscripts %r %r" % (active, others))
check("sort me" in c.getscript("rules"), "getscript")
check(c.havespace("two", 100), "havespace")
check(c.putscript("two", "keep;\r\n"), "putscript")
check(not c.putscript("three", "keep;\r\nfrobnicate;\r\n"), "putscript of a bad script")
check(b"line 2" in c.errmsg, "error names the line: %r" % c.errmsg)
check(c.checkscript("discard;\r\n"), "checkscript")
check(c.renamescript("two", "deux"), "renamescript")
check(not c.deletescript("rules"), "deletescript of the active script")
check(c.setactive("deux"), "setactive")
check(c.deletescript("rules"), "deletescript")
active, others = c.listscripts()
check(active == "deux" and others == [], "listscripts after %r %r" % (active, others))
c.logout()
print("ok")
`
