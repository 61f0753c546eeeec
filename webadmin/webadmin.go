// Package webadmin is mailroom's web admin (/admin/) and account pages
// (/account/), served on the HTTP(S) listener (package httpserver mounts
// Server under those two prefixes). It is an adapter like the protocol
// servers: it defines the Store and Authenticator it needs, knows
// nothing of SMTP or IMAP, and renders server-side html/template pages
// with one small stylesheet; no JavaScript.
//
// Security:
//   - Sign-in goes through the same Authenticator as IMAP (argon2id,
//     throttling per IP and account). /admin/ accepts only the accounts in
//     Config.Admins; /account/ any account, for itself.
//   - A session is a random 256-bit token in a cookie (HttpOnly,
//     SameSite=Strict, Secure on HTTPS, Path the area) naming a session
//     held in this process's memory, which expires after IdleTimeout
//     without a request and after MaxAge in any case; sign-out deletes
//     it. Sessions are bounded (MaxSessions) and do not span nodes.
//   - Every form carries the session's CSRF token (sign-in forms a token
//     bound to a pre-session cookie), checked in constant time before any
//     change; a POST whose Origin is another site is refused too.
//   - Request bodies are bounded (MaxFormBytes) before they are parsed.
//   - Store errors become messages from their type; anything else is a
//     generic "internal error" and a log line.
package webadmin

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"errors"
	"html/template"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/mailroom/mailroom/auth"
	"github.com/mailroom/mailroom/internal/recent"
	"github.com/mailroom/mailroom/store"
)

// Store is what the pages read and change.
type Store interface {
	Accounts(ctx context.Context) ([]store.Account, error)
	AccountByEmail(ctx context.Context, email string) (store.Account, error)
	CreateAccount(ctx context.Context, email, passwordHash string) (store.Account, error)
	SetPassword(ctx context.Context, email, passwordHash string) error
	DeleteAccount(ctx context.Context, email string) error
	AccountUsage(ctx context.Context, accountID int64) (store.Usage, error)

	AddDomain(ctx context.Context, name string) (store.Domain, error)
	DeleteDomain(ctx context.Context, name string) error
	Domains(ctx context.Context) ([]store.Domain, error)
	AddAlias(ctx context.Context, address string, targets []string) (store.Alias, error)
	DeleteAlias(ctx context.Context, address string) error
	Aliases(ctx context.Context) ([]store.Alias, error)

	QueueItems(ctx context.Context) ([]store.QueueItem, error)
	QueueItem(ctx context.Context, id int64) (store.QueueItem, error)
	QueueMessage(ctx context.Context, id int64) ([]byte, error)
	DeleteQueueItem(ctx context.Context, id int64) error
	RetryQueueItem(ctx context.Context, id int64, now time.Time) (int, error)
}

var _ Store = (store.Store)(nil)

// Authenticator checks a password (*auth.Authenticator implements it).
type Authenticator interface {
	Authenticate(ctx context.Context, username, password string, remote net.Addr) (store.Account, error)
}

var _ Authenticator = (*auth.Authenticator)(nil)

// Quota gives an account's limits (*config.Quota implements it); 0 is
// unlimited.
type Quota interface {
	Limits(email string) (storage, messages int64)
}

// Kicker wakes the outbound queue after a retry (*queue.Queue).
type Kicker interface{ Kick() }

// Recent is the dashboard's source of recent delivery events, each
// list newest first (*recent.Log).
type Recent interface {
	Deliveries() []recent.Event
	Failures() []recent.Event
}

// Certificate is one certificate the dashboard shows the expiry of.
type Certificate struct {
	Name     string
	NotAfter time.Time
}

// Defaults of the Config limits.
const (
	DefaultIdleTimeout  = 30 * time.Minute
	DefaultMaxAge       = 12 * time.Hour
	DefaultMaxSessions  = 10000
	DefaultMaxFormBytes = 64 << 10
	// maxPasswordBytes bounds a password typed into a form (argon2id
	// hashes whatever it gets; auth bounds user names itself).
	maxPasswordBytes = 1024
	// maxListed bounds the rows of one list page.
	maxListed = 1000
)

// Config configures a Server. Store and Auth are required.
type Config struct {
	Store Store
	Auth  Authenticator
	// Admins are the accounts that may sign in to /admin/ (lower case).
	Admins []string
	// ConfigAliases returns the config file's [aliases] table as it is
	// now (a reload may change it), shown read-only (it overrides the
	// store's alias of the same key); nil for none.
	ConfigAliases func() map[string][]string
	Quota         Quota
	Queue         Kicker
	// Counters are the dashboard's counters (name -> value); nil shows none.
	Counters func() map[string]uint64
	// Recent gives the dashboard the last local deliveries and outbound
	// failures (*recent.Log: bounded, in memory); nil shows none.
	Recent Recent
	// Certificates are shown with their expiry; nil shows none.
	Certificates func() []Certificate
	// DNS gives the DNS page its records and makes DKIM keys; nil
	// leaves the DNS page out. Resolver checks them live (nil: not
	// checked).
	DNS      DNS
	Resolver Resolver
	// HashPassword hashes a new password (default auth.HashPassword).
	HashPassword func(string) (string, error)

	IdleTimeout  time.Duration // default DefaultIdleTimeout
	MaxAge       time.Duration // default DefaultMaxAge
	MaxSessions  int           // default DefaultMaxSessions
	MaxFormBytes int64         // default DefaultMaxFormBytes

	Logger *slog.Logger
	Now    func() time.Time
}

// Server serves /admin/ and /account/.
type Server struct {
	cfg      Config
	log      *slog.Logger
	mux      *http.ServeMux
	sessions *sessions
	pages    map[string]*template.Template
	admins   map[string]bool
}

//go:embed templates/*.html style.css
var files embed.FS

// New returns a Server for cfg.
func New(cfg Config) (*Server, error) {
	if cfg.Store == nil || cfg.Auth == nil {
		return nil, errors.New("webadmin: Config.Store and Config.Auth are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.HashPassword == nil {
		cfg.HashPassword = auth.HashPassword
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = DefaultMaxAge
	}
	if cfg.MaxSessions <= 0 {
		cfg.MaxSessions = DefaultMaxSessions
	}
	if cfg.MaxFormBytes <= 0 {
		cfg.MaxFormBytes = DefaultMaxFormBytes
	}
	s := &Server{cfg: cfg, log: cfg.Logger, mux: http.NewServeMux(), admins: map[string]bool{}}
	for _, a := range cfg.Admins {
		s.admins[strings.ToLower(strings.TrimSpace(a))] = true
	}
	s.sessions = &sessions{m: map[string]*session{}, max: cfg.MaxSessions, idle: cfg.IdleTimeout, maxAge: cfg.MaxAge, now: cfg.Now}
	if err := s.parseTemplates(); err != nil {
		return nil, err
	}
	s.routes()
	return s, nil
}

// Areas: the cookie names and paths of the two sign-ins.
type area struct {
	name   string // "admin" or "account"
	prefix string // "/admin/"
	cookie string
}

var (
	adminArea   = area{"admin", "/admin/", "mailroom_admin"}
	accountArea = area{"account", "/account/", "mailroom_account"}
)

// loginCookieSuffix names the pre-session cookie of a sign-in form.
const loginCookieSuffix = "_login"

func (s *Server) routes() {
	for _, a := range []area{adminArea, accountArea} {
		s.mux.HandleFunc("GET "+a.prefix+"style.css", s.handleStyle)
		s.mux.HandleFunc("GET "+a.prefix+"login", s.loginPage(a))
		s.mux.HandleFunc("POST "+a.prefix+"login", s.login(a))
		s.mux.HandleFunc("POST "+a.prefix+"logout", s.post(a, s.logout(a)))
	}
	s.mux.HandleFunc("GET /admin/{$}", s.get(adminArea, s.dashboard))
	s.mux.HandleFunc("GET /admin/accounts", s.get(adminArea, s.accountsPage))
	s.mux.HandleFunc("POST /admin/accounts/add", s.post(adminArea, s.accountAdd))
	s.mux.HandleFunc("POST /admin/accounts/password", s.post(adminArea, s.accountPassword))
	s.mux.HandleFunc("POST /admin/accounts/delete", s.post(adminArea, s.accountDelete))
	s.mux.HandleFunc("GET /admin/domains", s.get(adminArea, s.domainsPage))
	s.mux.HandleFunc("POST /admin/domains/add", s.post(adminArea, s.domainAdd))
	s.mux.HandleFunc("POST /admin/domains/delete", s.post(adminArea, s.domainDelete))
	s.mux.HandleFunc("POST /admin/aliases/add", s.post(adminArea, s.aliasAdd))
	s.mux.HandleFunc("POST /admin/aliases/delete", s.post(adminArea, s.aliasDelete))
	s.mux.HandleFunc("GET /admin/queue", s.get(adminArea, s.queuePage))
	s.mux.HandleFunc("GET /admin/queue/{id}", s.get(adminArea, s.queueItemPage))
	s.mux.HandleFunc("POST /admin/queue/retry", s.post(adminArea, s.queueRetry))
	s.mux.HandleFunc("POST /admin/queue/delete", s.post(adminArea, s.queueDelete))

	if s.cfg.DNS != nil {
		s.mux.HandleFunc("GET /admin/dns", s.get(adminArea, s.dnsPage))
		s.mux.HandleFunc("GET /admin/dns/{domain}", s.get(adminArea, s.dnsPage))
		s.mux.HandleFunc("POST /admin/dkim/generate", s.post(adminArea, s.dkimGenerate))
	}

	s.mux.HandleFunc("GET /account/{$}", s.get(accountArea, s.accountHome))
	s.mux.HandleFunc("POST /account/password", s.post(accountArea, s.ownPassword))
}

// ServeHTTP serves a request under /admin/ or /account/.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	// same-origin, not no-referrer: with no-referrer browsers send
	// "Origin: null" on the forms' POSTs, which the Origin check refuses.
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	if r.Method == http.MethodOptions {
		s.options(w, r)
		return
	}
	s.mux.ServeHTTP(w, r)
}

// options answers OPTIONS with the methods the path allows (204), or
// 404 for a path nothing serves.
func (s *Server) options(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodPost} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := s.mux.Handler(probe); pattern != "" {
			allow = append(allow, m)
			if m == http.MethodGet {
				allow = append(allow, http.MethodHead)
			}
		}
	}
	if len(allow) == 0 {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Allow", strings.Join(append(allow, http.MethodOptions), ", "))
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleStyle(w http.ResponseWriter, r *http.Request) {
	css, _ := files.ReadFile("style.css")
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "max-age=3600")
	w.Write(css)
}

// session is one signed-in browser.
type session struct {
	token   string
	csrf    string
	area    string
	email   string
	created time.Time
	seen    time.Time
	flash   string // shown once on the next page
	flashOK bool
}

// sessions are held in memory, bounded, expired by idle time and age.
type sessions struct {
	mu     sync.Mutex
	m      map[string]*session
	max    int
	idle   time.Duration
	maxAge time.Duration
	now    func() time.Time
}

var errTooManySessions = errors.New("webadmin: too many sessions")

func (ss *sessions) expired(x *session, now time.Time) bool {
	return now.Sub(x.seen) > ss.idle || now.Sub(x.created) > ss.maxAge
}

func (ss *sessions) create(areaName, email string) (*session, error) {
	now := ss.now()
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if len(ss.m) >= ss.max {
		for k, x := range ss.m {
			if ss.expired(x, now) {
				delete(ss.m, k)
			}
		}
		if len(ss.m) >= ss.max {
			return nil, errTooManySessions
		}
	}
	x := &session{token: randomToken(), csrf: randomToken(), area: areaName, email: email, created: now, seen: now}
	ss.m[x.token] = x
	return x, nil
}

// get returns the live session of token in areaName and marks it seen.
func (ss *sessions) get(token, areaName string) *session {
	now := ss.now()
	ss.mu.Lock()
	defer ss.mu.Unlock()
	x := ss.m[token]
	if x == nil || x.area != areaName {
		return nil
	}
	if ss.expired(x, now) {
		delete(ss.m, token)
		return nil
	}
	x.seen = now
	return x
}

func (ss *sessions) delete(token string) {
	ss.mu.Lock()
	delete(ss.m, token)
	ss.mu.Unlock()
}

// takeFlash returns and clears the session's one-time message.
func (ss *sessions) takeFlash(x *session) (string, bool) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	f, ok := x.flash, x.flashOK
	x.flash, x.flashOK = "", false
	return f, ok
}

func (ss *sessions) setFlash(x *session, msg string, ok bool) {
	ss.mu.Lock()
	x.flash, x.flashOK = msg, ok
	ss.mu.Unlock()
}

// endFor ends every session of email (its account was deleted).
func (ss *sessions) endFor(email string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	for k, x := range ss.m {
		if x.email == email {
			delete(ss.m, k)
		}
	}
}

func randomToken() string {
	var b [32]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func equalToken(a, b string) bool {
	return a != "" && len(a) == len(b) && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

func (s *Server) setCookie(w http.ResponseWriter, r *http.Request, name, value, path string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: value, Path: path, MaxAge: maxAge,
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode,
	})
}

// current returns the request's session in a, or nil.
func (s *Server) current(r *http.Request, a area) *session {
	c, err := r.Cookie(a.cookie)
	if err != nil || len(c.Value) > 64 {
		return nil
	}
	x := s.sessions.get(c.Value, a.name)
	if x != nil && a == adminArea && !s.admins[x.email] {
		return nil // no longer an admin
	}
	return x
}

type handler func(w http.ResponseWriter, r *http.Request, x *session)

// get serves a page to a signed-in session; others go to the sign-in
// page.
func (s *Server) get(a area, h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		x := s.current(r, a)
		if x == nil {
			http.Redirect(w, r, a.prefix+"login", http.StatusSeeOther)
			return
		}
		h(w, r, x)
	}
}

// post runs a change for a signed-in session whose form carries its
// CSRF token, after bounding and parsing the body.
func (s *Server) post(a area, h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.parseForm(w, r) {
			return
		}
		x := s.current(r, a)
		if x == nil {
			http.Error(w, "not signed in", http.StatusForbidden)
			return
		}
		if !equalToken(r.PostForm.Get("csrf"), x.csrf) {
			s.log.Warn("webadmin: csrf token missing or wrong", "path", r.URL.Path, "user", x.email)
			http.Error(w, "invalid or missing form token", http.StatusForbidden)
			return
		}
		h(w, r, x)
	}
}

// parseForm bounds and parses a POST body and checks its Origin; it
// answers the request itself when it returns false.
func (s *Server) parseForm(w http.ResponseWriter, r *http.Request) bool {
	if o := r.Header.Get("Origin"); o != "" && o != originOf(r) {
		s.log.Warn("webadmin: cross-origin post refused", "path", r.URL.Path, "origin", logValue(o))
		http.Error(w, "cross-origin request refused", http.StatusForbidden)
		return false
	}
	if r.ContentLength > s.cfg.MaxFormBytes {
		http.Error(w, "form too large", http.StatusRequestEntityTooLarge)
		return false
	}
	r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxFormBytes)
	if err := r.ParseForm(); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			http.Error(w, "form too large", http.StatusRequestEntityTooLarge)
		} else {
			http.Error(w, "bad form", http.StatusBadRequest)
		}
		return false
	}
	return true
}

// logValue bounds a client-supplied value in a log line.
func logValue(v string) string {
	if len(v) > 64 {
		v = v[:64]
	}
	return strings.ToValidUTF8(v, "?")
}

func originOf(r *http.Request) string {
	if r.TLS != nil {
		return "https://" + r.Host
	}
	return "http://" + r.Host
}

// loginPage shows the sign-in form with a fresh pre-session token.
func (s *Server) loginPage(a area) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.current(r, a) != nil {
			http.Redirect(w, r, a.prefix, http.StatusSeeOther)
			return
		}
		s.renderLogin(w, r, a, "", http.StatusOK)
	}
}

func (s *Server) renderLogin(w http.ResponseWriter, r *http.Request, a area, errMsg string, status int) {
	tok := randomToken()
	s.setCookie(w, r, a.cookie+loginCookieSuffix, tok, a.prefix, 600)
	s.render(w, status, "login", page{Area: a.name, Prefix: a.prefix, CSRF: tok, Flash: errMsg})
}

// login checks the credentials with the Authenticator (throttled like
// IMAP) and starts a session.
func (s *Server) login(a area) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.parseForm(w, r) {
			return
		}
		c, err := r.Cookie(a.cookie + loginCookieSuffix)
		if err != nil || !equalToken(r.PostForm.Get("csrf"), c.Value) {
			http.Error(w, "invalid or missing form token", http.StatusForbidden)
			return
		}
		user, pw := strings.TrimSpace(r.PostForm.Get("email")), r.PostForm.Get("password")
		if len(pw) > maxPasswordBytes {
			s.renderLogin(w, r, a, "Wrong address or password.", http.StatusUnauthorized)
			return
		}
		acct, err := s.cfg.Auth.Authenticate(r.Context(), user, pw, clientAddr(r))
		switch {
		case errors.Is(err, auth.ErrThrottled):
			s.renderLogin(w, r, a, "Too many failed attempts; try again later.", http.StatusTooManyRequests)
			return
		case errors.Is(err, auth.ErrInvalidCredentials):
			s.renderLogin(w, r, a, "Wrong address or password.", http.StatusUnauthorized)
			return
		case err != nil:
			s.log.Error("webadmin: sign-in", "err", err)
			s.renderLogin(w, r, a, "Internal error; see the server log.", http.StatusInternalServerError)
			return
		}
		email := strings.ToLower(acct.Email)
		if a == adminArea && !s.admins[email] {
			s.log.Warn("webadmin: sign-in by a non-admin refused", "user", email)
			s.renderLogin(w, r, a, "This account is not an administrator.", http.StatusForbidden)
			return
		}
		x, err := s.sessions.create(a.name, email)
		if err != nil {
			s.log.Warn("webadmin: sign-in refused", "err", err)
			http.Error(w, "too many sessions, try later", http.StatusServiceUnavailable)
			return
		}
		s.setCookie(w, r, a.cookie+loginCookieSuffix, "", a.prefix, -1)
		s.setCookie(w, r, a.cookie, x.token, a.prefix, int(s.cfg.MaxAge/time.Second))
		s.log.Info("webadmin: signed in", "area", a.name, "user", email)
		http.Redirect(w, r, a.prefix, http.StatusSeeOther)
	}
}

func (s *Server) logout(a area) handler {
	return func(w http.ResponseWriter, r *http.Request, x *session) {
		s.sessions.delete(x.token)
		s.setCookie(w, r, a.cookie, "", a.prefix, -1)
		http.Redirect(w, r, a.prefix+"login", http.StatusSeeOther)
	}
}

// clientAddr is the TCP peer, for the Authenticator's throttling.
func clientAddr(r *http.Request) net.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return nil
	}
	return net.TCPAddrFromAddrPort(ap)
}

// page is what every template gets.
type page struct {
	HasDNS  bool // the DNS page is served
	Area    string
	Prefix  string
	Title   string
	User    string
	CSRF    string
	Flash   string
	FlashOK bool
	Data    any
}

func (s *Server) parseTemplates() error {
	funcs := template.FuncMap{
		"bytes": formatBytes,
		"time":  func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") },
		"join":  strings.Join,
	}
	layout, err := template.New("layout.html").Funcs(funcs).ParseFS(files, "templates/layout.html")
	if err != nil {
		return err
	}
	entries, err := files.ReadDir("templates")
	if err != nil {
		return err
	}
	s.pages = map[string]*template.Template{}
	for _, e := range entries {
		name := strings.TrimSuffix(e.Name(), ".html")
		if name == "layout" {
			continue
		}
		t, err := template.Must(layout.Clone()).ParseFS(files, "templates/"+e.Name())
		if err != nil {
			return err
		}
		s.pages[name] = t
	}
	return nil
}

func (s *Server) render(w http.ResponseWriter, status int, name string, p page) {
	t := s.pages[name]
	if t == nil {
		s.log.Error("webadmin: no template", "name", name)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	var buf strings.Builder
	if err := t.ExecuteTemplate(&buf, "layout.html", p); err != nil {
		s.log.Error("webadmin: render", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	io.WriteString(w, buf.String())
}

// show renders a signed-in page with the session's flash message.
func (s *Server) show(w http.ResponseWriter, a area, x *session, name, title string, data any) {
	f, ok := s.sessions.takeFlash(x)
	s.render(w, http.StatusOK, name, page{HasDNS: s.cfg.DNS != nil, Area: a.name, Prefix: a.prefix, Title: title, User: x.email, CSRF: x.csrf, Flash: f, FlashOK: ok, Data: data})
}

// done records the outcome of a change and sends the browser back to
// to (POST-redirect-GET). err is turned into a message by its type.
func (s *Server) done(w http.ResponseWriter, r *http.Request, x *session, to string, okMsg string, err error) {
	if err != nil {
		s.sessions.setFlash(x, s.errorMessage(r, err), false)
	} else {
		s.sessions.setFlash(x, okMsg, true)
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// errorMessage is the one mapping from errors to what a page says:
// the store's typed errors by type (ErrInvalid with its reason, which
// quotes only the input), anything else generic plus a log line.
func (s *Server) errorMessage(r *http.Request, err error) string {
	var fe formError
	switch {
	case errors.As(err, &fe):
		return string(fe)
	case errors.Is(err, store.ErrExists):
		return "Already exists: " + trimErr(err, store.ErrExists)
	case errors.Is(err, store.ErrNotFound):
		return "Not found: " + trimErr(err, store.ErrNotFound)
	case errors.Is(err, store.ErrInvalid):
		return "Invalid: " + trimErr(err, store.ErrInvalid)
	}
	s.log.Error("webadmin: request failed", "path", r.URL.Path, "err", err)
	return "Internal error; see the server log."
}

// formError is a message about the form's input, shown as it is.
type formError string

func (e formError) Error() string { return string(e) }

func trimErr(err, kind error) string {
	return strings.TrimPrefix(err.Error(), kind.Error()+": ")
}

func formatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return itoa(n) + " B"
	}
	units := []string{"KiB", "MiB", "GiB", "TiB"}
	f := float64(n) / unit
	i := 0
	for f >= unit && i < len(units)-1 {
		f /= unit
		i++
	}
	return strings.TrimSuffix(strings.TrimSuffix(ftoa(f), "0"), ".") + " " + units[i]
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// configAliases is Config.ConfigAliases' current table (never nil).
func (s *Server) configAliases() map[string][]string {
	if s.cfg.ConfigAliases == nil {
		return map[string][]string{}
	}
	if m := s.cfg.ConfigAliases(); m != nil {
		return m
	}
	return map[string][]string{}
}
