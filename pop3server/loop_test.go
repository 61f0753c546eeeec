package pop3server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/mailroom/mailroom/store"
)

func TestLongLine(t *testing.T) {
	ts := newTestServer(t, nil)
	c := ts.dial(t)
	c.expect("NOOP "+strings.Repeat("x", 600), "-ERR line too long")
	c.expect("USER "+strings.Repeat("x", 5000), "-ERR line too long")
	// The rest of the long line was discarded; the session goes on.
	c.expect("USER "+testUser, "+OK send PASS")
	c.expect("PASS "+testPass, "+OK maildrop locked and ready")
	c.expect("STAT", "+OK 0 0")
}

func TestUnknownAndMalformedCommands(t *testing.T) {
	ts := newTestServer(t, nil)
	c := ts.dial(t)
	c.expect("HELO there", "-ERR unknown command")
	c.expect("", "-ERR unknown command")
	c.expect("RETRIEVE 1", "-ERR unknown command")
	c.expect("US3R x", "-ERR unknown command")
	c.expect("USER a\x00b", "-ERR syntax error")
	c.expect("USER a b", "-ERR invalid arguments")
	c.expect("CAPA now", "-ERR invalid arguments")
	c.expect("USER "+testUser, "+OK send PASS")
	c.expect("PASS "+testPass, "+OK maildrop locked and ready")
	c.expect("STAT", "+OK 0 0")
}

func TestTooManyBadCommands(t *testing.T) {
	ts := newTestServer(t, nil)
	c := ts.dial(t)
	// Good commands reset the count.
	for i := 0; i < maxBadCommands-1; i++ {
		c.expect("BOGUS", "-ERR unknown command")
	}
	c.expect("CAPA", "+OK Capability list follows")
	c.lines()
	for i := 0; i < maxBadCommands-1; i++ {
		c.expect("BOGUS", "-ERR unknown command")
	}
	c.expect("BOGUS", "-ERR unknown command")
	if got := c.line(); got != "-ERR too many bad commands, closing connection" {
		t.Fatalf("got %q", got)
	}
	c.closed()
}

func TestPipelining(t *testing.T) {
	ts := newTestServer(t, nil)
	ts.store.addMessage(ts.acct.ID, msgShort)
	ts.store.addMessage(ts.acct.ID, ".dot\r\n")
	c := ts.dial(t)
	batch := "CAPA\r\nUSER " + testUser + "\r\nPASS " + testPass + "\r\nSTAT\r\nLIST\r\nRETR 1\r\nRETR 2\r\nUIDL 1\r\nDELE 1\r\nBOGUS\r\nNOOP\r\nQUIT\r\n"
	if _, err := c.conn.Write([]byte(batch)); err != nil {
		t.Fatal(err)
	}
	expect := func(want string) {
		t.Helper()
		if got := c.line(); got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
	expect("+OK Capability list follows")
	if capa := c.lines(); len(capa) != 8 {
		t.Fatalf("CAPA: %q", capa)
	}
	expect("+OK send PASS")
	expect("+OK maildrop locked and ready")
	expect("+OK 2 26")
	expect("+OK 2 messages (26 octets)")
	if got := strings.Join(c.lines(), "|"); got != "1 20|2 6" {
		t.Fatalf("LIST: %q", got)
	}
	expect("+OK 20 octets")
	if got := c.data(); got != msgShort {
		t.Fatalf("RETR 1: %q", got)
	}
	expect("+OK 6 octets")
	if got := c.data(); got != "..dot\r\n" {
		t.Fatalf("RETR 2: %q", got)
	}
	expect(fmt.Sprintf("+OK 1 %d.1", ts.store.inboxes[ts.acct.ID].mb.UIDValidity))
	expect("+OK message 1 deleted")
	expect("-ERR unknown command")
	expect("+OK")
	expect("+OK pop.example.com POP3 server signing off")
	c.closed()
	if got := ts.store.uids(ts.acct.ID); len(got) != 1 || got[0] != 2 {
		t.Fatalf("UIDs after pipelined QUIT: %v", got)
	}
}

func TestIdleTimeout(t *testing.T) {
	// Long enough that the USER/PASS exchange cannot run into it on a
	// loaded machine.
	ts := newTestServer(t, func(cfg *Config) { cfg.IdleTimeout = 2 * time.Second })
	ts.store.addMessage(ts.acct.ID, msgShort)
	c := ts.login(t)
	// Before DELE is sent: the server's timer starts after it reads DELE,
	// so never before this, however late the client reads the reply.
	start := time.Now()
	c.expect("DELE 1", "+OK message 1 deleted")
	if got := c.line(); got != "-ERR autologout: idle for too long" {
		t.Fatalf("got %q", got)
	}
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Fatalf("autologout after %v", d)
	}
	c.closed()
	// No UPDATE: the message is still there.
	if got := ts.store.uids(ts.acct.ID); len(got) != 1 {
		t.Fatalf("UIDs after autologout: %v", got)
	}
	loginEventually(t, ts).expect("STAT", "+OK 1 20")
}

func TestShutdown(t *testing.T) {
	ts := newTestServer(t, nil)
	ts.store.addMessage(ts.acct.ID, msgShort)
	c := ts.login(t)
	c.expect("DELE 1", "+OK message 1 deleted")
	idle := ts.dial(t)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second) // a hang guard: its end fails the test
	defer cancel()
	if err := ts.srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	for _, cl := range []*client{c, idle} {
		if got := cl.line(); got != "-ERR [SYS/TEMP] server shutting down" {
			t.Fatalf("got %q", got)
		}
		cl.closed()
	}
	if got := ts.store.uids(ts.acct.ID); len(got) != 1 {
		t.Fatalf("UIDs after shutdown: %v", got)
	}
}

// faultyBackend fails or panics on demand.
type faultyBackend struct {
	*fakeStore
	listErr   error
	listPanic bool
}

func (b *faultyBackend) ListMessages(ctx context.Context, mailboxID store.MailboxRef, uids []uint32, fn func(store.MessageMeta) error) error {
	if b.listPanic {
		panic("boom")
	}
	if b.listErr != nil {
		return b.listErr
	}
	return b.fakeStore.ListMessages(ctx, mailboxID, uids, fn)
}

func TestStoreErrorsAndPanics(t *testing.T) {
	fs := newFakeStore()
	acct := fs.addAccount(t, testUser, testPass)
	fb := &faultyBackend{fakeStore: fs, listErr: errors.New("sqlite: database is locked (secret detail)")}
	ts := startServer(t, fb, fs, acct, nil)

	c := ts.dial(t)
	c.expect("USER "+testUser, "+OK send PASS")
	c.expect("PASS "+testPass, "-ERR [SYS/TEMP] internal error")
	if !strings.Contains(ts.logs.String(), "secret detail") {
		t.Fatal("store error not logged")
	}
	// The lock was released: with the store healthy again, login works.
	fb.listErr = nil
	c.expect("USER "+testUser, "+OK send PASS")
	c.expect("PASS "+testPass, "+OK maildrop locked and ready")
	c.expect("QUIT", "+OK pop.example.com POP3 server signing off")
	c.closed()

	fb.listPanic = true
	c = ts.dial(t)
	c.expect("USER "+testUser, "+OK send PASS")
	c.expect("PASS "+testPass, "-ERR [SYS/TEMP] internal error")
	c.closed()
	if !strings.Contains(ts.logs.String(), "panic in POP3 session") {
		t.Fatal("panic not logged")
	}
	fb.listPanic = false
	loginEventually(t, ts).expect("STAT", "+OK 0 0")
}

// stuckBackend blocks listing the INBOX until its context ends.
type stuckBackend struct {
	*fakeStore
	entered chan struct{}
}

func (b *stuckBackend) ListMessages(ctx context.Context, mailboxID store.MailboxRef, uids []uint32, fn func(store.MessageMeta) error) error {
	close(b.entered)
	<-ctx.Done()
	return ctx.Err()
}

func TestShutdownForcesBusySessions(t *testing.T) {
	fs := newFakeStore()
	acct := fs.addAccount(t, testUser, testPass)
	sb := &stuckBackend{fakeStore: fs, entered: make(chan struct{})}
	ts := startServer(t, sb, fs, acct, nil)
	c := ts.dial(t)
	c.expect("USER "+testUser, "+OK send PASS")
	c.send("PASS " + testPass)
	<-sb.entered

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := ts.srv.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown: %v, want deadline exceeded", err)
	}
	c.closed()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := ts.srv.Serve(l); err != ErrServerClosed {
		t.Fatalf("Serve after Shutdown: %v", err)
	}
}

// SetIdleTimeout (a config reload) applies to connections accepted
// afterwards; an open session keeps its timeout.
func TestSetIdleTimeoutAppliesToNewSessions(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, func(cfg *Config) { cfg.IdleTimeout = time.Hour })
	old := ts.dial(t)
	ts.srv.SetIdleTimeout(300 * time.Millisecond)
	// Before the dial: the server's timer starts once it has accepted the
	// connection, so never before this; taken after dial returns (after
	// the greeting is read), a client slow to read the greeting on a
	// loaded machine made the timeout look early.
	start := time.Now()
	c := ts.dial(t)
	if got := c.line(); got != "-ERR autologout: idle for too long" {
		t.Fatalf("new session: got %q", got)
	}
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Fatalf("autologout after %v", d)
	}
	c.closed()
	old.expect("NOOP", "-ERR command not valid in this state")
}
