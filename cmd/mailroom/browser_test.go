package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// envRequireChromium makes the browser tests fail instead of skipping
// when no Chromium is installed (scripts/test-deps installs it and
// prints the export for make test).
const envRequireChromium = "MAILROOM_REQUIRE_CHROMIUM"

// chromiumPath finds Debian's chromium; without one the test skips,
// unless MAILROOM_REQUIRE_CHROMIUM is set.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv(envRequireChromium) != "" {
		t.Fatalf("%s is set but no chromium is installed (scripts/test-deps installs it)", envRequireChromium)
	}
	t.Skipf("chromium not installed (set %s=1 to require it; scripts/test-deps installs it)", envRequireChromium)
	return ""
}

// browser starts headless Chromium for t, bounded by timeout; on failure
// the current page is saved as a PNG in $MAILROOM_TEST_ARTIFACTS (else
// the test's temporary directory) and its path logged.
func browser(t *testing.T, timeout time.Duration) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true), // tests run as root in CI
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	tab, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(tab, timeout)
	t.Cleanup(func() {
		if t.Failed() {
			ctx := tab // the test's deadline may have passed
			lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			url, _ := chromedp.Run(lctx, chromedp.Location())
			body, _ := chromedp.Run(lctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
			cancel()
			t.Logf("browser at %s showing %q", url, body)
			dir := os.Getenv("MAILROOM_TEST_ARTIFACTS")
			if dir == "" {
				dir = t.TempDir()
			}
			sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			if png, err := chromedp.Run(sctx, chromedp.FullScreenshot(100)); err == nil {
				name := filepath.Join(dir, strings.ReplaceAll(t.Name(), "/", "_")+".png")
				if err := os.WriteFile(name, png, 0o644); err == nil {
					t.Logf("screenshot of the failing page: %s", name)
				}
			}
			cancel()
		}
		cancelTimeout()
		cancelCtx()
		cancelAlloc()
	})
	// Start the browser on the tab's own context: chromedp ties the tab's
	// life to the context of the first action.
	if err := chromedp.Do(tab); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// flashText waits for the page's one-time message and returns it with
// its class (ok or error).
func flashText(t *testing.T, ctx context.Context) (string, string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("#flash"))); err != nil {
		t.Fatalf("no flash message: %v", err)
	}
	msg := textOf(t, ctx, "#flash")
	class, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS("#flash"), "class"))
	if err != nil {
		t.Fatalf("flash class: %v", err)
	}
	return msg, class.Value
}

// textOf is the visible text of the first element sel matches.
func textOf(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	txt, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return strings.TrimSpace(txt)
}

// do runs steps in the browser; what names the step for the failure.
func do(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func mustFlash(t *testing.T, ctx context.Context, want string) {
	t.Helper()
	if msg, class := flashText(t, ctx); msg != want || class != "ok" {
		t.Fatalf("flash %q (%s), want %q (ok)", msg, class, want)
	}
}

var queueAttemptsRE = regexp.MustCompile(`far@remote\.test: pending, next [^,]+, (\d+) attempts`)

// TestBrowserAdmin drives the admin pages of a real `mailroom serve` in
// headless Chromium: sign in, create an account, add an alias, send a
// message to the alias over SMTP and see it delivered (POP3 and the
// accounts page), reset the password and log in over IMAP with it,
// retry a queued message and see another attempt, and a form without
// its CSRF token refused.
func TestBrowserAdmin(t *testing.T) {
	t.Parallel()
	chromiumPath(t)
	mailroomBinary(t) // built before runCLI's clock starts
	dir := t.TempDir()
	if _, err := runCLI(t, dir, "admin-pw\n", "user", "add", "admin@example.test", "--password-stdin", "--data", "d"); err != nil {
		t.Fatal(err)
	}
	cfg := `data = "d"
hostname = "mx.example.test"
smtp = "127.0.0.1:0"
submission = ""
pop3 = "127.0.0.1:0"
imap = "127.0.0.1:0"
smtps = ""
pop3s = ""
imaps = ""
http = "127.0.0.1:0"
https = ""
relay_host = "127.0.0.1:1"
admins = ["admin@example.test"]
`
	if err := os.WriteFile(filepath.Join(dir, "m.toml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startServe(t, dir, "--config", "m.toml", "--http", "127.0.0.1:0")
	base := "http://" + p.addr(t, "http")
	ctx := browser(t, 60*time.Second)

	// Sign in.
	do(t, ctx, "sign in",
		chromedp.Navigate(base+"/admin/"),
		chromedp.WaitVisible(chromedp.CSS("#login")),
		chromedp.SendKeys(chromedp.CSS("#email"), "admin@example.test"),
		chromedp.SendKeys(chromedp.CSS("#password"), "admin-pw"),
		chromedp.Click(chromedp.CSS("#signin")),
		chromedp.WaitVisible(chromedp.CSS("#n-accounts")),
	)
	if user := textOf(t, ctx, "#user"); user != "admin@example.test" {
		t.Fatalf("signed in as %q", user)
	}

	// Create an account.
	do(t, ctx, "add account",
		chromedp.Navigate(base+"/admin/accounts"),
		chromedp.SendKeys(chromedp.CSS(`#add-account input[name=email]`), "carol@example.test"),
		chromedp.SendKeys(chromedp.CSS(`#add-account input[name=password]`), "carol-pw-1"),
		chromedp.Submit(chromedp.CSS(`#add-account`)),
	)
	mustFlash(t, ctx, "Added carol@example.test.")

	// Add an alias to it, and one that forwards to a remote address.
	for _, a := range [][2]string{{"sales@example.test", "carol@example.test"}, {"fwd@example.test", "far@remote.test"}} {
		do(t, ctx, "add alias "+a[0],
			chromedp.Navigate(base+"/admin/domains"),
			chromedp.SendKeys(chromedp.CSS(`#add-alias input[name=address]`), a[0]),
			chromedp.SendKeys(chromedp.CSS(`#add-alias input[name=targets]`), a[1]),
			chromedp.Submit(chromedp.CSS(`#add-alias`)),
		)
		mustFlash(t, ctx, "Added alias "+a[0]+".")
	}

	// Mail to the alias is delivered to the new account at once.
	msg := []byte("From: x@sender.test\r\nTo: sales@example.test\r\nSubject: via alias\r\n\r\nhello\r\n")
	if err := sendMailNoTLS(p.addr(t, "smtp"), "x@sender.test", []string{"sales@example.test"}, msg); err != nil {
		t.Fatalf("send to the alias: %v", err)
	}
	if st := pop3Login(t, p.addr(t, "pop3"), "carol@example.test", "carol-pw-1"); !strings.HasPrefix(st, "+OK 1 ") {
		t.Fatalf("carol STAT = %q, want one message", st)
	}
	do(t, ctx, "accounts page", chromedp.Navigate(base+"/admin/accounts"))
	if usage := textOf(t, ctx, `tr[data-email="carol@example.test"] td:nth-child(3)`); !strings.HasSuffix(usage, ", 1 messages") {
		t.Fatalf("carol's usage on the accounts page: %q", usage)
	}

	// Reset the password; IMAP takes the new one.
	do(t, ctx, "reset password",
		chromedp.SendKeys(chromedp.CSS(`tr[data-email="carol@example.test"] input[name=password]`), "carol-pw-2"),
		chromedp.Submit(chromedp.CSS(`tr[data-email="carol@example.test"] input[name=password]`)),
	)
	mustFlash(t, ctx, "Password changed for carol@example.test.")
	imapSession(t, p.addr(t, "imap"), "carol@example.test", "carol-pw-2")

	// Mail to the forwarding alias is queued for far@remote.test; the
	// relay is down, so it waits after its first attempt. Retry it from
	// the queue page: a second attempt follows at once.
	msg = []byte("From: x@sender.test\r\nTo: fwd@example.test\r\nSubject: forward\r\n\r\nhello\r\n")
	if err := sendMailNoTLS(p.addr(t, "smtp"), "x@sender.test", []string{"fwd@example.test"}, msg); err != nil {
		t.Fatalf("send to the forwarding alias: %v", err)
	}
	attempts := func() int {
		do(t, ctx, "queue page", chromedp.Navigate(base+"/admin/queue"), chromedp.WaitVisible(chromedp.CSS("#queue")))
		txt := textOf(t, ctx, "#queue")
		m := queueAttemptsRE.FindStringSubmatch(txt)
		if m == nil {
			t.Fatalf("queue page has no pending far@remote.test: %q", txt)
		}
		n, _ := strconv.Atoi(m[1])
		return n
	}
	waitAttempts := func(min int) int {
		deadline := time.Now().Add(15 * time.Second)
		for {
			n := attempts()
			if n >= min || time.Now().After(deadline) {
				return n
			}
			time.Sleep(300 * time.Millisecond)
		}
	}
	first := waitAttempts(1)
	if first < 1 {
		t.Fatalf("queued item never attempted")
	}
	do(t, ctx, "retry", chromedp.Click(chromedp.CSS(`#queue button[type=submit]`)))
	if msg, class := flashText(t, ctx); class != "ok" || !strings.HasSuffix(msg, "is due now.") {
		t.Fatalf("retry flash %q (%s)", msg, class)
	}
	if n := waitAttempts(first + 1); n <= first {
		t.Fatalf("attempts after retry: %d, want more than %d", n, first)
	}

	// A form whose CSRF token was taken out is refused and changes nothing.
	do(t, ctx, "domains page", chromedp.Navigate(base+"/admin/domains"))
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector('#add-domain input[name=csrf]').remove(), true`)); err != nil {
		t.Fatalf("remove the token: %v", err)
	}
	do(t, ctx, "forged form",
		chromedp.SendKeys(chromedp.CSS(`#add-domain input[name=domain]`), "forged.example"),
		chromedp.Submit(chromedp.CSS(`#add-domain`)),
		chromedp.WaitNotPresent(chromedp.CSS(`#add-domain`)),
	)
	if body := textOf(t, ctx, "body"); body != "invalid or missing form token" {
		t.Fatalf("forged form answered %q", body)
	}
	out, err := runCLI(t, dir, "", "domain", "list", "--config", "m.toml")
	if err != nil || out != "" {
		t.Fatalf("domains after the forged form: %q, %v", out, err)
	}
}
