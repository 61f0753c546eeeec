package webadmin_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/mailroom/mailroom/auth"
	"github.com/mailroom/mailroom/internal/authtest"
	"github.com/mailroom/mailroom/store/sqlite"
	"github.com/mailroom/mailroom/webadmin"
)

var quietLog = slog.New(slog.NewTextHandler(io.Discard, nil))

type kicks struct{ n int }

func (k *kicks) Kick() { k.n++ }

// env is one webadmin on a real SQLite store behind a real HTTP server
// on 127.0.0.1:0.
type env struct {
	t     *testing.T
	st    *sqlite.Store
	srv   *httptest.Server
	h     http.Handler
	kicks *kicks
}

const (
	adminEmail = "admin@example.org"
	adminPW    = "admin-secret"
	userEmail  = "user@example.org"
	userPW     = "user-secret"
)

func newEnv(t *testing.T, mod func(*webadmin.Config)) *env {
	t.Helper()
	st, err := sqlite.OpenWith(t.Context(), filepath.Join(t.TempDir(), "mail.db"), nil, sqlite.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	for _, a := range [][2]string{{adminEmail, adminPW}, {userEmail, userPW}} {
		h := authtest.Credentials(a[1])
		if _, err := st.CreateAccount(t.Context(), a[0], h); err != nil {
			t.Fatal(err)
		}
	}
	k := &kicks{}
	cfg := webadmin.Config{
		Store:         st,
		Auth:          auth.NewAuthenticator(st, quietLog, nil),
		Admins:        []string{adminEmail},
		ConfigAliases: func() map[string][]string { return map[string][]string{"team@example.org": {"user@example.org"}} },
		Queue:         k,
		Counters:      func() map[string]uint64 { return map[string]uint64{"auth_failed": 3, "imap_active": 1} },
		Certificates: func() []webadmin.Certificate {
			return []webadmin.Certificate{{Name: "mx.example.org", NotAfter: time.Now().Add(10 * 24 * time.Hour)}}
		},
		Logger: quietLog,
	}
	if mod != nil {
		mod(&cfg)
	}
	s, err := webadmin.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return &env{t: t, st: st, srv: srv, h: s, kicks: k}
}

// client is a browser: a cookie jar, no redirects followed
// automatically unless asked.
type client struct {
	e   *env
	hc  *http.Client
	jar *cookiejar.Jar
}

func (e *env) client() *client {
	jar, _ := cookiejar.New(nil)
	return &client{e: e, jar: jar, hc: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type resp struct {
	status int
	header http.Header
	body   string
	doc    *html.Node
}

func (c *client) do(req *http.Request) resp {
	c.e.t.Helper()
	res, err := c.hc.Do(req)
	if err != nil {
		c.e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	r := resp{status: res.StatusCode, header: res.Header, body: string(b)}
	if strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		doc, err := html.Parse(strings.NewReader(r.body))
		if err != nil {
			c.e.t.Fatalf("%s %s: unparsable HTML: %v", req.Method, req.URL, err)
		}
		r.doc = doc
	}
	return r
}

func (c *client) get(path string) resp {
	c.e.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, c.e.srv.URL+path, nil)
	return c.do(req)
}

func (c *client) method(m, path string) resp {
	c.e.t.Helper()
	req, _ := http.NewRequest(m, c.e.srv.URL+path, nil)
	return c.do(req)
}

func (c *client) post(path string, form url.Values) resp {
	c.e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, c.e.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.do(req)
}

// follow GETs the Location of a redirect.
func (c *client) follow(r resp) resp {
	c.e.t.Helper()
	if r.status != http.StatusSeeOther {
		c.e.t.Fatalf("status %d, want 303; body %q", r.status, r.body)
	}
	return c.get(r.header.Get("Location"))
}

// login signs in to area ("/admin/" or "/account/") and returns the
// page it lands on.
func (c *client) login(prefix, email, pw string) resp {
	c.e.t.Helper()
	p := c.get(prefix + "login")
	tok := inputValue(p.doc, "login", "csrf")
	if tok == "" {
		c.e.t.Fatalf("sign-in page has no csrf token: %s", p.body)
	}
	return c.post(prefix+"login", url.Values{"csrf": {tok}, "email": {email}, "password": {pw}})
}

func (c *client) mustLogin(prefix, email, pw string) resp {
	c.e.t.Helper()
	r := c.login(prefix, email, pw)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != prefix {
		c.e.t.Fatalf("sign-in to %s as %s: status %d, Location %q, body %q", prefix, email, r.status, r.header.Get("Location"), r.body)
	}
	return c.follow(r)
}

// HTML helpers: the tests read the pages as documents, not strings.

func walk(n *html.Node, fn func(*html.Node) bool) *html.Node {
	if n == nil {
		return nil
	}
	if fn(n) {
		return n
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if m := walk(c, fn); m != nil {
			return m
		}
	}
	return nil
}

func all(n *html.Node, fn func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	walk(n, func(x *html.Node) bool {
		if fn(x) {
			out = append(out, x)
		}
		return false
	})
	return out
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func byID(doc *html.Node, id string) *html.Node {
	return walk(doc, func(n *html.Node) bool { return n.Type == html.ElementNode && attr(n, "id") == id })
}

func text(n *html.Node) string {
	if n == nil {
		return ""
	}
	var b strings.Builder
	walk(n, func(x *html.Node) bool {
		if x.Type == html.TextNode {
			b.WriteString(x.Data)
		}
		return false
	})
	return strings.Join(strings.Fields(b.String()), " ")
}

// inputValue is the value of input name in the form with id formID (""
// for the first form that has one).
func inputValue(doc *html.Node, formID, name string) string {
	forms := all(doc, func(n *html.Node) bool { return n.Type == html.ElementNode && n.Data == "form" })
	for _, f := range forms {
		if formID != "" && attr(f, "id") != formID {
			continue
		}
		in := walk(f, func(n *html.Node) bool {
			return n.Type == html.ElementNode && n.Data == "input" && attr(n, "name") == name
		})
		if in != nil {
			return attr(in, "value")
		}
	}
	return ""
}

// csrf is the session's token, from any form of a signed-in page.
func csrf(t *testing.T, r resp) string {
	t.Helper()
	tok := inputValue(r.doc, "", "csrf")
	if tok == "" {
		t.Fatalf("page has no csrf token: %s", r.body)
	}
	return tok
}

// flash is the one-time message of a page and whether it is a success.
func flash(r resp) (string, bool) {
	n := byID(r.doc, "flash")
	if n == nil {
		return "", false
	}
	return text(n), strings.Contains(attr(n, "class"), "ok")
}

// rows returns the data-KEY values of the rows of the table with id.
func rows(r resp, tableID, key string) []string {
	tbl := byID(r.doc, tableID)
	var out []string
	for _, tr := range all(tbl, func(n *html.Node) bool {
		return n.Type == html.ElementNode && n.Data == "tr" && attr(n, "data-"+key) != ""
	}) {
		out = append(out, attr(tr, "data-"+key))
	}
	return out
}

func row(r resp, tableID, key, value string) *html.Node {
	tbl := byID(r.doc, tableID)
	return walk(tbl, func(n *html.Node) bool {
		return n.Type == html.ElementNode && n.Data == "tr" && attr(n, "data-"+key) == value
	})
}

func isTag(tag string) func(*html.Node) bool {
	return func(n *html.Node) bool { return n.Type == html.ElementNode && n.Data == tag }
}

// httptestTLS serves e's handler over TLS on 127.0.0.1:0.
func httptestTLS(t *testing.T, e *env) *httptest.Server {
	srv := httptest.NewTLSServer(e.h)
	t.Cleanup(srv.Close)
	return srv
}
