package main

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/html"
)

// formToken reads the csrf input of the page at u.
func formToken(t *testing.T, c *http.Client, u string) string {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	doc, err := html.Parse(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var tok string
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == "input" {
			var name, val string
			for _, a := range n.Attr {
				switch a.Key {
				case "name":
					name = a.Val
				case "value":
					val = a.Val
				}
			}
			if name == "csrf" && tok == "" {
				tok = val
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	if tok == "" {
		t.Fatalf("no csrf token on %s", u)
	}
	return tok
}

// TestServeWebAdmin: serve mounts the admin pages on its HTTP listener
// with the config file's admins, and signs in through the store's
// accounts (without a browser; TestBrowserAdmin drives one).
func TestServeWebAdmin(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, u := range []string{"boss@example.test", "worker@example.test"} {
		if _, err := runCLI(t, dir, "pw-"+u+"\n", "user", "add", u, "--password-stdin", "--data", "d"); err != nil {
			t.Fatal(err)
		}
	}
	cfg := `data = "d"
smtp = ""
submission = ""
pop3 = ""
imap = "127.0.0.1:0"
smtps = ""
pop3s = ""
imaps = ""
admins = ["BOSS@example.test"]
`
	if err := os.WriteFile(filepath.Join(dir, "m.toml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startServe(t, dir, "--config", "m.toml", "--https", "")
	base := "http://" + p.addr(t, "http")
	signIn := func(prefix, user string) (*http.Client, *http.Response) {
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar, Timeout: 20 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		tok := formToken(t, c, base+prefix+"login")
		resp, err := c.PostForm(base+prefix+"login", url.Values{"csrf": {tok}, "email": {user}, "password": {"pw-" + user}})
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return c, resp
	}
	c, resp := signIn("/admin/", "boss@example.test")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin/" {
		t.Fatalf("admin sign-in: %d %q\n%s", resp.StatusCode, resp.Header.Get("Location"), p.log())
	}
	dash, err := c.Get(base + "/admin/")
	if err != nil {
		t.Fatal(err)
	}
	dash.Body.Close()
	if dash.StatusCode != 200 {
		t.Fatalf("dashboard: %d", dash.StatusCode)
	}
	if _, resp := signIn("/admin/", "worker@example.test"); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("non-admin sign-in to /admin/: %d", resp.StatusCode)
	}
	if _, resp := signIn("/account/", "worker@example.test"); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/account/" {
		t.Fatalf("account sign-in: %d", resp.StatusCode)
	}
	if !strings.Contains(p.log(), `msg="webadmin: signed in" component=webadmin area=admin user=boss@example.test`) {
		t.Errorf("no sign-in log line:\n%s", p.log())
	}

	// The domains page shows [aliases] as reloaded, not as at start.
	aliasesPage := func() string {
		resp, err := c.Get(base + "/admin/domains")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	if strings.Contains(aliasesPage(), "sales@example.test") {
		t.Fatal("alias shown before it was configured")
	}
	if err := os.WriteFile(filepath.Join(dir, "m.toml"), []byte(cfg+"\n[aliases]\n\"sales@example.test\" = [\"boss@example.test\"]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(p.log(), `msg="config reloaded"`) {
		if time.Now().After(deadline) {
			t.Fatalf("no reload:\n%s", p.log())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if page := aliasesPage(); !strings.Contains(page, "sales@example.test") {
		t.Errorf("reloaded [aliases] entry not on the domains page:\n%s", page)
	}
}
