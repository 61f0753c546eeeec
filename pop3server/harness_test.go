package pop3server

import (
	"bufio"
	"bytes"
	"context"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailroom/mailroom/auth"
	"github.com/mailroom/mailroom/internal/authtest"
	"github.com/mailroom/mailroom/message"
	"github.com/mailroom/mailroom/store"
)

// fakeStore is an in-memory Backend (and auth.Accounts) with one INBOX per
// account.
type fakeStore struct {
	mu         sync.Mutex
	accounts   map[string]store.Account
	inboxes    map[int64]*fakeMailbox // by account id
	nextID     int64
	expungeErr error
	bodyReads  int // calls of MessageBody and ListBodies
}

type fakeMailbox struct {
	mb   store.Mailbox
	msgs []fakeMessage
}

type fakeMessage struct {
	meta store.MessageMeta
	raw  []byte
}

var (
	_ Backend       = (*fakeStore)(nil)
	_ auth.Accounts = (*fakeStore)(nil)
)

func newFakeStore() *fakeStore {
	return &fakeStore{accounts: map[string]store.Account{}, inboxes: map[int64]*fakeMailbox{}}
}

func (f *fakeStore) addAccount(t testing.TB, email, password string) store.Account {
	t.Helper()
	hash := authtest.Credentials(password)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextID++
	a := store.Account{ID: f.nextID, Email: email, PasswordHash: hash}
	f.accounts[email] = a
	f.nextID++
	f.inboxes[a.ID] = &fakeMailbox{mb: store.Mailbox{ID: f.nextID, AccountID: a.ID, Name: store.Inbox, UIDValidity: 1700000000 + uint32(a.ID), UIDNext: 1}}
	return a
}

// addMessage adds raw to the INBOX as a store does: WireSize counted at
// delivery.
func (f *fakeStore) addMessage(accountID int64, raw string) uint32 {
	return f.add(accountID, raw, message.CRLFSize([]byte(raw)))
}

// addLegacyMessage adds raw with WireSize unknown (-1), as a row written
// by an older program reads.
func (f *fakeStore) addLegacyMessage(accountID int64, raw string) uint32 {
	return f.add(accountID, raw, -1)
}

func (f *fakeStore) reads() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.bodyReads
}

func (f *fakeStore) add(accountID int64, raw string, wireSize int64) uint32 {
	f.mu.Lock()
	defer f.mu.Unlock()
	box := f.inboxes[accountID]
	f.nextID++
	uid := box.mb.UIDNext
	box.mb.UIDNext++
	box.msgs = append(box.msgs, fakeMessage{
		meta: store.MessageMeta{ID: f.nextID, UID: uid, Size: int64(len(raw)), WireSize: wireSize},
		raw:  []byte(raw),
	})
	return uid
}

func (f *fakeStore) uids(accountID int64) []uint32 {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []uint32
	for _, m := range f.inboxes[accountID].msgs {
		out = append(out, m.meta.UID)
	}
	return out
}

func (f *fakeStore) AccountByEmail(ctx context.Context, email string) (store.Account, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a, ok := f.accounts[email]
	if !ok {
		return store.Account{}, store.ErrNotFound
	}
	return a, nil
}

func (f *fakeStore) MailboxByName(ctx context.Context, accountID int64, name string) (store.Mailbox, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	box, ok := f.inboxes[accountID]
	if !ok || !strings.EqualFold(name, store.Inbox) {
		return store.Mailbox{}, store.ErrNotFound
	}
	return box.mb, nil
}

// box returns the mailbox ref names, scoped by account and UIDVALIDITY
// as a real store does.
func (f *fakeStore) box(ref store.MailboxRef) *fakeMailbox {
	for _, b := range f.inboxes {
		if b.mb.ID == ref.MailboxID && b.mb.AccountID == ref.AccountID && (ref.UIDValidity == 0 || ref.UIDValidity == b.mb.UIDValidity) {
			return b
		}
	}
	return nil
}

func (f *fakeStore) ListMessages(ctx context.Context, mailboxID store.MailboxRef, uids []uint32, fn func(store.MessageMeta) error) error {
	f.mu.Lock()
	box := f.box(mailboxID)
	if box == nil {
		f.mu.Unlock()
		return store.ErrNotFound
	}
	var metas []store.MessageMeta
	for _, m := range box.msgs {
		if uids == nil || containsUID(uids, m.meta.UID) {
			metas = append(metas, m.meta)
		}
	}
	f.mu.Unlock()
	for _, m := range metas {
		if err := fn(m); err != nil {
			return err
		}
	}
	return nil
}

func (f *fakeStore) ListBodies(ctx context.Context, mailboxID store.MailboxRef, uids []uint32, fn func(store.MessageMeta, []byte) error) error {
	f.mu.Lock()
	f.bodyReads++
	box := f.box(mailboxID)
	if box == nil {
		f.mu.Unlock()
		return store.ErrNotFound
	}
	var msgs []fakeMessage
	for _, m := range box.msgs {
		if uids == nil || containsUID(uids, m.meta.UID) {
			msgs = append(msgs, fakeMessage{meta: m.meta, raw: bytes.Clone(m.raw)})
		}
	}
	f.mu.Unlock()
	for _, m := range msgs {
		if err := fn(m.meta, m.raw); err != nil {
			return err
		}
	}
	return nil
}

func (f *fakeStore) MessageBody(ctx context.Context, mbox store.MailboxRef, messageID int64) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.bodyReads++
	if b := f.box(mbox); b != nil {
		for _, m := range b.msgs {
			if m.meta.ID == messageID {
				return bytes.Clone(m.raw), nil
			}
		}
	}
	return nil, store.ErrNotFound
}

func (f *fakeStore) ReadMessageBody(ctx context.Context, mbox store.MailboxRef, messageID int64, fn func([]byte) error) error {
	raw, err := f.MessageBody(ctx, mbox, messageID)
	if err != nil {
		return err
	}
	return fn(raw)
}

func (f *fakeStore) Expunge(ctx context.Context, mailboxID store.MailboxRef, uids []uint32, onlyDeleted bool) ([]uint32, uint64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.expungeErr != nil {
		return nil, 0, f.expungeErr
	}
	box := f.box(mailboxID)
	if box == nil {
		return nil, 0, store.ErrNotFound
	}
	var kept []fakeMessage
	var gone []uint32
	for _, m := range box.msgs {
		if uids == nil || containsUID(uids, m.meta.UID) {
			gone = append(gone, m.meta.UID)
			continue
		}
		kept = append(kept, m)
	}
	box.msgs = kept
	return gone, 0, nil
}

func containsUID(uids []uint32, uid uint32) bool {
	for _, u := range uids {
		if u == uid {
			return true
		}
	}
	return false
}

// syncBuffer collects log output from server goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type testServer struct {
	addr  string
	store *fakeStore
	srv   *Server
	logs  *syncBuffer
	acct  store.Account // user@example.com / secret
}

const (
	testUser = "user@example.com"
	testPass = "secret pass" // a space: PASS takes the rest of the line
)

// newTestServer starts a server on 127.0.0.1:0 backed by a fake store with
// one account, testUser/testPass. mod may adjust the Config.
func newTestServer(t testing.TB, mod func(*Config)) *testServer {
	t.Helper()
	fs := newFakeStore()
	acct := fs.addAccount(t, testUser, testPass)
	return startServer(t, fs, fs, acct, mod)
}

func startServer(t testing.TB, b Backend, accounts auth.Accounts, acct store.Account, mod func(*Config)) *testServer {
	t.Helper()
	return startServerWrapped(t, b, accounts, acct, mod, nil)
}

// startServerWrapped is startServer with the listener wrapped by wrap (if
// not nil), for tests that interpose on the server's connections.
func startServerWrapped(t testing.TB, b Backend, accounts auth.Accounts, acct store.Account, mod func(*Config), wrap func(net.Listener) net.Listener) *testServer {
	t.Helper()
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg := Config{
		Hostname: "pop.example.com",
		Maildrop: b,
		Auth:     auth.NewAuthenticator(accounts, log, nil),
		Logger:   log,
	}
	if mod != nil {
		mod(&cfg)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if wrap != nil {
		l = wrap(l)
	}
	srv := New(cfg)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-done; err != ErrServerClosed {
			t.Errorf("Serve returned %v, want ErrServerClosed", err)
		}
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	fs, _ := b.(*fakeStore)
	return &testServer{addr: l.Addr().String(), store: fs, srv: srv, logs: logs, acct: acct}
}

// client speaks POP3 to a test server.
type client struct {
	t    testing.TB
	conn net.Conn
	r    *bufio.Reader
}

// dial connects and checks the greeting.
func (ts *testServer) dial(t testing.TB) *client {
	t.Helper()
	conn, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	c := &client{t: t, conn: conn, r: bufio.NewReader(conn)}
	if g := c.line(); g != "+OK pop.example.com POP3 server ready" {
		t.Fatalf("greeting %q", g)
	}
	return c
}

// login dials and logs in as testUser.
func (ts *testServer) login(t testing.TB) *client {
	t.Helper()
	c := ts.dial(t)
	c.expect("USER "+testUser, "+OK send PASS")
	c.expect("PASS "+testPass, "+OK maildrop locked and ready")
	return c
}

func (c *client) send(line string) {
	c.t.Helper()
	if _, err := c.conn.Write([]byte(line + "\r\n")); err != nil {
		c.t.Fatalf("write %q: %v", line, err)
	}
}

// line reads one line without its CRLF, which it requires.
func (c *client) line() string {
	c.t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	s, err := c.r.ReadString('\n')
	if err != nil {
		c.t.Fatalf("read: %v (got %q)", err, s)
	}
	if !strings.HasSuffix(s, "\r\n") {
		c.t.Fatalf("line %q does not end in CRLF", s)
	}
	return strings.TrimSuffix(s, "\r\n")
}

// cmd sends line and returns the first response line.
func (c *client) cmd(line string) string {
	c.t.Helper()
	c.send(line)
	return c.line()
}

// expect sends line and requires the exact response want.
func (c *client) expect(line, want string) {
	c.t.Helper()
	if got := c.cmd(line); got != want {
		c.t.Fatalf("%s: got %q, want %q", line, got, want)
	}
}

// expectPrefix sends line and requires a response starting with want.
func (c *client) expectPrefix(line, want string) string {
	c.t.Helper()
	got := c.cmd(line)
	if !strings.HasPrefix(got, want) {
		c.t.Fatalf("%s: got %q, want prefix %q", line, got, want)
	}
	return got
}

// data reads the lines of a multi-line response up to the terminating
// ".", exactly as sent (still dot-stuffed), joined with CRLF.
func (c *client) data() string {
	c.t.Helper()
	var b strings.Builder
	for {
		l := c.line()
		if l == "." {
			return b.String()
		}
		b.WriteString(l)
		b.WriteString("\r\n")
	}
}

// lines reads a multi-line response as a list of lines.
func (c *client) lines() []string {
	c.t.Helper()
	s := c.data()
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\r\n"), "\r\n")
}

// closed requires the server to have closed the connection.
func (c *client) closed() {
	c.t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	rest, err := c.r.ReadString('\n')
	if err == nil || rest != "" {
		c.t.Fatalf("connection still open: read %q, %v", rest, err)
	}
}
