package main

import (
	"context"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestTestDepsRefusesWithoutRoot: scripts/test-deps, which `make test` runs
// first, stops at once when it is not root and something is missing: it
// prints the exact sudo line, installs nothing and prints no environment
// for make to use. Run as root, it also runs the script as user nobody.
func TestTestDepsRefusesWithoutRoot(t *testing.T) {
	t.Parallel()
	script, err := filepath.Abs("../../scripts/test-deps")
	if err != nil {
		t.Fatal(err)
	}
	type run struct {
		name string
		cmd  func(ctx context.Context) *exec.Cmd
	}
	runs := []run{{"simulated non-root", func(ctx context.Context) *exec.Cmd {
		c := exec.CommandContext(ctx, script)
		c.Env = append(os.Environ(), "MAILROOM_DEPS_FAKE_NONROOT=1", "MAILROOM_DEPS_FAKE_MISSING=mailroom-no-such-package")
		return c
	}}}
	if os.Geteuid() == 0 {
		if _, err := user.Lookup("nobody"); err == nil {
			// Only where nobody can reach the checkout (not under /root).
			if exec.Command("runuser", "-u", "nobody", "--", "test", "-x", script).Run() == nil {
				runs = append(runs, run{"user nobody", func(ctx context.Context) *exec.Cmd {
					return exec.CommandContext(ctx, "runuser", "-u", "nobody", "--", "env",
						"MAILROOM_DEPS_FAKE_MISSING=mailroom-no-such-package", "PATH="+os.Getenv("PATH"), script)
				}})
			}
		}
	}
	for _, r := range runs {
		t.Logf("running scripts/test-deps as %s", r.name)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		c := r.cmd(ctx)
		c.Dir = os.TempDir() // not readable by nobody: the script must not need the cwd
		var out, errb strings.Builder
		c.Stdout, c.Stderr = &out, &errb
		start := time.Now()
		err := c.Run()
		cancel()
		ee, ok := err.(*exec.ExitError)
		if !ok || ee.ExitCode() != 1 {
			t.Errorf("%s: %v, want exit status 1; stderr:\n%s", r.name, err, errb.String())
			continue
		}
		if out.String() != "" {
			t.Errorf("%s: printed an environment for make: %q", r.name, out.String())
		}
		lines := strings.Split(strings.TrimRight(errb.String(), "\n"), "\n")
		if last := lines[len(lines)-1]; last != "  sudo "+script {
			t.Errorf("%s: last line %q, want the sudo line; stderr:\n%s", r.name, last, errb.String())
		}
		if !strings.Contains(errb.String(), "missing Debian packages: mailroom-no-such-package") {
			t.Errorf("%s: does not name the missing package:\n%s", r.name, errb.String())
		}
		if d := time.Since(start); d > 20*time.Second {
			t.Errorf("%s: took %v to refuse", r.name, d)
		}
	}
}
