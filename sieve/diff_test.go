package sieve

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// decision is what the differential test compares between this package
// and Pigeonhole's sieve-test: where the message goes, with which flags,
// redirects, reject, vacation, and whether the script compiled.
type decision struct {
	CompileError bool
	Stores       map[string]string // folder → sorted lower-case flags
	Redirects    []string
	Reject       bool
	Vacation     bool
}

// Documented differences (each with its RFC text), keyed "script|message".
var diffExceptions = map[string]string{
	// sieve-test prints the vacation action without executing it, so it
	// does not apply RFC 3834 §2 ("Precedence: list", List-Id) nor RFC 5230
	// §4.5 ("the user's address is not in To/Cc/Bcc"); this package
	// decides those itself and sends no reply.
	"25-vacation.sieve|list.eml":           "RFC 3834 §2 / RFC 5230 §4.5 checks done at execution by Pigeonhole",
	"39-vacation-seconds.sieve|list.eml":   "RFC 3834 §2 / RFC 5230 §4.5 checks done at execution by Pigeonhole",
	"40-vacation-addresses.sieve|list.eml": "RFC 3834 §2 / RFC 5230 §4.5 checks done at execution by Pigeonhole",
	// tricky.eml has "Auto-Submitted: auto-generated": RFC 3834 §2 "a
	// responder MUST NOT respond to any message which contains an
	// Auto-Submitted header field with any value other than 'no'".
	"25-vacation.sieve|tricky.eml":           "RFC 3834 §2 Auto-Submitted, checked at execution by Pigeonhole",
	"39-vacation-seconds.sieve|tricky.eml":   "RFC 3834 §2 Auto-Submitted, checked at execution by Pigeonhole",
	"40-vacation-addresses.sieve|tricky.eml": "RFC 3834 §2 Auto-Submitted, checked at execution by Pigeonhole",
	// "To: undisclosed-recipients:;" is an empty group: RFC 5322 §3.4
	// "group = display-name ":" [group-list] ";"", a group lists zero or
	// more mailboxes, so the address test (RFC 5228 §5.1) sees no address
	// and :count is 0; Pigeonhole counts the group itself as one address.
	"41-count-header.sieve|tricky.eml": "RFC 5322 §3.4: an empty group holds no address",
	// date :index 2 "received": RFC 5260 §6 "If :index is specified, the
	// attempts to match a value are limited to the header field identified
	// by the index"; Pigeonhole 2.3 dates the first Received field for any
	// :index.
	"67-received-index.sieve|tricky.eml": "RFC 5260 §6: :index selects the field the date test reads",
	// fileinto "${dom}" with dom empty: no mailbox can be named "" (RFC
	// 3501 §5.1 mailbox names; RFC 5228 §2.10.6: a runtime error falls back
	// to the implicit keep); sieve-test's dry run prints a store into "".
	"71-set-matches-chain.sieve|many.eml": "RFC 5228 §2.10.6: fileinto an empty mailbox name fails to the implicit keep",
	// `redirect :copy "a"; redirect "a";` Pigeonhole drops the second
	// redirect as a duplicate together with its effect on the implicit
	// keep. RFC 5228 §4.2: "The "redirect" command ... cancels the implicit
	// keep", and §2.10.3 only merges the delivery, so this package cancels
	// the implicit keep (RFC 3894 §3: only :copy keeps it).
	"05-redirect-copy.sieve|*": "RFC 5228 §4.2: a redirect without :copy cancels the implicit keep even when it duplicates an earlier one",
}

func diffException(key string) (string, bool) {
	if why, ok := diffExceptions[key]; ok {
		return why, true
	}
	script, _, _ := strings.Cut(key, "|")
	why, ok := diffExceptions[script+"|*"]
	return why, ok
}

func TestDifferentialPigeonhole(t *testing.T) {
	bin, err := exec.LookPath("sieve-test")
	if err != nil {
		if os.Getenv("MAILROOM_REQUIRE_SIEVE_TEST") != "" {
			t.Fatalf("MAILROOM_REQUIRE_SIEVE_TEST is set but sieve-test is missing (apt-get install dovecot-sieve dovecot-core): %v", err)
		}
		t.Skip("sieve-test (Debian dovecot-sieve) not installed")
	}
	scripts, _ := filepath.Glob("testdata/diff/scripts/*.sieve")
	msgs, _ := filepath.Glob("testdata/diff/messages/*.eml")
	if len(scripts) < 20 || len(msgs) < 3 {
		t.Fatalf("corpus too small: %d scripts, %d messages", len(scripts), len(msgs))
	}
	dir := t.TempDir()
	// When sieve-test runs as nobody it must reach the files.
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// Messages are written once; every script gets its own directory
	// (sieve-test may write a compiled binary beside it), and two workers
	// run sieve-test, the slow side, concurrently.
	type job struct {
		key, script, msg string
		src, raw         []byte
	}
	var jobs []job
	for i, sp := range scripts {
		src, err := os.ReadFile(sp)
		if err != nil {
			t.Fatal(err)
		}
		sdir := filepath.Join(dir, "s"+itoa(i))
		if err := os.Mkdir(sdir, 0o777); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(sdir, 0o777); err != nil {
			t.Fatal(err)
		}
		sfile := filepath.Join(sdir, "s.sieve")
		if err := os.WriteFile(sfile, src, 0o644); err != nil {
			t.Fatal(err)
		}
		for _, mp := range msgs {
			raw, err := os.ReadFile(mp)
			if err != nil {
				t.Fatal(err)
			}
			mfile := filepath.Join(dir, filepath.Base(mp))
			if err := os.WriteFile(mfile, raw, 0o644); err != nil {
				t.Fatal(err)
			}
			jobs = append(jobs, job{filepath.Base(sp) + "|" + filepath.Base(mp), sfile, mfile, src, raw})
		}
	}
	runuser := ""
	if os.Geteuid() == 0 {
		if runuser, err = exec.LookPath("runuser"); err != nil {
			t.Fatalf("running as root: sieve-test needs runuser to drop to nobody: %v", err)
		}
	}
	theirs := make([]decision, len(jobs))
	errs := make([]error, len(jobs))
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				theirs[i], errs[i] = runPigeonhole(bin, runuser, dir, jobs[i].script, jobs[i].msg)
			}
		}()
	}
	for i := range jobs {
		next <- i
	}
	close(next)
	wg.Wait()
	differences := 0
	for i, j := range jobs {
		if errs[i] != nil {
			t.Fatalf("%s: %v", j.key, errs[i])
		}
		ours := runOurs(t, j.src, string(j.raw))
		if reflect.DeepEqual(theirs[i], ours) {
			if why, ok := diffException(j.key); ok {
				t.Errorf("%s: documented difference (%s) no longer occurs; remove it", j.key, why)
			}
			continue
		}
		if _, ok := diffException(j.key); ok {
			continue
		}
		differences++
		t.Errorf("%s:\n pigeonhole %+v\n mailroom   %+v", j.key, theirs[i], ours)
	}
	if differences > 0 {
		t.Errorf("%d undocumented differences", differences)
	}
}

// runPigeonhole runs sieve-test; runuser, when set, runs it as nobody
// (sieve-test refuses root without a mail_uid, like a delivery agent it
// runs unprivileged).
func runPigeonhole(bin, runuser, dir, script, msg string) (decision, error) {
	// A hang guard: a run killed by it leaves output that does not parse
	// and fails the test, so it must outlast a sieve-test slowed down by
	// a loaded machine.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	args := []string{"-x", "+editheader +vacation-seconds", "-f", "sender@example.org", "-a", "me@example.com", "-r", "me@example.com", script, msg}
	cmd := exec.CommandContext(ctx, bin, args...)
	if runuser != "" {
		cmd = exec.CommandContext(ctx, runuser, append([]string{"-u", "nobody", "--", bin}, args...)...)
	}
	cmd.Env = []string{"TZ=UTC", "HOME=" + dir, "PATH=/usr/bin:/bin"}
	out, _ := cmd.CombinedOutput()
	return parsePigeonhole(string(out))
}

func parsePigeonhole(out string) (decision, error) {
	d := decision{Stores: map[string]string{}}
	switch {
	case strings.Contains(out, "failed to compile sieve script"):
		if !strings.Contains(out, "validation failed") && !strings.Contains(out, "parse failed") {
			return d, fmt.Errorf("sieve-test could not run:\n%s", out)
		}
		return decision{CompileError: true}, nil
	case strings.Contains(out, "resolved with successful implicit keep"):
		d.Stores["INBOX"] = ""
		return d, nil
	case !strings.Contains(out, "final result: success"):
		return d, fmt.Errorf("unexpected sieve-test output:\n%s", out)
	}
	last := ""
	for _, line := range strings.Split(out, "\n") {
		trim := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(trim, "* store message in folder: "):
			last = strings.TrimPrefix(trim, "* store message in folder: ")
			if _, ok := d.Stores[last]; !ok {
				d.Stores[last] = ""
			}
		case strings.HasPrefix(trim, "+ add IMAP flags: ") && last != "":
			d.Stores[last] = normFlags(strings.Fields(strings.TrimPrefix(trim, "+ add IMAP flags: ")))
		case strings.HasPrefix(trim, "* redirect message to: "):
			d.Redirects = append(d.Redirects, strings.Trim(strings.TrimPrefix(trim, "* redirect message to: "), "<>"))
			last = ""
		case strings.HasPrefix(trim, "* reject message"):
			d.Reject = true
			last = ""
		case strings.HasPrefix(trim, "* send vacation message"):
			d.Vacation = true
			last = ""
		case strings.HasPrefix(trim, "* "):
			last = ""
		}
	}
	sort.Strings(d.Redirects)
	return d, nil
}

func runOurs(t *testing.T, src []byte, raw string) decision {
	t.Helper()
	s, err := Compile(src, Limits{})
	if err != nil {
		return decision{CompileError: true}
	}
	env := testEnv()
	env.Envelope = Envelope{From: "sender@example.org", To: "me@example.com", OrigTo: "me@example.com"}
	env.Now = func() time.Time { return testNow }
	res, _ := s.Evaluate(context.Background(), rawMessage{newTestMessage(t, raw)}, env)
	d := decision{Stores: map[string]string{}}
	for _, a := range res.Actions {
		switch x := a.(type) {
		case Keep:
			d.Stores["INBOX"] = normFlags(x.Flags)
		case FileInto:
			d.Stores[x.Mailbox] = normFlags(x.Flags)
		case Redirect:
			d.Redirects = append(d.Redirects, x.Address)
		case Reject:
			d.Reject = true
		case Vacation:
			d.Vacation = true
		}
	}
	sort.Strings(d.Redirects)
	return d
}

func normFlags(f []string) string {
	out := make([]string, len(f))
	for i, s := range f {
		out[i] = strings.ToLower(s)
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}
