package smtpserver

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailroom/mailroom/auth"
	"github.com/mailroom/mailroom/internal/authtest"
	"github.com/mailroom/mailroom/message"
	"github.com/mailroom/mailroom/store"
	"github.com/mailroom/mailroom/store/sqlite"
)

const (
	testHost     = "mx.example.com"
	testPassword = "correct horse"
)

// testAccounts are created in every harness store.
var testAccounts = []string{"alice@example.com", "bob@example.com", "postmaster@example.com", "carol@other.test"}

// harness is an in-process server on 127.0.0.1:0 over a real SQLite store.
type harness struct {
	t    *testing.T
	st   Store
	full store.Store // the SQLite store, when used
	// inboxFn replaces inboxParts for the in-memory store.
	inboxFn func(email string) ([][]byte, []*message.Part)
	srv     *Server
	addr    string
	serve   chan error

	serveOnce sync.Once
	served    error
}

// testWithSQLite selects the real SQLite store for newHarness; the
// in-memory store exists for the fuzz target and for local debugging.
const testWithSQLite = true

func newHarness(t *testing.T, mode Mode, tweak ...func(*Config)) *harness {
	t.Helper()
	ctx := context.Background()
	hash := authtest.Credentials(testPassword)
	if !testWithSQLite {
		mem := newMemStore(hash, testAccounts...)
		h := startServer(t, mem, mode, tweak...)
		h.inboxFn = mem.inbox
		return h
	}
	st, err := sqlite.OpenWith(ctx, filepath.Join(t.TempDir(), "mail.db"), nil, sqlite.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	for _, a := range testAccounts {
		if _, err := st.CreateAccount(ctx, a, hash); err != nil {
			t.Fatal(err)
		}
	}
	h := startServer(t, st, mode, tweak...)
	h.full = st
	return h
}

func startServer(t *testing.T, st Store, mode Mode, tweak ...func(*Config)) *harness {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(testWriter{t}, nil))
	}
	cfg := Config{
		Mode:     mode,
		Hostname: testHost,
		Store:    st,
		Auth:     auth.NewAuthenticator(st, log, nil),
		Logger:   log,
		Now:      func() time.Time { return time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC) },
		LookupAddr: func(ctx context.Context, ip string) ([]string, error) {
			return []string{"localhost."}, nil
		},
	}
	for _, f := range tweak {
		f(&cfg)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, st: st, srv: New(cfg), addr: l.Addr().String(), serve: make(chan error, 1)}
	go func() { h.serve <- h.srv.Serve(l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		h.srv.Shutdown(ctx)
		if err := h.serveErr(); !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve returned %v, want ErrServerClosed", err)
		}
	})
	return h
}

// serveErr waits for Serve to return and returns its result (again on
// later calls).
func (h *harness) serveErr() error {
	h.serveOnce.Do(func() { h.served = <-h.serve })
	return h.served
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// inbox returns the raw messages in the INBOX of email, in UID order.
func (h *harness) inbox(email string) [][]byte {
	h.t.Helper()
	raws, _ := h.inboxParts(email)
	return raws
}

// inboxParts returns the raw messages and their stored MIME structure.
func (h *harness) inboxParts(email string) ([][]byte, []*message.Part) {
	h.t.Helper()
	if h.inboxFn != nil {
		return h.inboxFn(email)
	}
	ctx := context.Background()
	acct, err := h.st.AccountByEmail(ctx, email)
	if err != nil {
		h.t.Fatal(err)
	}
	mb, err := h.full.MailboxByName(ctx, acct.ID, store.Inbox)
	if err != nil {
		h.t.Fatal(err)
	}
	var ids []int64
	if err := h.full.ListMessages(ctx, mb.Ref(), nil, func(m store.MessageMeta) error {
		ids = append(ids, m.ID)
		return nil
	}); err != nil {
		h.t.Fatal(err)
	}
	var out [][]byte
	var parts []*message.Part
	for _, id := range ids {
		raw, err := h.full.MessageBody(ctx, mb.Ref(), id)
		if err != nil {
			h.t.Fatal(err)
		}
		part, err := h.full.MessagePart(ctx, mb.Ref(), id)
		if err != nil {
			h.t.Fatal(err)
		}
		out = append(out, raw)
		parts = append(parts, part)
	}
	return out, parts
}

// client speaks raw SMTP to the harness.
type client struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

func (h *harness) dial() *client {
	h.t.Helper()
	c, err := net.Dial("tcp", h.addr)
	if err != nil {
		h.t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(20 * time.Second))
	h.t.Cleanup(func() { c.Close() })
	cl := &client{t: h.t, c: c, r: bufio.NewReader(c)}
	cl.expect("220 ")
	return cl
}

// send writes raw bytes.
func (c *client) send(s string) {
	c.t.Helper()
	if _, err := io.WriteString(c.c, s); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// reply reads one (possibly multi-line) reply and returns its lines.
func (c *client) reply() []string {
	c.t.Helper()
	var lines []string
	for {
		line, err := c.r.ReadString('\n')
		if err != nil {
			c.t.Fatalf("read reply (after %q): %v", lines, err)
		}
		line = strings.TrimRight(line, "\r\n")
		lines = append(lines, line)
		if len(line) < 4 || line[3] != '-' {
			return lines
		}
	}
}

// expect reads a reply whose last line starts with prefix.
func (c *client) expect(prefix string) []string {
	c.t.Helper()
	lines := c.reply()
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, prefix) {
		c.t.Fatalf("reply %q, want prefix %q", lines, prefix)
	}
	return lines
}

// cmd sends one command line and expects a reply starting with prefix.
func (c *client) cmd(line, prefix string) []string {
	c.t.Helper()
	c.send(line + "\r\n")
	return c.expect(prefix)
}

// expectClosed checks that the server has closed the connection.
func (c *client) expectClosed() {
	c.t.Helper()
	if line, err := c.r.ReadString('\n'); err == nil {
		c.t.Fatalf("connection open, read %q", line)
	}
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// login authenticates with AUTH PLAIN and an initial response.
func (c *client) login(user string) {
	c.t.Helper()
	c.cmd("AUTH PLAIN "+b64("\x00"+user+"\x00"+testPassword), "235 2.7.0")
}

// sendMail runs one transaction and returns the final reply line.
func (c *client) sendMail(from string, rcpts []string, msg string) string {
	c.t.Helper()
	c.cmd("MAIL FROM:<"+from+">", "250 ")
	for _, r := range rcpts {
		c.cmd("RCPT TO:<"+r+">", "250 ")
	}
	c.cmd("DATA", "354 ")
	c.send(msg + ".\r\n")
	lines := c.expect("250 2.0.0 OK: queued as ")
	return lines[len(lines)-1]
}

const simpleMessage = "From: Alice <alice@example.com>\r\nTo: bob@example.com\r\nSubject: hi\r\n\r\nHello Bob.\r\n"

// headerNames returns the field names of raw's top-level header in
// order. A line that is neither a field nor a continuation is returned
// as "!" + its text, so that an injected line shows up.
func headerNames(raw []byte) []string {
	var names []string
	for _, line := range strings.Split(string(raw[:message.BodyStart(raw)]), "\r\n") {
		if line == "" || line[0] == ' ' || line[0] == '\t' {
			continue
		}
		name, _, ok := strings.Cut(line, ":")
		if !ok || strings.ContainsAny(name, " \t\r\n\x00") {
			names = append(names, "!"+line)
			continue
		}
		names = append(names, name)
	}
	return names
}

// headerValue returns the first unfolded value of the named field of raw's
// top-level header, or "".
func headerValue(raw []byte, name string) string {
	vs := message.HeaderValues(raw[:message.BodyStart(raw)], name)
	if len(vs) == 0 {
		return ""
	}
	return vs[0]
}

// parsedReply is one SMTP reply split into its parts (RFC 5321 §4.2,
// RFC 2034 enhanced status code).
type parsedReply struct {
	code int
	enh  string // "5.1.7", or "" without one
	text []string
}

func parseReply(t *testing.T, lines []string) parsedReply {
	t.Helper()
	var r parsedReply
	for i, l := range lines {
		if len(l) < 3 {
			t.Fatalf("malformed reply line %q", l)
		}
		code, err := strconv.Atoi(l[:3])
		if err != nil || (i > 0 && code != r.code) {
			t.Fatalf("malformed reply %q", lines)
		}
		r.code = code
		text := ""
		if len(l) > 4 {
			text = l[4:]
		}
		if i == len(lines)-1 {
			if e, rest, ok := strings.Cut(text, " "); ok && strings.Count(e, ".") == 2 && e[0] == l[0] {
				r.enh, text = e, rest
			}
		}
		r.text = append(r.text, text)
	}
	return r
}

// want reads a reply and checks its code and enhanced code.
func (c *client) want(code int, enh string) parsedReply {
	c.t.Helper()
	r := parseReply(c.t, c.reply())
	if r.code != code || r.enh != enh {
		c.t.Fatalf("reply %d %s %q, want %d %s", r.code, r.enh, r.text, code, enh)
	}
	return r
}

// do sends one command line and checks the reply's codes.
func (c *client) do(line string, code int, enh string) parsedReply {
	c.t.Helper()
	c.send(line + "\r\n")
	return c.want(code, enh)
}
