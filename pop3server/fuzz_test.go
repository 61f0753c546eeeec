package pop3server

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/mailroom/mailroom/auth"
	"github.com/mailroom/mailroom/store"
)

func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{
		"USER alice", "PASS secret with spaces", "stat", "LIST 1", "TOP 1 10", "UIDL",
		"", " ", "AUTH PLAIN dGVzdAB0ZXN0AHRlc3Q=", "RETR  1", "X\x00Y", "ÄÖÜ 1", "CAPA\t",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		cmd, err := parseCommand(line)
		if err != nil {
			return
		}
		if n := len(cmd.name); n < 1 || n > maxKeywordLength {
			t.Fatalf("keyword %q", cmd.name)
		}
		for _, r := range cmd.name {
			if r < 'A' || r > 'Z' {
				t.Fatalf("keyword %q", cmd.name)
			}
		}
		for _, a := range cmd.args {
			if a == "" || strings.ContainsAny(a, " \r\n") {
				t.Fatalf("argument %q", a)
			}
		}
		if !strings.HasSuffix(line, cmd.rest) || !strings.EqualFold(line[:len(cmd.name)], cmd.name) {
			t.Fatalf("parse of %q lost text: %+v", line, cmd)
		}
	})
}

// pipeConn is a net.Conn whose client side is a fixed byte string.
type pipeConn struct {
	in  *bytes.Reader
	out bytes.Buffer
}

func (c *pipeConn) Read(p []byte) (int, error)  { return c.in.Read(p) }
func (c *pipeConn) Write(p []byte) (int, error) { return c.out.Write(p) }
func (c *pipeConn) Close() error                { return nil }
func (c *pipeConn) LocalAddr() net.Addr         { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 110} }
func (c *pipeConn) RemoteAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}
}
func (c *pipeConn) SetDeadline(time.Time) error      { return nil }
func (c *pipeConn) SetReadDeadline(time.Time) error  { return nil }
func (c *pipeConn) SetWriteDeadline(time.Time) error { return nil }

// FuzzCommandLoop feeds arbitrary client bytes to a whole session: the
// server must neither panic, nor hang, nor hit an unexpected error, and
// every response line must end in CRLF.
func FuzzCommandLoop(f *testing.F) {
	for _, s := range []string{
		"USER u\r\nPASS p\r\nSTAT\r\nLIST\r\nRETR 1\r\nTOP 2 1\r\nUIDL\r\nDELE 1\r\nRSET\r\nDELE 2\r\nQUIT\r\n",
		"AUTH PLAIN AHUAcA==\r\nLIST 2\r\nUIDL 1\r\nRETR 3\r\nQUIT\r\n",
		"AUTH LOGIN\r\ndQ==\r\ncA==\r\nSTAT\r\n",
		"AUTH PLAIN\r\n*\r\nAUTH LOGIN\r\n!!\r\nCAPA\r\nAUTH\r\n",
		"USER u\r\nPASS wrong\r\nPASS p\r\n\r\n\r\nNOOP\r\n",
		"user u\npass p\nretr 1\ntop 1 0\ntop 1 99999999999\nlist 0\nlist -1\nquit\n",
		strings.Repeat("x", 2000) + "\r\nCAPA\r\n",
		strings.Repeat("BAD\r\n", 12),
		"USER u\r\nPASS p\r\nRETR 1",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, input []byte) {
		fs := newFakeStore()
		fs.accounts["u"] = store.Account{ID: 1, Email: "u"}
		fs.inboxes[1] = &fakeMailbox{mb: store.Mailbox{ID: 2, AccountID: 1, Name: store.Inbox, UIDValidity: 7, UIDNext: 1}}
		fs.nextID = 2
		fs.addMessage(1, msgMultipart)
		fs.addMessage(1, "Subject: dots\n\n.\n..\nno eol")
		fs.addMessage(1, "")

		var logs syncBuffer
		s := New(Config{
			Hostname:    "fuzz",
			Maildrop:    fs,
			Logger:      slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn})),
			IdleTimeout: time.Minute,
		})
		s.authenticate = func(ctx context.Context, user, pass string, _ net.Addr) (store.Account, error) {
			if user == "u" && pass == "p" {
				return fs.accounts["u"], nil
			}
			return store.Account{}, auth.ErrInvalidCredentials
		}
		pc := &pipeConn{in: bytes.NewReader(input)}
		done := make(chan struct{})
		go func() {
			defer close(done)
			newConn(s, pc).Serve()
		}()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Fatal("session hangs")
		}
		if l := logs.String(); l != "" {
			t.Fatalf("unexpected log output:\n%s", l)
		}
		out := pc.out.Bytes()
		if !bytes.HasPrefix(out, []byte("+OK fuzz POP3 server ready\r\n")) {
			t.Fatalf("greeting: %q", out)
		}
		if len(out) > 0 && !bytes.HasSuffix(out, []byte("\r\n")) {
			t.Fatalf("output does not end in CRLF: %q", out)
		}
		if bytes.Contains(bytes.ReplaceAll(out, []byte("\r\n"), nil), []byte("\n")) {
			t.Fatalf("bare LF in output: %q", out)
		}
	})
}
