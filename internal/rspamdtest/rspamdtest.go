// Package rspamdtest starts Debian's rspamd for tests (the milter test
// of smtpserver, the learning test of cmd/mailroom) in a temporary
// directory on a loopback port, and stops it with the test.
package rspamdtest

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
)

// Rspamd is a running rspamd.
type Rspamd struct {
	Port int    // the loopback port the configuration was given
	Dir  string // its directory: configuration, databases, rspamd.log
	cmd  *exec.Cmd
	out  bytes.Buffer
	done chan struct{}
}

// Start writes files (paths relative to the directory; "rspamd.conf" is
// made by conf from the free port chosen) and starts rspamd on them,
// then, once its log (at level info) tells that it bound its sockets,
// calls ready every 100 ms until it reports true, for at most wait.
// Without the binary the test is skipped, unless MAILROOM_REQUIRE_RSPAMD
// is set (scripts/test-deps installs rspamd and sets it for make test).
func Start(t testing.TB, conf func(port int) string, files map[string]string, ready func(*Rspamd) bool, wait time.Duration) *Rspamd {
	t.Helper()
	bin, err := exec.LookPath("rspamd")
	if err != nil {
		if os.Getenv("MAILROOM_REQUIRE_RSPAMD") != "" {
			t.Fatal("rspamd not found (apt-get install rspamd)")
		}
		t.Skip("rspamd not installed (Debian package rspamd); set MAILROOM_REQUIRE_RSPAMD=1 to require it")
	}
	r := &Rspamd{Dir: t.TempDir()}
	local := filepath.Join(r.Dir, "local")
	if err := os.MkdirAll(filepath.Join(local, "local.d"), 0o755); err != nil {
		t.Fatal(err)
	}
	// The port is free when chosen, not when rspamd binds it once its
	// configuration is loaded (seconds, on a busy machine): a socket of
	// the tests running meanwhile (a client's ephemeral port too) can
	// take it in between. rspamd then exits, and is started again on
	// another port; and ready is asked only once rspamd has bound its
	// sockets, so that it cannot be answered by what took the port.
	r.start(t, bin, local, conf, files)
	t.Cleanup(r.Stop)
	deadline := time.Now().Add(wait)
	for attempt := 1; ; {
		if log := r.log(); strings.Contains(log, "rspamd_fork_worker") && !strings.Contains(log, portTaken) && ready(r) {
			return r
		}
		select {
		case <-r.done:
			if attempt < 5 && strings.Contains(r.log()+r.out.String(), portTaken) {
				t.Logf("rspamd's port %d was taken before it bound it; trying another", r.Port)
				attempt++
				r.start(t, bin, local, conf, files)
				continue
			}
			t.Fatalf("rspamd exited: %s\n%s\n%s", r.cmd.ProcessState, r.out.String(), r.logTail())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("rspamd not ready on port %d within %s:\n%s", r.Port, wait, r.logTail())
		}
	}
}

// portTaken is what rspamd logs when its port is taken.
const portTaken = "Address already in use"

// start writes the configuration for a port chosen free and starts
// rspamd on it.
func (r *Rspamd) start(t testing.TB, bin, local string, conf func(port int) string, files map[string]string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.Port = l.Addr().(*net.TCPAddr).Port
	l.Close()
	all := map[string]string{"rspamd.conf": conf(r.Port), "tld.dat": "com\nnet\norg\ntest\nexample\n"}
	for name, text := range files {
		all[name] = text
	}
	for name, text := range all {
		if err := os.WriteFile(filepath.Join(r.Dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.Remove(filepath.Join(r.Dir, "rspamd.log")) // a previous attempt's
	args := []string{"-f", "-c", filepath.Join(r.Dir, "rspamd.conf"),
		"--var", "DBDIR=" + r.Dir, "--var", "RUNDIR=" + r.Dir, "--var", "LOGDIR=" + r.Dir, "--var", "LOCAL_CONFDIR=" + local}
	if os.Geteuid() == 0 {
		args = append(args, "-i") // as root without dropping privileges
	}
	r.out.Reset()
	r.done = make(chan struct{})
	r.cmd = exec.Command(bin, args...)
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // workers die with the group
	r.cmd.Stdout, r.cmd.Stderr = &r.out, &r.out
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	cmd, done := r.cmd, r.done
	go func() { cmd.Wait(); close(done) }()
}

// Listening reports whether something accepts connections on the port:
// a ready function for a milter.
func Listening(r *Rspamd) bool {
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", r.Port), time.Second)
	if err == nil {
		c.Close()
	}
	return err == nil
}

// Stop ends rspamd (its process group) and waits until its workers no
// longer listen. Start registers it as a cleanup; a test may call it
// earlier (to see how mailroom copes with a stopped filter).
func (r *Rspamd) Stop() {
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
	for i := 0; i < 100 && Listening(r); i++ {
		time.Sleep(100 * time.Millisecond)
	}
}

// log is rspamd.log.
func (r *Rspamd) log() string {
	b, _ := os.ReadFile(filepath.Join(r.Dir, "rspamd.log"))
	return string(b)
}

// logTail is the end of rspamd.log, for a failure message.
func (r *Rspamd) logTail() string {
	b := []byte(r.log())
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}
