package spamlearn

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mailroom/mailroom/auth"
	"github.com/mailroom/mailroom/imapserver"
	"github.com/mailroom/mailroom/internal/authtest"
	"github.com/mailroom/mailroom/message"
	"github.com/mailroom/mailroom/store"
	"github.com/mailroom/mailroom/store/sqlite"
)

var _ imapserver.CopyObserver = (*Learner)(nil)

// request is what the fake controller received.
type request struct {
	method, path, password, contentType, body string
}

// fakeController is Rspamd's controller as far as learning goes: it
// records requests and answers with the statuses of fail first, then 200.
type fakeController struct {
	mu   sync.Mutex
	reqs []request
	fail []int
}

func (f *fakeController) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.reqs = append(f.reqs, request{r.Method, r.URL.Path, r.Header.Get("Password"), r.Header.Get("Content-Type"), string(b)})
	status := http.StatusOK
	if len(f.fail) > 0 {
		status, f.fail = f.fail[0], f.fail[1:]
	}
	f.mu.Unlock()
	w.WriteHeader(status)
	io.WriteString(w, `{"success":true}`)
}

func (f *fakeController) take() []request {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.reqs
	f.reqs = nil
	return r
}

type countMetrics struct {
	mu sync.Mutex
	n  map[string]int
}

func (m *countMetrics) SpamLearn(kind, outcome string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.n == nil {
		m.n = map[string]int{}
	}
	m.n[kind+"/"+outcome]++
}

func (m *countMetrics) get(k string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.n[k]
}

type fixture struct {
	st     *sqlite.Store
	acct   store.Account
	addr   string
	ctrl   *fakeController
	learn  *Learner
	counts *countMetrics
}

func setup(t *testing.T, mod func(*Config)) *fixture {
	t.Helper()
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	st, err := sqlite.OpenWith(ctx, filepath.Join(t.TempDir(), "mail.db"), log, sqlite.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	hash := authtest.Credentials("testtest")
	acct, err := st.CreateAccount(ctx, "u@example.org", hash)
	if err != nil {
		t.Fatal(err)
	}
	ctrl := &fakeController{}
	hs := httptest.NewServer(ctrl)
	t.Cleanup(hs.Close)
	counts := &countMetrics{}
	cfg := Config{Controller: hs.URL, Password: "s3cret", Store: st, Logger: log, Metrics: counts, RetryDelay: time.Millisecond}
	if mod != nil {
		mod(&cfg)
	}
	l, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := imapserver.New(imapserver.Config{
		Hostname: "mail.example.org", Store: st, Logger: log,
		Auth: auth.NewAuthenticator(st, log, nil), Copies: l,
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return &fixture{st: st, acct: acct, addr: ln.Addr().String(), ctrl: ctrl, learn: l, counts: counts}
}

func (f *fixture) run(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { f.learn.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

func (f *fixture) deliver(t *testing.T, raw string) {
	t.Helper()
	_, err := f.st.Deliver(context.Background(), []store.Target{{AccountID: f.acct.ID}}, store.NewMessage{Raw: []byte(raw), Part: message.Parse([]byte(raw))})
	if err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) client(t *testing.T) *imapclient.Client {
	t.Helper()
	c, err := imapclient.DialInsecure(f.addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Login("u@example.org", "testtest").Wait(); err != nil {
		t.Fatal(err)
	}
	return c
}

const (
	spamMsg = "From: a@example.com\r\nSubject: buy now\r\n\r\ncheap pills\r\n"
	hamMsg  = "From: b@example.com\r\nSubject: lunch\r\n\r\nsee you at noon\r\n"
)

// waitIdle waits until every queued submission is finished, bounded.
func waitIdle(t *testing.T, l *Learner) {
	t.Helper()
	done := make(chan struct{})
	go func() { l.wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("submissions not finished after 30 s")
	}
}

func TestMoveIntoAndOutOfJunk(t *testing.T) {
	t.Parallel()
	f := setup(t, nil)
	f.run(t)
	f.deliver(t, spamMsg)
	f.deliver(t, hamMsg)
	c := f.client(t)
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	// Into Junk: spam.
	if _, err := c.Move(imap.UIDSetNum(1), "Junk").Wait(); err != nil {
		t.Fatal(err)
	}
	waitIdle(t, f.learn)
	got := f.ctrl.take()
	want := request{http.MethodPost, "/learnspam", "s3cret", "message/rfc822", spamMsg}
	if len(got) != 1 || got[0] != want {
		t.Fatalf("after MOVE to Junk: %+v, want [%+v]", got, want)
	}

	// INBOX to Archive teaches nothing.
	if _, err := c.Copy(imap.UIDSetNum(2), "Archive").Wait(); err != nil {
		t.Fatal(err)
	}
	waitIdle(t, f.learn)
	if got := f.ctrl.take(); len(got) != 0 {
		t.Fatalf("COPY INBOX to Archive submitted %+v", got)
	}

	// Out of Junk into INBOX: ham (the moved spam message is the one
	// the user has changed their mind about).
	if _, err := c.Select("Junk", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Move(imap.UIDSetNum(1), "INBOX").Wait(); err != nil {
		t.Fatal(err)
	}
	waitIdle(t, f.learn)
	got = f.ctrl.take()
	want = request{http.MethodPost, "/learnham", "s3cret", "message/rfc822", spamMsg}
	if len(got) != 1 || got[0] != want {
		t.Fatalf("after MOVE Junk to INBOX: %+v, want [%+v]", got, want)
	}

	// COPY into Junk teaches too.
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Copy(imap.UIDSetNum(2), "Junk").Wait(); err != nil {
		t.Fatal(err)
	}
	waitIdle(t, f.learn)
	got = f.ctrl.take()
	want = request{http.MethodPost, "/learnspam", "s3cret", "message/rfc822", hamMsg}
	if len(got) != 1 || got[0] != want {
		t.Fatalf("after COPY to Junk: %+v, want [%+v]", got, want)
	}
	if n := f.counts.get("spam/learned"); n != 2 {
		t.Errorf("spam/learned = %d, want 2", n)
	}
	if n := f.counts.get("ham/learned"); n != 1 {
		t.Errorf("ham/learned = %d, want 1", n)
	}
}

func TestRetries(t *testing.T) {
	t.Parallel()
	f := setup(t, func(c *Config) { c.MaxAttempts = 3 })
	f.run(t)
	f.deliver(t, spamMsg)
	f.deliver(t, hamMsg)
	c := f.client(t)
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	// Two 5xx answers, then success: three requests, learned.
	f.ctrl.mu.Lock()
	f.ctrl.fail = []int{503, 500}
	f.ctrl.mu.Unlock()
	if _, err := c.Move(imap.UIDSetNum(1), "Junk").Wait(); err != nil {
		t.Fatal(err)
	}
	waitIdle(t, f.learn)
	if got := f.ctrl.take(); len(got) != 3 {
		t.Fatalf("%d requests, want 3", len(got))
	}
	if f.counts.get("spam/learned") != 1 || f.counts.get("spam/failed") != 0 {
		t.Fatalf("counts %v", f.counts.n)
	}
	// A 4xx is not retried: one request, failed.
	f.ctrl.mu.Lock()
	f.ctrl.fail = []int{403, 403, 403}
	f.ctrl.mu.Unlock()
	if _, err := c.Move(imap.UIDSetNum(2), "Junk").Wait(); err != nil {
		t.Fatal(err)
	}
	waitIdle(t, f.learn)
	if got := f.ctrl.take(); len(got) != 1 {
		t.Fatalf("%d requests after 403, want 1", len(got))
	}
	if f.counts.get("spam/failed") != 1 {
		t.Fatalf("counts %v", f.counts.n)
	}
}

func TestQueueFullDrops(t *testing.T) {
	t.Parallel()
	f := setup(t, func(c *Config) { c.QueueSize = 2 })
	// Run is not started: the queue fills.
	for i := 0; i < 5; i++ {
		f.deliver(t, strings.Replace(spamMsg, "pills", "pills "+string(rune('a'+i)), 1))
	}
	c := f.client(t)
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Move(imap.UIDSetNum(1, 2, 3, 4, 5), "Junk").Wait(); err != nil {
		t.Fatal(err)
	}
	if n := f.counts.get("spam/dropped"); n != 3 {
		t.Fatalf("dropped %d, want 3", n)
	}
	f.run(t)
	waitIdle(t, f.learn)
	if got := f.ctrl.take(); len(got) != 2 {
		t.Fatalf("%d submitted, want 2", len(got))
	}
	if n := f.counts.get("spam/learned"); n != 2 {
		t.Fatalf("learned %d, want 2", n)
	}
}

func TestKind(t *testing.T) {
	t.Parallel()
	inbox := store.Mailbox{Name: store.Inbox}
	junk := store.Mailbox{Name: "Junk", SpecialUse: store.UseJunk}
	arch := store.Mailbox{Name: "Archive", SpecialUse: store.UseArchive}
	for _, tc := range []struct {
		src, dst store.Mailbox
		want     string
	}{
		{inbox, junk, Spam}, {arch, junk, Spam}, {junk, inbox, Ham}, {junk, arch, ""}, {inbox, arch, ""}, {junk, junk, ""},
	} {
		if got := Kind(tc.src, tc.dst); got != tc.want {
			t.Errorf("Kind(%s, %s) = %q, want %q", tc.src.Name, tc.dst.Name, got, tc.want)
		}
	}
}
