package imapserver

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mailroom/mailroom/auth"
	"github.com/mailroom/mailroom/internal/authtest"
	"github.com/mailroom/mailroom/message"
	"github.com/mailroom/mailroom/store"
	"github.com/mailroom/mailroom/store/sqlite"
)

const (
	testUser = "mjl@example.org"
	testPass = "testtest"
)

type testServer struct {
	t    testing.TB
	srv  *Server
	st   *sqlite.Store
	addr string
	acct store.Account
	path string // the SQLite file
}

type serverOpt func(*Config)

// startTestServer runs a Server on 127.0.0.1:0 over a temporary SQLite store
// with one account.
func startTestServer(t testing.TB, opts ...serverOpt) *testServer {
	t.Helper()
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if os.Getenv("IMAPTRACE") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	path := filepath.Join(t.TempDir(), "mail.db")
	st, err := sqlite.OpenWith(ctx, path, log, sqlite.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	hash := authtest.Credentials(testPass)
	acct, err := st.CreateAccount(ctx, testUser, hash)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		Hostname: "mail.example.org",
		Store:    st,
		Auth:     auth.NewAuthenticator(st, log, nil),
		Logger:   log,
	}
	for _, o := range opts {
		o(&cfg)
	}
	srv := New(cfg)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-done; err != ErrServerClosed {
			t.Errorf("serve: %v", err)
		}
		st.Close()
	})
	return &testServer{t: t, srv: srv, st: st, addr: l.Addr().String(), acct: acct, path: path}
}

// deliver stores raw into the account's INBOX (or mailbox name).
func (ts *testServer) deliver(mailbox, raw string) uint32 {
	ts.t.Helper()
	raw = strings.ReplaceAll(raw, "\n", "\r\n")
	ctx := context.Background()
	target := store.Target{AccountID: ts.acct.ID}
	if mailbox != "" && mailbox != "INBOX" {
		mb, err := ts.st.MailboxByName(ctx, ts.acct.ID, mailbox)
		if err != nil {
			ts.t.Fatal(err)
		}
		target.MailboxID = mb.ID
	}
	d, err := ts.st.Deliver(ctx, []store.Target{target}, store.NewMessage{Raw: []byte(raw), Part: message.Parse([]byte(raw))})
	if err != nil {
		ts.t.Fatal(err)
	}
	return d[0].UID
}

type testConn struct {
	t          testing.TB
	nc         net.Conn
	br         *bufio.Reader
	tag        int
	greet      string
	lastTagged string
}

func (ts *testServer) dial() *testConn {
	ts.t.Helper()
	nc, err := net.Dial("tcp", ts.addr)
	if err != nil {
		ts.t.Fatal(err)
	}
	ts.t.Cleanup(func() { nc.Close() })
	tc := &testConn{t: ts.t, nc: nc, br: bufio.NewReader(nc)}
	tc.greet = tc.readResponse()
	if !strings.HasPrefix(tc.greet, "* OK [CAPABILITY ") {
		ts.t.Fatalf("greeting %q", tc.greet)
	}
	return tc
}

// login dials and logs in.
func (ts *testServer) login() *testConn {
	tc := ts.dial()
	tc.transactf("ok", "login %s %s", testUser, testPass)
	return tc
}

func (tc *testConn) writeLine(format string, args ...any) {
	tc.t.Helper()
	tc.nc.SetWriteDeadline(time.Now().Add(30 * time.Second)) // a hang guard, like readResponse's
	if _, err := fmt.Fprintf(tc.nc, format+"\r\n", args...); err != nil {
		tc.t.Fatal(err)
	}
}

// readResponse reads one response, literals included inline.
func (tc *testConn) readResponse() string {
	tc.t.Helper()
	// Generous: it only guards against a hang, and -race on a loaded
	// 2-core machine can take seconds for a large FETCH.
	tc.nc.SetReadDeadline(time.Now().Add(30 * time.Second))
	var sb strings.Builder
	for {
		line, err := tc.br.ReadString('\n')
		if err != nil {
			dumpOnTimeout(tc.t, err)
			tc.t.Fatalf("read: %v (have %q)", err, sb.String())
		}
		line = strings.TrimSuffix(line, "\r\n")
		sb.WriteString(line)
		n, ok := trailingLiteral(line)
		if !ok {
			return sb.String()
		}
		buf := make([]byte, n)
		if _, err := io.ReadFull(tc.br, buf); err != nil {
			tc.t.Fatal(err)
		}
		sb.WriteString("\r\n")
		sb.Write(buf)
	}
}

func trailingLiteral(line string) (int, bool) {
	if !strings.HasSuffix(line, "}") {
		return 0, false
	}
	i := strings.LastIndexByte(line, '{')
	if i < 0 {
		return 0, false
	}
	n, err := strconv.Atoi(line[i+1 : len(line)-1])
	return n, err == nil
}

// transactf sends a tagged command, reads until its tagged response,
// checks the status ("ok", "no", "bad") and returns the untagged responses.
func (tc *testConn) transactf(status, format string, args ...any) []string {
	tc.t.Helper()
	tc.tag++
	tag := "x" + strconv.Itoa(tc.tag)
	tc.writeLine(tag+" "+format, args...)
	return tc.readUntilTagged(tag, status)
}

func (tc *testConn) readUntilTagged(tag, status string) []string {
	tc.t.Helper()
	var untagged []string
	for {
		r := tc.readResponse()
		if strings.HasPrefix(r, tag+" ") {
			got := strings.SplitN(r, " ", 3)
			if len(got) < 2 || !strings.EqualFold(got[1], status) {
				tc.t.Fatalf("tagged response %q, want %s; untagged %q", r, status, untagged)
			}
			tc.lastTagged = r
			return untagged
		}
		untagged = append(untagged, r)
	}
}

// hasLine fails the test unless some line contains want.
func hasLine(t *testing.T, lines []string, want string) string {
	t.Helper()
	for _, l := range lines {
		if strings.Contains(l, want) {
			return l
		}
	}
	t.Fatalf("no response containing %q in %q", want, lines)
	return ""
}

func noLine(t *testing.T, lines []string, unwanted string) {
	t.Helper()
	for _, l := range lines {
		if strings.Contains(l, unwanted) {
			t.Fatalf("unexpected %q in %q", unwanted, lines)
		}
	}
}

const simpleMsg = `From: Alice <alice@example.org>
To: mjl@example.org
Subject: hello
Date: Mon, 02 Jan 2006 15:04:05 +0000
Message-ID: <1@example.org>

Hi there.
`

const multipartMsg = `From: Bob <bob@example.org>
To: mjl@example.org
Subject: files
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=x

--x
Content-Type: text/plain

hello
--x
Content-Type: text/plain; name=foo.txt
Content-Transfer-Encoding: base64
Content-Disposition: attachment; filename=foo.txt

YmFy
--x--
`

// dumpOnTimeout logs every goroutine's stack when a read timed out: a
// response that never came is a hang in the server (or a machine too
// loaded to answer within the guard), and the stacks tell which.
func dumpOnTimeout(t testing.TB, err error) {
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		return
	}
	var b strings.Builder
	pprof.Lookup("goroutine").WriteTo(&b, 1)
	t.Logf("goroutines at the read timeout:\n%s", b.String())
}
