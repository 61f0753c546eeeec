package webadmin

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mailroom/mailroom/internal/recent"
	"github.com/mailroom/mailroom/store"
)

func itoa(n int64) string   { return strconv.FormatInt(n, 10) }
func ftoa(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) }

type counter struct {
	Name  string
	Value uint64
}

type certRow struct {
	Name     string
	NotAfter time.Time
	DaysLeft int
	Warn     bool
}

type failure struct {
	ID   int64
	Addr string
	Err  string
}

type dashboardData struct {
	Accounts, Domains, Aliases int
	QueueItems, QueuePending   int
	Counters                   []counter
	Failures                   []failure
	Certs                      []certRow
	// Recent: nil without Config.Recent.
	Recent *recentData
}

type recentData struct {
	Deliveries, Failures []recent.Event
}

// maxFailures is how many recent queue failures the dashboard lists.
const maxFailures = 10

func (s *Server) dashboard(w http.ResponseWriter, r *http.Request, x *session) {
	ctx := r.Context()
	var d dashboardData
	accts, err := s.cfg.Store.Accounts(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d.Accounts = len(accts)
	doms, err := s.cfg.Store.Domains(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d.Domains = len(doms)
	als, err := s.cfg.Store.Aliases(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d.Aliases = len(als) + len(s.configAliases())
	items, err := s.cfg.Store.QueueItems(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d.QueueItems = len(items)
	for i := len(items) - 1; i >= 0; i-- { // newest first
		it := items[i]
		if it.Pending() {
			d.QueuePending++
		}
		for _, rc := range it.Recipients {
			if rc.LastError != "" && rc.Status != store.RcptDelivered && len(d.Failures) < maxFailures {
				d.Failures = append(d.Failures, failure{ID: it.ID, Addr: rc.Addr, Err: rc.LastError})
			}
		}
	}
	if s.cfg.Counters != nil {
		c := s.cfg.Counters()
		for _, k := range sortedKeys(c) {
			d.Counters = append(d.Counters, counter{k, c[k]})
		}
	}
	if s.cfg.Recent != nil {
		d.Recent = &recentData{Deliveries: s.cfg.Recent.Deliveries(), Failures: s.cfg.Recent.Failures()}
	}
	if s.cfg.Certificates != nil {
		now := s.cfg.Now()
		for _, c := range s.cfg.Certificates() {
			days := int(c.NotAfter.Sub(now).Hours() / 24)
			d.Certs = append(d.Certs, certRow{Name: c.Name, NotAfter: c.NotAfter, DaysLeft: days, Warn: days < 14})
		}
	}
	s.show(w, adminArea, x, "dashboard", "Dashboard", d)
}

// fail answers a page whose data could not be read.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	s.log.Error("webadmin: page failed", "path", r.URL.Path, "err", err)
	http.Error(w, "internal error", http.StatusInternalServerError)
}

type accountRow struct {
	Email                 string
	Created               time.Time
	Bytes, Messages       int64
	MaxBytes, MaxMessages int64
	Admin                 bool
	Percent               int
}

type accountsData struct {
	Accounts  []accountRow
	Truncated bool
}

func (s *Server) accountsPage(w http.ResponseWriter, r *http.Request, x *session) {
	ctx := r.Context()
	accts, err := s.cfg.Store.Accounts(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var d accountsData
	if len(accts) > maxListed {
		accts, d.Truncated = accts[:maxListed], true
	}
	for _, a := range accts {
		row := accountRow{Email: a.Email, Created: a.Created, Admin: s.admins[strings.ToLower(a.Email)]}
		u, err := s.cfg.Store.AccountUsage(ctx, a.ID)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		row.Bytes, row.Messages = u.Bytes, u.Messages
		if s.cfg.Quota != nil {
			row.MaxBytes, row.MaxMessages = s.cfg.Quota.Limits(a.Email)
			if row.MaxBytes > 0 {
				row.Percent = int(min(100, u.Bytes*100/row.MaxBytes))
			}
		}
		d.Accounts = append(d.Accounts, row)
	}
	s.show(w, adminArea, x, "accounts", "Accounts", d)
}

// newPassword checks a password typed into a form.
func newPassword(pw string) error {
	switch {
	case pw == "":
		return formError("The password must not be empty.")
	case len(pw) > maxPasswordBytes:
		return formError("The password is too long (at most 1024 bytes).")
	case !utf8.ValidString(pw) || strings.ContainsAny(pw, "\r\n\x00"):
		return formError("The password has characters that cannot be typed at a login.")
	}
	return nil
}

func (s *Server) accountAdd(w http.ResponseWriter, r *http.Request, x *session) {
	const to = "/admin/accounts"
	email, err := store.CheckAddress(r.PostForm.Get("email"))
	if err == nil {
		err = newPassword(r.PostForm.Get("password"))
	}
	if err == nil {
		var hash string
		if hash, err = s.cfg.HashPassword(r.PostForm.Get("password")); err == nil {
			_, err = s.cfg.Store.CreateAccount(r.Context(), email, hash)
		}
	}
	if err == nil {
		s.log.Info("webadmin: account added", "admin", x.email, "account", email)
	}
	s.done(w, r, x, to, "Added "+email+".", err)
}

func (s *Server) accountPassword(w http.ResponseWriter, r *http.Request, x *session) {
	email := strings.ToLower(strings.TrimSpace(r.PostForm.Get("email")))
	err := newPassword(r.PostForm.Get("password"))
	if err == nil {
		var hash string
		if hash, err = s.cfg.HashPassword(r.PostForm.Get("password")); err == nil {
			err = s.cfg.Store.SetPassword(r.Context(), email, hash)
		}
	}
	if err == nil {
		s.log.Info("webadmin: password reset", "admin", x.email, "account", email)
	}
	s.done(w, r, x, "/admin/accounts", "Password changed for "+email+".", err)
}

func (s *Server) accountDelete(w http.ResponseWriter, r *http.Request, x *session) {
	email := strings.ToLower(strings.TrimSpace(r.PostForm.Get("email")))
	var err error
	if email == x.email {
		err = formError("You cannot delete the account you are signed in with.")
	} else if err = s.cfg.Store.DeleteAccount(r.Context(), email); err == nil {
		s.sessions.endFor(email)
		s.log.Info("webadmin: account deleted", "admin", x.email, "account", email)
	}
	s.done(w, r, x, "/admin/accounts", "Deleted "+email+".", err)
}

type aliasRow struct {
	Address    string
	Targets    []string
	FromConfig bool // [aliases]: read-only here
	Overridden bool // a store alias whose key [aliases] has too
}

type domainsData struct {
	Domains []store.Domain
	Aliases []aliasRow
}

func (s *Server) domainsPage(w http.ResponseWriter, r *http.Request, x *session) {
	ctx := r.Context()
	doms, err := s.cfg.Store.Domains(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	als, err := s.cfg.Store.Aliases(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d := domainsData{Domains: doms}
	conf := s.configAliases()
	for _, a := range als {
		_, over := conf[a.Address]
		d.Aliases = append(d.Aliases, aliasRow{Address: a.Address, Targets: a.Targets, Overridden: over})
	}
	for _, k := range sortedKeys(conf) {
		d.Aliases = append(d.Aliases, aliasRow{Address: k, Targets: conf[k], FromConfig: true})
	}
	slices.SortStableFunc(d.Aliases, func(a, b aliasRow) int { return strings.Compare(a.Address, b.Address) })
	s.show(w, adminArea, x, "domains", "Domains and aliases", d)
}

func (s *Server) domainAdd(w http.ResponseWriter, r *http.Request, x *session) {
	dom, err := s.cfg.Store.AddDomain(r.Context(), r.PostForm.Get("domain"))
	if err == nil {
		s.log.Info("webadmin: domain added", "admin", x.email, "domain", dom.Name)
	}
	s.done(w, r, x, "/admin/domains", "Added domain "+dom.Name+".", err)
}

func (s *Server) domainDelete(w http.ResponseWriter, r *http.Request, x *session) {
	name := strings.ToLower(strings.TrimSpace(r.PostForm.Get("domain")))
	err := s.cfg.Store.DeleteDomain(r.Context(), name)
	if err == nil {
		s.log.Info("webadmin: domain deleted", "admin", x.email, "domain", name)
	}
	s.done(w, r, x, "/admin/domains", "Deleted domain "+name+".", err)
}

// splitTargets splits the targets field at commas and white space.
func splitTargets(v string) []string {
	return strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\r' || r == '\n' })
}

func (s *Server) aliasAdd(w http.ResponseWriter, r *http.Request, x *session) {
	a, err := s.cfg.Store.AddAlias(r.Context(), r.PostForm.Get("address"), splitTargets(r.PostForm.Get("targets")))
	if err == nil {
		s.log.Info("webadmin: alias added", "admin", x.email, "alias", a.Address, "targets", len(a.Targets))
	}
	msg := "Added alias " + a.Address + "."
	if _, over := s.configAliases()[a.Address]; err == nil && over {
		msg += " The config file's [aliases] has this address too and wins."
	}
	s.done(w, r, x, "/admin/domains", msg, err)
}

func (s *Server) aliasDelete(w http.ResponseWriter, r *http.Request, x *session) {
	addr := strings.ToLower(strings.TrimSpace(r.PostForm.Get("address")))
	err := s.cfg.Store.DeleteAlias(r.Context(), addr)
	if err == nil {
		s.log.Info("webadmin: alias deleted", "admin", x.email, "alias", addr)
	}
	s.done(w, r, x, "/admin/domains", "Deleted alias "+addr+".", err)
}

type queueRow struct {
	store.QueueItem
	Pending bool
	Holder  string
}

type queueData struct {
	Items     []queueRow
	Truncated bool
}

func (s *Server) queuePage(w http.ResponseWriter, r *http.Request, x *session) {
	items, err := s.cfg.Store.QueueItems(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var d queueData
	if len(items) > maxListed {
		items, d.Truncated = items[:maxListed], true
	}
	now := s.cfg.Now()
	for _, it := range items {
		d.Items = append(d.Items, queueRow{QueueItem: it, Pending: it.Pending(), Holder: it.LeasedAt(now)})
	}
	s.show(w, adminArea, x, "queue", "Queue", d)
}

// maxShownHeader bounds the part of a queued message the item page shows.
const maxShownHeader = 16 << 10

type queueItemData struct {
	queueRow
	Header    string
	Truncated bool
}

func (s *Server) queueItemPage(w http.ResponseWriter, r *http.Request, x *session) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		http.NotFound(w, r)
		return
	}
	it, err := s.cfg.Store.QueueItem(r.Context(), id)
	if err != nil {
		if errorsIsNotFound(err) {
			http.NotFound(w, r)
			return
		}
		s.fail(w, r, err)
		return
	}
	raw, err := s.cfg.Store.QueueMessage(r.Context(), id)
	if err != nil && !errorsIsNotFound(err) {
		s.fail(w, r, err)
		return
	}
	d := queueItemData{queueRow: queueRow{QueueItem: it, Pending: it.Pending(), Holder: it.LeasedAt(s.cfg.Now())}}
	hdr := raw
	if i := strings.Index(string(raw), "\r\n\r\n"); i >= 0 {
		hdr = raw[:i]
	}
	if len(hdr) > maxShownHeader {
		hdr, d.Truncated = hdr[:maxShownHeader], true
	}
	d.Header = strings.ToValidUTF8(string(hdr), "\uFFFD")
	s.show(w, adminArea, x, "queueitem", "Queue item "+itoa(id), d)
}

func (s *Server) formID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(strings.TrimSpace(r.PostForm.Get("id")), 10, 64)
	if err != nil || id <= 0 {
		return 0, formError("No such queue item.")
	}
	return id, nil
}

func (s *Server) queueRetry(w http.ResponseWriter, r *http.Request, x *session) {
	id, err := s.formID(r)
	if err == nil {
		if _, err = s.cfg.Store.RetryQueueItem(r.Context(), id, s.cfg.Now()); err == nil {
			if s.cfg.Queue != nil {
				s.cfg.Queue.Kick()
			}
			s.log.Info("webadmin: queue item retried", "admin", x.email, "id", id)
		}
	}
	s.done(w, r, x, "/admin/queue", "Queue item "+itoa(id)+" is due now.", err)
}

func (s *Server) queueDelete(w http.ResponseWriter, r *http.Request, x *session) {
	id, err := s.formID(r)
	if err == nil {
		if err = s.cfg.Store.DeleteQueueItem(r.Context(), id); err == nil {
			s.log.Info("webadmin: queue item deleted", "admin", x.email, "id", id)
		}
	}
	s.done(w, r, x, "/admin/queue", "Deleted queue item "+itoa(id)+".", err)
}
