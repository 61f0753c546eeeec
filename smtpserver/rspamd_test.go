package smtpserver

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mailroom/mailroom/milter"
)

// GTUBE test patterns Rspamd acts on (libmime): X… rejects, Y… (with
// options.enable_test_patterns) is the "add header" action.
const (
	gtubeReject    = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
	gtubeAddHeader = "YJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
)

// rspamdConfig is a self-contained Rspamd configuration: Debian's rules
// and modules, one proxy worker in milter mode scanning by itself on
// 127.0.0.1:port, no DNS (a closed port on loopback, so lookups fail at
// once), a small TLD list (the full one takes Rspamd a minute to
// compile on a busy machine), and the README's recommended milter
// headers.
const rspamdConfig = `
.include "$CONFDIR/common.conf"
options {
    pidfile = "$RUNDIR/rspamd.pid";
    url_tld = "$DBDIR/tld.dat";
    enable_test_patterns = true;
    dns { nameserver = ["127.0.0.1:1"]; timeout = 0.5s; retransmits = 1; }
    filters = "regexp";
    cache_file = "$DBDIR/symbols.cache";
}
logging { type = "file"; filename = "$LOGDIR/rspamd.log"; level = "info"; }
worker "rspamd_proxy" {
    bind_socket = "127.0.0.1:%d";
    milter = yes;
    timeout = 60s;
    count = 1;
    self_scan = yes;
    upstream "local" { default = yes; self_scan = yes; }
    spam_header = "X-Spam";
    reject_message = "Spam message rejected";
}
`

// rspamd is a running Rspamd started by a test.
type rspamd struct {
	addr string // host:port of the milter
	cmd  *exec.Cmd
	dir  string
	done chan struct{}
}

// startRspamd starts Debian's rspamd with rspamdConfig in a temporary
// directory and waits until its milter port answers. Without the binary
// the test is skipped, unless MAILROOM_REQUIRE_RSPAMD is set
// (scripts/test-deps installs rspamd and sets it for make test).
func startRspamd(t *testing.T) *rspamd {
	t.Helper()
	bin, err := exec.LookPath("rspamd")
	if err != nil {
		if os.Getenv("MAILROOM_REQUIRE_RSPAMD") != "" {
			t.Fatal("rspamd not found (apt-get install rspamd)")
		}
		t.Skip("rspamd not installed (Debian package rspamd); set MAILROOM_REQUIRE_RSPAMD=1 to require it")
	}
	dir := t.TempDir()
	local := filepath.Join(dir, "local")
	if err := os.MkdirAll(filepath.Join(local, "local.d"), 0o755); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	files := map[string]string{
		"rspamd.conf": fmt.Sprintf(rspamdConfig, port),
		"tld.dat":     "com\nnet\norg\ntest\nexample\n",
		// The README's recommendation: X-Spamd-Result on every
		// message, for local and authenticated clients too.
		"local/local.d/milter_headers.conf": "extended_spam_headers = true;\nskip_local = false;\nskip_authenticated = false;\n",
		"local/local.d/actions.conf":        "reject = 15;\nadd_header = 6;\ngreylist = null;\n",
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	args := []string{"-f", "-c", filepath.Join(dir, "rspamd.conf"),
		"--var", "DBDIR=" + dir, "--var", "RUNDIR=" + dir, "--var", "LOGDIR=" + dir, "--var", "LOCAL_CONFDIR=" + local}
	if os.Geteuid() == 0 {
		args = append(args, "-i") // as root without dropping privileges
	}
	cmd := exec.Command(bin, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // workers die with the group
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := &rspamd{addr: fmt.Sprintf("127.0.0.1:%d", port), cmd: cmd, dir: dir, done: make(chan struct{})}
	go func() { cmd.Wait(); close(r.done) }()
	t.Cleanup(r.stop)
	// Loading Debian's rules takes seconds, much longer on a busy
	// machine.
	deadline := time.Now().Add(3 * time.Minute)
	for {
		c, err := net.DialTimeout("tcp", r.addr, time.Second)
		if err == nil {
			c.Close()
			break
		}
		select {
		case <-r.done:
			log, _ := os.ReadFile(filepath.Join(dir, "rspamd.log"))
			t.Fatalf("rspamd exited: %s\n%s\n%s", cmd.ProcessState, out.String(), tail(log, 4000))
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "rspamd.log"))
			t.Fatalf("rspamd did not listen on %s within 3 minutes:\n%s", r.addr, tail(log, 4000))
		}
	}
	return r
}

// stop ends Rspamd (its process group) and waits for it.
func (r *rspamd) stop() {
	select {
	case <-r.done:
		return
	default:
	}
	syscall.Kill(-r.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-r.done:
	case <-time.After(20 * time.Second):
		syscall.Kill(-r.cmd.Process.Pid, syscall.SIGKILL)
		<-r.done
	}
	// Workers may outlive the main process briefly.
	for i := 0; i < 100; i++ {
		c, err := net.DialTimeout("tcp", r.addr, time.Second)
		if err != nil {
			return
		}
		c.Close()
		time.Sleep(100 * time.Millisecond)
	}
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// TestRspamdMilter runs Debian's real Rspamd in milter mode in front of
// the MX listener: GTUBE is rejected with Rspamd's reply, a clean
// message is stored with Rspamd's headers, an "add header" score lands
// in Junk, and a stopped Rspamd means 451 4.7.1 (on_error = tempfail).
func TestRspamdMilter(t *testing.T) {
	t.Parallel()
	rs := startRspamd(t)
	h := milterHarness(t, milter.Config{Address: "inet:" + rs.addr, SpamHeader: "X-Spam", CommandTimeout: 60 * time.Second})
	c := h.dial()
	c.c.SetDeadline(time.Now().Add(3 * time.Minute))
	c.cmd("EHLO client.sender.test", "250 ")

	msg := func(subject, body string) string {
		return "From: Sender <s@sender.test>\r\nTo: alice@example.com\r\nSubject: " + subject +
			"\r\nDate: Tue, 04 Mar 2025 05:06:07 +0000\r\nMessage-ID: <" + strings.ReplaceAll(subject, " ", ".") + "@sender.test>\r\n\r\n" + body + "\r\n"
	}

	// GTUBE: rejected with Rspamd's reply (its reason for GTUBE).
	c.do("MAIL FROM:<s@sender.test>", 250, "2.0.0")
	c.do("RCPT TO:<alice@example.com>", 250, "2.0.0")
	c.do("DATA", 354, "")
	c.send(msg("gtube", "This is spam.\r\n"+gtubeReject) + ".\r\n")
	r := parseReply(t, c.reply())
	if r.code != 554 || r.enh != "5.7.1" || r.text[len(r.text)-1] != "Gtube pattern" {
		t.Fatalf("GTUBE reply %d %s %q, want 554 5.7.1 Gtube pattern", r.code, r.enh, r.text)
	}
	if n := len(h.inbox("alice@example.com")); n != 0 {
		t.Fatalf("GTUBE stored (%d)", n)
	}

	// A clean message: accepted, with Rspamd's verdict in the header.
	c.sendMail("s@sender.test", []string{"alice@example.com"}, msg("lunch", "Lunch at noon tomorrow?"))
	inbox := h.inbox("alice@example.com")
	if len(inbox) != 1 {
		t.Fatalf("%d messages in INBOX after a clean one", len(inbox))
	}
	res := headerValue(inbox[0], "X-Spamd-Result")
	if !strings.HasPrefix(res, "default: False [") {
		t.Fatalf("X-Spamd-Result %q; stored header fields %q", res, headerNames(inbox[0]))
	}
	if v := headerValue(inbox[0], "X-Spam"); v != "" {
		t.Fatalf("clean message has X-Spam: %q", v)
	}

	// "add header": accepted into Junk with X-Spam: Yes.
	c.sendMail("s@sender.test", []string{"alice@example.com"}, msg("offer", "Buy now.\r\n"+gtubeAddHeader))
	if n, j := len(h.inbox("alice@example.com")), h.junkCount("alice@example.com"); n != 1 || j != 1 {
		t.Fatalf("after add header: INBOX %d, Junk %d; want 1, 1", n, j)
	}

	// Rspamd stopped: 451 4.7.1 at the next MAIL.
	rs.stop()
	c2 := h.dial()
	c2.cmd("EHLO client.sender.test", "250 ")
	c2.do("MAIL FROM:<s@sender.test>", 451, "4.7.1")
	// The open connection's milter session is gone too.
	c.do("MAIL FROM:<s@sender.test>", 451, "4.7.1")
}
