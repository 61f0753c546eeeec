package queue

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/mailroom/mailroom/store"
	"github.com/mailroom/mailroom/store/sqlite"
)

// testResolver answers from maps; every host is 127.0.0.1 and
// NXDOMAIN is the default.
type testResolver struct {
	mu  sync.Mutex
	mx  map[string][]*net.MX
	a   map[string]bool
	txt map[string][]string
}

func newTestResolver() *testResolver {
	return &testResolver{mx: map[string][]*net.MX{}, a: map[string]bool{}, txt: map[string][]string{}}
}

func notFound(name string) error {
	return &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
}

func (r *testResolver) LookupMX(ctx context.Context, name string) ([]*net.MX, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if mx, ok := r.mx[strings.ToLower(name)]; ok {
		return mx, nil
	}
	return nil, notFound(name)
}

func (r *testResolver) LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.a[strings.ToLower(host)] {
		return []net.IPAddr{{IP: net.IPv4(127, 0, 0, 1)}}, nil
	}
	return nil, notFound(host)
}

func (r *testResolver) LookupTXT(ctx context.Context, name string) ([]string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if t, ok := r.txt[strings.ToLower(strings.TrimSuffix(name, "."))]; ok {
		return t, nil
	}
	return nil, notFound(name)
}

func (r *testResolver) LookupAddr(ctx context.Context, addr string) ([]string, error) {
	return nil, notFound(addr)
}

func (r *testResolver) addMX(domain string, hosts ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, h := range hosts {
		r.mx[domain] = append(r.mx[domain], &net.MX{Host: h + ".", Pref: uint16(10 * (i + 1))})
		r.a[h] = true
	}
}

// sink is a scripted SMTP server: rcptReply decides each RCPT.
type sink struct {
	mu        sync.Mutex
	rcptReply func(rcpt string, attempt int) error
	attempts  map[string]int
	got       []sinkMsg
	addr      string
	tls       *tls.Config // offer STARTTLS
	users     map[string]string
}

type sinkMsg struct {
	from  string
	rcpts []string
	data  string
	tls   bool   // arrived over TLS
	user  string // authenticated as
}

func startSink(t *testing.T, rcptReply func(rcpt string, attempt int) error) *sink {
	return startSinkWith(t, rcptReply, nil, nil)
}

// startSinkWith starts a sink that offers STARTTLS with tlsCfg and AUTH
// PLAIN for users (user -> password) when they are set.
func startSinkWith(t *testing.T, rcptReply func(rcpt string, attempt int) error, tlsCfg *tls.Config, users map[string]string) *sink {
	t.Helper()
	s := &sink{rcptReply: rcptReply, attempts: map[string]int{}, tls: tlsCfg, users: users}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) { return &sinkSession{s: s, c: c}, nil }))
	srv.Domain = "sink.test"
	srv.TLSConfig = tlsCfg
	srv.AllowInsecureAuth = true
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = l.Addr().String()
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return s
}

func (s *sink) port() string { _, p, _ := net.SplitHostPort(s.addr); return p }

func (s *sink) messages() []sinkMsg {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]sinkMsg(nil), s.got...)
}

type sinkSession struct {
	s     *sink
	c     *smtp.Conn
	from  string
	rcpts []string
	user  string
}

func (ss *sinkSession) AuthMechanisms() []string {
	if ss.s.users == nil {
		return nil
	}
	return []string{sasl.Plain}
}

func (ss *sinkSession) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, user, pass string) error {
		if p, ok := ss.s.users[user]; ok && p == pass {
			ss.user = user
			return nil
		}
		return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "bad credentials"}
	}), nil
}

func (ss *sinkSession) Reset()        { ss.from, ss.rcpts = "", nil }
func (ss *sinkSession) Logout() error { return nil }
func (ss *sinkSession) Mail(from string, _ *smtp.MailOptions) error {
	ss.from = from
	return nil
}
func (ss *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.s.mu.Lock()
	ss.s.attempts[to]++
	n := ss.s.attempts[to]
	ss.s.mu.Unlock()
	if ss.s.rcptReply != nil {
		if err := ss.s.rcptReply(to, n); err != nil {
			return err
		}
	}
	ss.rcpts = append(ss.rcpts, to)
	return nil
}
func (ss *sinkSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	ss.s.mu.Lock()
	_, isTLS := ss.c.TLSConnectionState()
	ss.s.got = append(ss.s.got, sinkMsg{from: ss.from, rcpts: ss.rcpts, data: string(b), tls: isTLS, user: ss.user})
	ss.s.mu.Unlock()
	return nil
}

func openStore(t *testing.T, path string) *sqlite.Store {
	t.Helper()
	st, err := sqlite.OpenWith(context.Background(), path, nil, sqlite.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func newStoreWith(t *testing.T, emails ...string) (*sqlite.Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "mail.db")
	st := openStore(t, path)
	t.Cleanup(func() { st.Close() })
	for _, e := range emails {
		if _, err := st.CreateAccount(context.Background(), e, "x"); err != nil {
			t.Fatal(err)
		}
	}
	return st, path
}

var testLog = slog.New(slog.NewTextHandler(io.Discard, nil))

// fastConfig is a Config with a quick retry schedule for tests.
func fastConfig(st Store, res Resolver, ports map[string]string) Config {
	return Config{
		Store:          st,
		Hostname:       "mail.example.org",
		Logger:         testLog,
		Resolver:       res,
		PortOverride:   ports,
		RetrySchedule:  []time.Duration{50 * time.Millisecond},
		Lifetime:       time.Hour,
		PollInterval:   20 * time.Millisecond,
		CommandTimeout: 5 * time.Second,
	}
}

func startQueue(t *testing.T, cfg Config) *Queue {
	t.Helper()
	q := New(cfg)
	q.Start()
	t.Cleanup(func() { q.Shutdown(context.Background()) })
	return q
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second) // a hang guard for -race on a loaded CI machine
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func queueEmpty(t *testing.T, st Store) func() bool {
	return func() bool {
		items, err := st.QueueItems(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return len(items) == 0
	}
}

// inbox returns the raw messages in email's INBOX.
func inbox(t *testing.T, st store.Store, email string) [][]byte {
	t.Helper()
	ctx := context.Background()
	a, err := st.AccountByEmail(ctx, email)
	if err != nil {
		t.Fatal(err)
	}
	mb, err := st.MailboxByName(ctx, a.ID, store.Inbox)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	err = st.ListMessages(ctx, mb.Ref(), nil, func(m store.MessageMeta) error {
		b, err := st.MessageBody(ctx, mb.Ref(), m.ID)
		out = append(out, b)
		return err
	})
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		t.Fatal(err)
	}
	return out
}

const testMsg = "From: Alice <alice@example.org>\r\nTo: bob@remote.test\r\nSubject: hello\r\nDate: Mon, 02 Jan 2006 15:04:05 +0000\r\nMessage-ID: <1@example.org>\r\n\r\nHi Bob.\r\n"
