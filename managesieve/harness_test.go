package managesieve

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mailroom/mailroom/auth"
	"github.com/mailroom/mailroom/internal/authtest"
	"github.com/mailroom/mailroom/internal/tlsconfig"
	"github.com/mailroom/mailroom/store"
	"github.com/mailroom/mailroom/store/sqlite"
)

const (
	testUser = "alice@example.org"
	testPass = "correct horse"
)

type testServer struct {
	srv  *Server
	addr string
	st   *sqlite.Store
	acct store.Account
}

// startServer serves a fresh SQLite store holding testUser on
// 127.0.0.1:0; mod may change the Config first.
func startServer(t testing.TB, mod func(*Config)) *testServer {
	t.Helper()
	st, err := sqlite.OpenWith(t.Context(), filepath.Join(t.TempDir(), "mail.db"), nil, sqlite.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	hash := authtest.Credentials(testPass)
	acct, err := st.CreateAccount(t.Context(), testUser, hash)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg := Config{
		Hostname: "test.example",
		Store:    st,
		Auth:     auth.NewAuthenticator(st, log, nil),
		Logger:   log,
	}
	if mod != nil {
		mod(&cfg)
	}
	srv := New(cfg)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() {
		ctx, cancel := contextWithTimeout(5 * time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return &testServer{srv: srv, addr: l.Addr().String(), st: st, acct: acct}
}

// response is one parsed server response: the data lines before the
// status, each split into its strings and atoms, and the status.
type response struct {
	lines [][]string
	kind  string // OK, NO or BYE
	code  string // inside the parentheses, "" for none
	text  string
}

func (r response) String() string {
	return fmt.Sprintf("%v %s (%s) %q", r.lines, r.kind, r.code, r.text)
}

type client struct {
	t  testing.TB
	nc net.Conn
	br *bufio.Reader
}

func dial(t testing.TB, addr string) *client {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(20 * time.Second))
	return &client{t: t, nc: nc, br: bufio.NewReader(nc)}
}

// greet reads the greeting; it is a capability response ending in OK.
func (c *client) greet() response {
	c.t.Helper()
	r := c.read()
	if r.kind != "OK" {
		c.t.Fatalf("greeting: %v", r)
	}
	return r
}

func (c *client) send(s string) {
	c.t.Helper()
	if _, err := io.WriteString(c.nc, s); err != nil {
		c.t.Fatal(err)
	}
}

// cmd sends line (CRLF added) and reads the response.
func (c *client) cmd(line string) response {
	c.t.Helper()
	c.send(line + "\r\n")
	return c.read()
}

// expect sends line and requires the status kind.
func (c *client) expect(kind, line string) response {
	c.t.Helper()
	r := c.cmd(line)
	if r.kind != kind {
		c.t.Fatalf("%s: got %v, want %s", line, r, kind)
	}
	return r
}

// read parses one response (RFC 5804 §4).
func (c *client) read() response {
	c.t.Helper()
	var r response
	for {
		toks, err := c.readTokens()
		if err != nil {
			c.t.Fatalf("reading response: %v (so far %v)", err, r)
		}
		if len(toks) > 0 && slices.Contains([]string{"OK", "NO", "BYE"}, toks[0]) {
			r.kind = toks[0]
			rest := toks[1:]
			if len(rest) > 0 && strings.HasPrefix(rest[0], "(") {
				r.code = strings.TrimSuffix(strings.TrimPrefix(rest[0], "("), ")")
				rest = rest[1:]
			}
			if len(rest) > 0 {
				r.text = rest[0]
			}
			if len(rest) > 1 {
				c.t.Fatalf("status line with extra tokens: %q", toks)
			}
			return r
		}
		r.lines = append(r.lines, toks)
	}
}

// readTokens reads one line: atoms, quoted strings (unescaped),
// literals (their content) and a parenthesized response code (kept
// whole, with its strings unescaped, as "(CODE arg)").
func (c *client) readTokens() ([]string, error) {
	var toks []string
	for {
		b, err := c.br.ReadByte()
		if err != nil {
			return nil, err
		}
		switch b {
		case '\r':
			if b, err = c.br.ReadByte(); err != nil || b != '\n' {
				return nil, fmt.Errorf("CR without LF")
			}
			return toks, nil
		case '\n':
			return nil, fmt.Errorf("bare LF")
		case ' ':
		case '"':
			s, err := c.quoted()
			if err != nil {
				return nil, err
			}
			toks = append(toks, s)
		case '{':
			n, err := c.br.ReadString('}')
			if err != nil {
				return nil, err
			}
			size, err := strconv.Atoi(strings.TrimSuffix(n, "}"))
			if err != nil {
				return nil, err
			}
			crlf := make([]byte, 2)
			if _, err := io.ReadFull(c.br, crlf); err != nil || string(crlf) != "\r\n" {
				return nil, fmt.Errorf("literal without CRLF")
			}
			buf := make([]byte, size)
			if _, err := io.ReadFull(c.br, buf); err != nil {
				return nil, err
			}
			toks = append(toks, string(buf))
		case '(':
			var sb strings.Builder
			sb.WriteByte('(')
			for {
				b, err := c.br.ReadByte()
				if err != nil {
					return nil, err
				}
				if b == '"' {
					s, err := c.quoted()
					if err != nil {
						return nil, err
					}
					sb.WriteString(s)
					continue
				}
				sb.WriteByte(b)
				if b == ')' {
					break
				}
			}
			toks = append(toks, sb.String())
		default:
			sb := []byte{b}
			for {
				p, err := c.br.Peek(1)
				if err != nil {
					return nil, err
				}
				if p[0] == ' ' || p[0] == '\r' {
					break
				}
				b, _ := c.br.ReadByte()
				sb = append(sb, b)
			}
			toks = append(toks, string(sb))
		}
	}
}

func (c *client) quoted() (string, error) {
	var sb []byte
	for {
		b, err := c.br.ReadByte()
		if err != nil {
			return "", err
		}
		switch b {
		case '"':
			return string(sb), nil
		case '\\':
			if b, err = c.br.ReadByte(); err != nil {
				return "", err
			}
		case '\r', '\n':
			return "", fmt.Errorf("line end in quoted string")
		}
		sb = append(sb, b)
	}
}

// login authenticates with PLAIN.
func (c *client) login(user, pass string) response {
	c.t.Helper()
	ir := base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + pass))
	return c.cmd(`AUTHENTICATE "PLAIN" "` + ir + `"`)
}

// session dials, reads the greeting and logs in as testUser.
func (ts *testServer) session(t testing.TB) *client {
	t.Helper()
	c := dial(t, ts.addr)
	c.greet()
	if r := c.login(testUser, testPass); r.kind != "OK" {
		t.Fatalf("login: %v", r)
	}
	return c
}

// caps turns capability lines into a map.
func caps(r response) map[string]string {
	m := map[string]string{}
	for _, l := range r.lines {
		v := ""
		if len(l) > 1 {
			v = l[1]
		}
		if len(l) > 0 {
			m[l[0]] = v
		}
	}
	return m
}

// literal formats s as a non-synchronizing literal.
func literal(s string) string {
	return "{" + strconv.Itoa(len(s)) + "+}\r\n" + s
}

// testTLS returns a self-signed server configuration and a client one
// trusting it.
func testTLS(t testing.TB) (server, client *tls.Config) {
	t.Helper()
	dir := t.TempDir()
	m, err := tlsconfig.NewSelfSigned(dir, "sieve.example", time.Now(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	pem, err := os.ReadFile(filepath.Join(dir, tlsconfig.SelfSignedCert))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	return m.TLSConfig(), &tls.Config{RootCAs: pool, ServerName: "sieve.example"}
}

func contextWithTimeout(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}

type netAddr = net.Addr

const timeMillisecond = time.Millisecond

func newReader(r io.Reader) *bufio.Reader { return bufio.NewReader(r) }

func authLimits() auth.Limits {
	return auth.Limits{FailuresPerIP: 2, FailuresPerAccount: 2, Window: time.Hour}
}
