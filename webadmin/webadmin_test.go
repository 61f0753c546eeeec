package webadmin_test

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mailroom/mailroom/auth"
	"github.com/mailroom/mailroom/store"
	"github.com/mailroom/mailroom/webadmin"
)

func TestSignIn(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)

	// Pages without a session go to the sign-in page.
	c := e.client()
	for _, p := range []string{"/admin/", "/admin/accounts", "/admin/domains", "/admin/queue", "/admin/queue/1", "/account/"} {
		r := c.get(p)
		want := "/admin/login"
		if strings.HasPrefix(p, "/account/") {
			want = "/account/login"
		}
		if r.status != http.StatusSeeOther || r.header.Get("Location") != want {
			t.Errorf("GET %s without a session: %d %q, want 303 to %s", p, r.status, r.header.Get("Location"), want)
		}
	}

	// Wrong password: 401 and the form again.
	r := c.login("/admin/", adminEmail, "wrong")
	if r.status != http.StatusUnauthorized || byID(r.doc, "login") == nil {
		t.Fatalf("wrong password: %d", r.status)
	}
	if msg, ok := flash(r); ok || msg != "Wrong address or password." {
		t.Fatalf("wrong password message %q ok=%v", msg, ok)
	}
	// A correct password of an account that is no admin: 403.
	r = c.login("/admin/", userEmail, userPW)
	if msg, _ := flash(r); r.status != http.StatusForbidden || msg != "This account is not an administrator." {
		t.Fatalf("non-admin: %d %q", r.status, msg)
	}
	// The admin signs in; the cookie is HttpOnly, SameSite=Strict and
	// scoped to /admin/ (Secure only over HTTPS: see TestSecureCookie).
	r = c.login("/admin/", adminEmail, adminPW)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/admin/" {
		t.Fatalf("admin sign-in: %d %q", r.status, r.header.Get("Location"))
	}
	var sess *http.Cookie
	for _, ck := range r.header.Values("Set-Cookie") {
		parsed, err := http.ParseSetCookie(ck)
		if err != nil {
			t.Fatal(err)
		}
		if parsed.Name == "mailroom_admin" {
			sess = parsed
		}
	}
	if sess == nil || !sess.HttpOnly || sess.SameSite != http.SameSiteStrictMode || sess.Path != "/admin/" || sess.Secure || len(sess.Value) < 40 {
		t.Fatalf("session cookie %+v", sess)
	}
	dash := c.follow(r)
	if dash.status != 200 || text(byID(dash.doc, "user")) != adminEmail {
		t.Fatalf("dashboard: %d user %q", dash.status, text(byID(dash.doc, "user")))
	}
	// The admin session does not open /account/.
	if r := c.get("/account/"); r.status != http.StatusSeeOther {
		t.Fatalf("/account/ with an admin cookie: %d", r.status)
	}
	// Sign out ends the session server-side: the old cookie is dead.
	old := &http.Cookie{Name: "mailroom_admin", Value: sess.Value}
	r = c.post("/admin/logout", url.Values{"csrf": {csrf(t, dash)}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/admin/login" {
		t.Fatalf("logout: %d", r.status)
	}
	c2 := e.client()
	u, _ := url.Parse(e.srv.URL + "/admin/")
	c2.jar.SetCookies(u, []*http.Cookie{old})
	if r := c2.get("/admin/"); r.status != http.StatusSeeOther {
		t.Fatalf("a signed-out session's cookie still works: %d", r.status)
	}
}

// The sign-in form is protected too: without the pre-session cookie's
// token the credentials are not even checked.
func TestSignInCSRF(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	c := e.client()
	for name, form := range map[string]url.Values{
		"no token":    {"email": {adminEmail}, "password": {adminPW}},
		"wrong token": {"csrf": {"AAAA"}, "email": {adminEmail}, "password": {adminPW}},
	} {
		c.get("/admin/login")
		if r := c.post("/admin/login", form); r.status != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", name, r.status)
		}
	}
	// Another site's form: refused by Origin before anything else.
	p := c.get("/admin/login")
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/admin/login", strings.NewReader(url.Values{"csrf": {inputValue(p.doc, "login", "csrf")}, "email": {adminEmail}, "password": {adminPW}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "http://evil.example")
	if r := c.do(req); r.status != http.StatusForbidden {
		t.Fatalf("cross-origin sign-in: %d, want 403", r.status)
	}
}

// Every change needs the session's CSRF token: none, a wrong one, or
// another session's is 403 and changes nothing.
func TestCSRF(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	c := e.client()
	dash := c.mustLogin("/admin/", adminEmail, adminPW)
	other := e.client()
	otherTok := csrf(t, other.mustLogin("/admin/", adminEmail, adminPW))
	if otherTok == csrf(t, dash) {
		t.Fatal("two sessions share a csrf token")
	}
	posts := map[string]url.Values{
		"/admin/accounts/add":      {"email": {"new@example.org"}, "password": {"pw"}},
		"/admin/accounts/password": {"email": {userEmail}, "password": {"pw"}},
		"/admin/accounts/delete":   {"email": {userEmail}},
		"/admin/domains/add":       {"domain": {"new.example"}},
		"/admin/aliases/add":       {"address": {"x@example.org"}, "targets": {userEmail}},
		"/admin/queue/retry":       {"id": {"1"}},
		"/admin/queue/delete":      {"id": {"1"}},
		"/admin/logout":            {},
	}
	for path, form := range posts {
		for _, tok := range []string{"", "wrong", otherTok} {
			f := url.Values{}
			for k, v := range form {
				f[k] = v
			}
			if tok != "" {
				f.Set("csrf", tok)
			}
			if r := c.post(path, f); r.status != http.StatusForbidden {
				t.Errorf("POST %s with token %q: %d, want 403", path, tok, r.status)
			}
		}
	}
	if _, err := e.st.AccountByEmail(t.Context(), "new@example.org"); err == nil {
		t.Fatal("an account was added without a valid token")
	}
	if _, err := e.st.AccountByEmail(t.Context(), userEmail); err != nil {
		t.Fatal("an account was deleted without a valid token")
	}
	if d, _ := e.st.Domains(t.Context()); len(d) != 0 {
		t.Fatalf("domains added without a valid token: %v", d)
	}
	// The session still works after all that.
	if r := c.get("/admin/"); r.status != 200 {
		t.Fatalf("dashboard after refused posts: %d", r.status)
	}
	// A POST without a session is 403 too, not a redirect.
	if r := e.client().post("/admin/domains/add", url.Values{"domain": {"x.example"}}); r.status != http.StatusForbidden {
		t.Fatalf("POST without a session: %d", r.status)
	}
}

func TestAccounts(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *webadmin.Config) {
		c.Quota = quotaOf{userEmail: 1000}
	})
	c := e.client()
	c.mustLogin("/admin/", adminEmail, adminPW)
	acct, _ := e.st.AccountByEmail(t.Context(), userEmail)
	inbox, _ := e.st.MailboxByName(t.Context(), acct.ID, store.Inbox)
	raw := []byte("Subject: x\r\n\r\n" + strings.Repeat("y", 500) + "\r\n")
	if _, _, err := e.st.Append(t.Context(), inbox.Ref(), []store.NewMessage{{Raw: raw}}); err != nil {
		t.Fatal(err)
	}

	p := c.get("/admin/accounts")
	if got := rows(p, "accounts", "email"); !slices.Equal(got, []string{adminEmail, userEmail}) {
		t.Fatalf("accounts listed: %v", got)
	}
	cells := all(row(p, "accounts", "email", userEmail), isTag("td"))
	if len(cells) < 4 || text(cells[2]) != "516 B, 1 messages" || text(cells[3]) != "1000 B (51%)" {
		t.Fatalf("usage cells %q / %q", text(cells[2]), text(cells[3]))
	}
	tok := csrf(t, p)

	// Add: bad address, empty password, success, duplicate.
	for _, c2 := range []struct {
		form   url.Values
		ok     bool
		prefix string
	}{
		{url.Values{"email": {"not an address"}, "password": {"pw"}}, false, "Invalid: "},
		{url.Values{"email": {"new@example.org"}, "password": {""}}, false, "The password must not be empty."},
		{url.Values{"email": {"New@Example.org"}, "password": {"new-pw"}}, true, "Added new@example.org."},
		{url.Values{"email": {"new@example.org"}, "password": {"x"}}, false, "Already exists: "},
	} {
		c2.form.Set("csrf", tok)
		r := c.follow(c.post("/admin/accounts/add", c2.form))
		msg, ok := flash(r)
		if ok != c2.ok || !strings.HasPrefix(msg, c2.prefix) {
			t.Errorf("add %v: flash %q ok=%v, want prefix %q ok=%v", c2.form.Get("email"), msg, ok, c2.prefix, c2.ok)
		}
	}
	if _, err := auth.NewAuthenticator(e.st, quietLog, nil).Authenticate(t.Context(), "new@example.org", "new-pw", nil); err != nil {
		t.Fatalf("the added account cannot log in: %v", err)
	}

	// Reset a password: the new one works, the old one does not.
	r := c.follow(c.post("/admin/accounts/password", url.Values{"csrf": {tok}, "email": {userEmail}, "password": {"reset-pw"}}))
	if msg, ok := flash(r); !ok || msg != "Password changed for "+userEmail+"." {
		t.Fatalf("reset: %q", msg)
	}
	a := auth.NewAuthenticator(e.st, quietLog, nil)
	if _, err := a.Authenticate(t.Context(), userEmail, "reset-pw", nil); err != nil {
		t.Fatalf("new password: %v", err)
	}
	if _, err := a.Authenticate(t.Context(), userEmail, userPW, nil); err == nil {
		t.Fatal("old password still works")
	}
	r = c.follow(c.post("/admin/accounts/password", url.Values{"csrf": {tok}, "email": {"nobody@example.org"}, "password": {"x"}}))
	if msg, ok := flash(r); ok || !strings.HasPrefix(msg, "Not found: ") {
		t.Fatalf("reset of an unknown account: %q", msg)
	}

	// Delete: not oneself; another account goes, with its sessions.
	r = c.follow(c.post("/admin/accounts/delete", url.Values{"csrf": {tok}, "email": {adminEmail}}))
	if msg, ok := flash(r); ok || msg != "You cannot delete the account you are signed in with." {
		t.Fatalf("self-delete: %q", msg)
	}
	u := e.client()
	u.mustLogin("/account/", "new@example.org", "new-pw")
	r = c.follow(c.post("/admin/accounts/delete", url.Values{"csrf": {tok}, "email": {"new@example.org"}}))
	if msg, ok := flash(r); !ok || msg != "Deleted new@example.org." {
		t.Fatalf("delete: %q", msg)
	}
	if got := rows(r, "accounts", "email"); !slices.Equal(got, []string{adminEmail, userEmail}) {
		t.Fatalf("accounts after delete: %v", got)
	}
	if r := u.get("/account/"); r.status != http.StatusSeeOther {
		t.Fatalf("a deleted account's session still works: %d", r.status)
	}
}

type quotaOf map[string]int64

func (q quotaOf) Limits(email string) (int64, int64) { return q[email], 0 }

func TestDomainsAndAliases(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	c := e.client()
	p := c.mustLogin("/admin/", adminEmail, adminPW)
	tok := csrf(t, p)
	post := func(path string, form url.Values) (resp, string, bool) {
		t.Helper()
		form.Set("csrf", tok)
		r := c.follow(c.post(path, form))
		msg, ok := flash(r)
		return r, msg, ok
	}
	r, msg, ok := post("/admin/domains/add", url.Values{"domain": {"New.Example"}})
	if !ok || msg != "Added domain new.example." || !slices.Equal(rows(r, "domains", "domain"), []string{"new.example"}) {
		t.Fatalf("add domain: %q %v", msg, rows(r, "domains", "domain"))
	}
	for _, bad := range []string{"../../etc/passwd", "<script>alert(1)</script>", "", strings.Repeat("a", 300)} {
		if _, msg, ok := post("/admin/domains/add", url.Values{"domain": {bad}}); ok || !strings.HasPrefix(msg, "Invalid: ") {
			t.Errorf("add domain %q: %q ok=%v", bad, msg, ok)
		}
	}
	if _, msg, ok := post("/admin/domains/add", url.Values{"domain": {"new.example"}}); ok || !strings.HasPrefix(msg, "Already exists: ") {
		t.Fatalf("add twice: %q", msg)
	}

	r, msg, ok = post("/admin/aliases/add", url.Values{"address": {"Sales@new.example"}, "targets": {"user@example.org, far@remote.test\nadmin@example.org"}})
	if !ok || msg != "Added alias sales@new.example." {
		t.Fatalf("add alias: %q", msg)
	}
	targets, err := e.st.AliasTargets(t.Context(), "sales@new.example")
	if err != nil || !slices.Equal(targets, []string{"user@example.org", "far@remote.test", "admin@example.org"}) {
		t.Fatalf("stored targets %v, %v", targets, err)
	}
	// The config file's alias is listed read-only, sorted in.
	if got := rows(r, "aliases", "alias"); !slices.Equal(got, []string{"sales@new.example", "team@example.org"}) {
		t.Fatalf("aliases listed: %v", got)
	}
	if f := walk(row(r, "aliases", "alias", "team@example.org"), isTag("form")); f != nil {
		t.Fatal("the config file's alias has a delete form")
	}
	// A store alias with a key [aliases] has: stored, marked overridden.
	r, msg, ok = post("/admin/aliases/add", url.Values{"address": {"team@example.org"}, "targets": {"admin@example.org"}})
	if !ok || !strings.Contains(msg, "config file's [aliases] has this address too and wins") {
		t.Fatalf("overridden alias: %q", msg)
	}
	for _, bad := range []url.Values{
		{"address": {"x@new.example"}, "targets": {""}},
		{"address": {"x@new.example"}, "targets": {"not-an-address"}},
		{"address": {"nodomain"}, "targets": {"a@b.example"}},
		{"address": {"x@new.example"}, "targets": {strings.Repeat("a@b.example ", store.MaxAliasTargets+1)}},
	} {
		if _, msg, ok := post("/admin/aliases/add", bad); ok || !strings.HasPrefix(msg, "Invalid: ") {
			t.Errorf("add alias %v: %q", bad, msg)
		}
	}
	r, msg, ok = post("/admin/aliases/delete", url.Values{"address": {"sales@new.example"}})
	if !ok || slices.Contains(rows(r, "aliases", "alias"), "sales@new.example") {
		t.Fatalf("delete alias: %q %v", msg, rows(r, "aliases", "alias"))
	}
	if _, msg, ok := post("/admin/aliases/delete", url.Values{"address": {"sales@new.example"}}); ok || !strings.HasPrefix(msg, "Not found: ") {
		t.Fatalf("delete alias twice: %q", msg)
	}
	r, msg, ok = post("/admin/domains/delete", url.Values{"domain": {"new.example"}})
	if !ok || len(rows(r, "domains", "domain")) != 0 {
		t.Fatalf("delete domain: %q", msg)
	}
	// Input is escaped, never markup: the flash of a bad domain holds
	// the text, and the page has no script element.
	r, msg, _ = post("/admin/domains/add", url.Values{"domain": {"<script>x</script>"}})
	if !strings.Contains(msg, "<script>x</script>") || walk(r.doc, isTag("script")) != nil {
		t.Fatalf("markup in input: flash %q", msg)
	}
}

func TestQueue(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	later := time.Now().Add(time.Hour)
	id, err := e.st.Enqueue(t.Context(), store.QueuedMessage{From: "user@example.org", Recipients: []string{"far@remote.test"},
		Raw: []byte("Subject: queued <b>here</b>\r\nFrom: user@example.org\r\n\r\nbody\r\n"), Created: later})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.st.UpdateQueueRecipients(t.Context(), id, []store.QueueRecipient{{Addr: "far@remote.test", Status: store.RcptPending, Attempts: 1, LastError: "451 4.4.1 try later", NextAttempt: later}}); err != nil {
		t.Fatal(err)
	}
	c := e.client()
	dash := c.mustLogin("/admin/", adminEmail, adminPW)
	if got := text(byID(dash.doc, "n-queue")); got != "1" {
		t.Fatalf("dashboard queue depth %q", got)
	}
	if tds := all(byID(dash.doc, "failures"), isTag("td")); len(tds) != 3 || text(tds[1]) != "far@remote.test" || text(tds[2]) != "451 4.4.1 try later" {
		t.Fatalf("dashboard failures: %d cells", len(tds))
	}
	if tds := all(byID(dash.doc, "certs"), isTag("td")); len(tds) != 3 || text(tds[0]) != "mx.example.org" || (text(tds[2]) != "9" && text(tds[2]) != "10") {
		t.Fatalf("dashboard certificates: %d cells", len(tds))
	}
	if tds := all(byID(dash.doc, "counters"), isTag("td")); len(tds) != 4 || text(tds[0]) != "auth_failed" || text(tds[1]) != "3" {
		t.Fatalf("dashboard counters: %d cells", len(tds))
	}

	q := c.get("/admin/queue")
	ids := strconv.FormatInt(id, 10)
	if got := rows(q, "queue", "id"); !slices.Equal(got, []string{ids}) {
		t.Fatalf("queue rows %v", got)
	}
	item := c.get("/admin/queue/" + ids)
	if item.status != 200 || text(byID(item.doc, "header")) != "Subject: queued <b>here</b> From: user@example.org" {
		t.Fatalf("item page: %d header %q", item.status, text(byID(item.doc, "header")))
	}
	for _, p := range []string{"/admin/queue/999999", "/admin/queue/abc", "/admin/queue/-1", "/admin/queue/0"} {
		if r := c.get(p); r.status != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", p, r.status)
		}
	}
	tok := csrf(t, q)
	r := c.follow(c.post("/admin/queue/retry", url.Values{"csrf": {tok}, "id": {ids}}))
	if msg, ok := flash(r); !ok || msg != "Queue item "+ids+" is due now." {
		t.Fatalf("retry: %q", msg)
	}
	if e.kicks.n != 1 {
		t.Fatalf("queue kicked %d times", e.kicks.n)
	}
	due, err := e.st.DueQueue(t.Context(), time.Now().Add(time.Second), 10)
	if err != nil || len(due) != 1 {
		t.Fatalf("after retry, due items: %d, %v", len(due), err)
	}
	r = c.follow(c.post("/admin/queue/retry", url.Values{"csrf": {tok}, "id": {"999999"}}))
	if msg, ok := flash(r); ok || !strings.HasPrefix(msg, "Not found: ") {
		t.Fatalf("retry unknown: %q", msg)
	}
	r = c.follow(c.post("/admin/queue/delete", url.Values{"csrf": {tok}, "id": {"x"}}))
	if msg, ok := flash(r); ok || msg != "No such queue item." {
		t.Fatalf("delete bad id: %q", msg)
	}
	r = c.follow(c.post("/admin/queue/delete", url.Values{"csrf": {tok}, "id": {ids}}))
	if msg, ok := flash(r); !ok || byID(r.doc, "queue-empty") == nil {
		t.Fatalf("delete: %q", msg)
	}
}

func TestAccountPages(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *webadmin.Config) { c.Quota = quotaOf{userEmail: 2048} })
	c := e.client()
	home := c.mustLogin("/account/", userEmail, userPW)
	if got := text(byID(home.doc, "usage")); got != "0 B in 0 messages of 2 KiB (0%)." {
		t.Fatalf("usage %q", got)
	}
	// The user's session does not open /admin/.
	if r := c.get("/admin/"); r.status != http.StatusSeeOther {
		t.Fatalf("/admin/ with an account cookie: %d", r.status)
	}
	tok := csrf(t, home)
	for _, c2 := range []struct {
		cur, pw, again, want string
	}{
		{"wrong", "n1", "n1", "The current password is wrong."},
		{userPW, "n1", "n2", "The new passwords do not match."},
		{userPW, "", "", "The password must not be empty."},
	} {
		r := c.follow(c.post("/account/password", url.Values{"csrf": {tok}, "current": {c2.cur}, "password": {c2.pw}, "again": {c2.again}}))
		if msg, ok := flash(r); ok || msg != c2.want {
			t.Errorf("change %v: %q", c2, msg)
		}
	}
	r := c.follow(c.post("/account/password", url.Values{"csrf": {tok}, "current": {userPW}, "password": {"changed"}, "again": {"changed"}}))
	if msg, ok := flash(r); !ok || msg != "Your password was changed." {
		t.Fatalf("change: %q", msg)
	}
	if _, err := auth.NewAuthenticator(e.st, quietLog, nil).Authenticate(t.Context(), userEmail, "changed", nil); err != nil {
		t.Fatalf("changed password: %v", err)
	}
	if r := c.post("/account/password", url.Values{"current": {"changed"}, "password": {"x"}, "again": {"x"}}); r.status != http.StatusForbidden {
		t.Fatalf("without csrf: %d", r.status)
	}
}

// Bodies are bounded before they are parsed; methods, HEAD and OPTIONS
// answer as HTTP says; paths never reach a file.
func TestBadRequests(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *webadmin.Config) { c.MaxFormBytes = 4096 })
	c := e.client()
	dash := c.mustLogin("/admin/", adminEmail, adminPW)
	tok := csrf(t, dash)

	big := url.Values{"csrf": {tok}, "domain": {strings.Repeat("a", 5000)}}
	if r := c.post("/admin/domains/add", big); r.status != http.StatusRequestEntityTooLarge {
		t.Fatalf("oversized form: %d, want 413", r.status)
	}
	// Without a Content-Length (chunked) the reader stops it as well.
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/admin/domains/add", &endless{})
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.ContentLength = -1
	if r := c.do(req); r.status != http.StatusRequestEntityTooLarge {
		t.Fatalf("endless chunked form: %d, want 413", r.status)
	}
	if r := c.post("/admin/login", big); r.status != http.StatusRequestEntityTooLarge {
		t.Fatalf("oversized sign-in form: %d, want 413", r.status)
	}

	if r := c.method(http.MethodHead, "/admin/"); r.status != 200 || r.body != "" {
		t.Fatalf("HEAD /admin/: %d %q", r.status, r.body)
	}
	r := c.method(http.MethodOptions, "/admin/accounts")
	if r.status != http.StatusNoContent || r.header.Get("Allow") != "GET, HEAD, OPTIONS" {
		t.Fatalf("OPTIONS /admin/accounts: %d Allow %q", r.status, r.header.Get("Allow"))
	}
	r = c.method(http.MethodOptions, "/admin/login")
	if r.status != http.StatusNoContent || r.header.Get("Allow") != "GET, HEAD, POST, OPTIONS" {
		t.Fatalf("OPTIONS /admin/login: %d Allow %q", r.status, r.header.Get("Allow"))
	}
	if r := c.method(http.MethodOptions, "/admin/nothing"); r.status != http.StatusNotFound {
		t.Fatalf("OPTIONS of an unknown path: %d", r.status)
	}
	for _, m := range []string{http.MethodPut, http.MethodDelete, http.MethodPatch} {
		if r := c.method(m, "/admin/accounts"); r.status != http.StatusMethodNotAllowed {
			t.Errorf("%s /admin/accounts: %d, want 405", m, r.status)
		}
	}
	if r := c.get("/admin/accounts/add"); r.status != http.StatusMethodNotAllowed {
		t.Fatalf("GET of a form action: %d, want 405", r.status)
	}
	// Path traversal: cleaned by the mux (redirect) or unknown (404),
	// never a file.
	for _, p := range []string{"/admin/../../../etc/passwd", "/admin/%2e%2e/%2e%2e/etc/passwd", "/admin/style.css/../../etc/passwd", "/admin/..%2fetc%2fpasswd", "/account/../admin/"} {
		r := c.get(p)
		if r.status == 200 || strings.Contains(r.body, "root:") {
			t.Errorf("GET %s: %d", p, r.status)
		}
	}
	css := c.get("/admin/style.css")
	if css.status != 200 || css.header.Get("Content-Type") != "text/css; charset=utf-8" {
		t.Fatalf("stylesheet: %d %q", css.status, css.header.Get("Content-Type"))
	}
	// Security headers on every page.
	if h := dash.header; !strings.Contains(h.Get("Content-Security-Policy"), "default-src 'none'") || h.Get("X-Frame-Options") != "DENY" || h.Get("Cache-Control") != "no-store" {
		t.Fatalf("headers %v", h)
	}
	// An over-long cookie is no session, not an error.
	c2 := e.client()
	u, _ := url.Parse(e.srv.URL + "/admin/")
	c2.jar.SetCookies(u, []*http.Cookie{{Name: "mailroom_admin", Value: strings.Repeat("A", 3000)}})
	if r := c2.get("/admin/"); r.status != http.StatusSeeOther {
		t.Fatalf("long cookie: %d", r.status)
	}
}

type endless struct{}

func (*endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'a'
	}
	return len(p), nil
}

// Sessions expire server-side: after IdleTimeout without a request, and
// after MaxAge in any case; the sessions held are bounded.
func TestSessionExpiry(t *testing.T) {
	t.Parallel()
	now := time.Now()
	clock := &now
	e := newEnv(t, func(c *webadmin.Config) {
		c.Now = func() time.Time { return *clock }
		c.IdleTimeout = 10 * time.Minute
		c.MaxAge = time.Hour
		c.MaxSessions = 2
	})
	c := e.client()
	c.mustLogin("/admin/", adminEmail, adminPW)
	for i := 0; i < 5; i++ { // keep it busy: idle never reached
		now = now.Add(9 * time.Minute)
		if r := c.get("/admin/"); r.status != 200 {
			t.Fatalf("after %d min: %d", (i+1)*9, r.status)
		}
	}
	now = now.Add(9 * time.Minute) // 54 min old, active
	if r := c.get("/admin/"); r.status != 200 {
		t.Fatalf("active session at 54 min: %d", r.status)
	}
	now = now.Add(7 * time.Minute) // 61 min: past MaxAge
	if r := c.get("/admin/"); r.status != http.StatusSeeOther {
		t.Fatalf("session past MaxAge: %d", r.status)
	}
	c.mustLogin("/admin/", adminEmail, adminPW)
	now = now.Add(11 * time.Minute)
	if r := c.get("/admin/"); r.status != http.StatusSeeOther {
		t.Fatalf("idle session: %d", r.status)
	}
	// Two live sessions fill the table; a third sign-in is refused
	// until one expires.
	a, b := e.client(), e.client()
	a.mustLogin("/admin/", adminEmail, adminPW)
	b.mustLogin("/account/", userEmail, userPW)
	if r := e.client().login("/admin/", adminEmail, adminPW); r.status != http.StatusServiceUnavailable {
		t.Fatalf("third session: %d, want 503", r.status)
	}
	now = now.Add(11 * time.Minute)
	e.client().mustLogin("/admin/", adminEmail, adminPW)
}

// Behind TLS the session cookie is Secure.
func TestSecureCookie(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.srv.Close()
	e.srv = httptestTLS(t, e)
	c := e.client()
	c.hc.Transport = e.srv.Client().Transport
	p := c.get("/admin/login")
	r := c.post("/admin/login", url.Values{"csrf": {inputValue(p.doc, "login", "csrf")}, "email": {adminEmail}, "password": {adminPW}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("sign-in over TLS: %d %s", r.status, r.body)
	}
	for _, ck := range r.header.Values("Set-Cookie") {
		parsed, _ := http.ParseSetCookie(ck)
		if parsed.Name == "mailroom_admin" && !parsed.Secure {
			t.Fatalf("session cookie over TLS is not Secure: %q", ck)
		}
	}
}

// Sign-in failures are throttled by the Authenticator IMAP uses: past
// its limit the page answers 429 and even the right password is refused
// from that address, on /admin/ and /account/ alike.
func TestSignInThrottled(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *webadmin.Config) {
		c.Auth = auth.NewAuthenticator(c.Store.(auth.Accounts), quietLog, nil).WithLimits(auth.Limits{FailuresPerIP: 3, FailuresPerAccount: 3})
	})
	c := e.client()
	var last int
	for i := 0; i < 6 && last != http.StatusTooManyRequests; i++ {
		last = c.login("/account/", userEmail, "wrong").status
	}
	if last != http.StatusTooManyRequests {
		t.Fatalf("after repeated failures: %d, want 429", last)
	}
	r := c.login("/admin/", adminEmail, adminPW)
	if msg, _ := flash(r); r.status != http.StatusTooManyRequests || msg != "Too many failed attempts; try again later." {
		t.Fatalf("right password from a throttled address: %d %q", r.status, msg)
	}
}
