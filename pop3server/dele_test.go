package pop3server

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestDeleThenDropDeletesNothing(t *testing.T) {
	ts := newTestServer(t, nil)
	ts.store.addMessage(ts.acct.ID, msgFirst)
	ts.store.addMessage(ts.acct.ID, msgShort)
	c := ts.login(t)
	c.expect("DELE 1", "+OK message 1 deleted")
	c.expect("DELE 2", "+OK message 2 deleted")
	c.conn.Close()

	// The lock is released when the server notices the drop; then a new
	// session sees both messages.
	c2 := loginEventually(t, ts)
	c2.expect("STAT", fmt.Sprintf("+OK 2 %d", len(msgFirst)+len(msgShort)))
	if got := ts.store.uids(ts.acct.ID); len(got) != 2 {
		t.Fatalf("UIDs after drop: %v", got)
	}
}

// loginEventually logs in, retrying while a previous session of the same
// account is still being torn down.
func loginEventually(t testing.TB, ts *testServer) *client {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		c := ts.dial(t)
		c.expect("USER "+testUser, "+OK send PASS")
		got := c.cmd("PASS " + testPass)
		if got == "+OK maildrop locked and ready" {
			return c
		}
		if !strings.HasPrefix(got, "-ERR [IN-USE]") || time.Now().After(deadline) {
			t.Fatalf("PASS: %q", got)
		}
		c.conn.Close()
		time.Sleep(10 * time.Millisecond)
	}
}

func TestDeleThenQuitDeletes(t *testing.T) {
	ts := newTestServer(t, nil)
	ts.store.addMessage(ts.acct.ID, msgFirst)
	ts.store.addMessage(ts.acct.ID, msgShort)
	ts.store.addMessage(ts.acct.ID, msgMultipart)
	c := ts.login(t)
	c.expect("UIDL", "+OK unique-id listing follows")
	before := c.lines()
	c.expect("DELE 2", "+OK message 2 deleted")
	c.expect("QUIT", "+OK pop.example.com POP3 server signing off")
	c.closed()
	if got := ts.store.uids(ts.acct.ID); !slices.Equal(got, []uint32{1, 3}) {
		t.Fatalf("UIDs after QUIT: %v", got)
	}

	// A new session renumbers the messages, but their unique ids stay.
	c2 := loginEventually(t, ts)
	c2.expect("UIDL", "+OK unique-id listing follows")
	after := c2.lines()
	uid := func(l string) string { return l[strings.IndexByte(l, ' ')+1:] }
	if len(after) != 2 || uid(after[0]) != uid(before[0]) || uid(after[1]) != uid(before[2]) {
		t.Fatalf("UIDL before %q, after %q", before, after)
	}
	if after[1] != "2 "+uid(before[2]) {
		t.Fatalf("message 3 should now be message 2: %q", after)
	}
}

func TestRsetUndoesDele(t *testing.T) {
	ts := newTestServer(t, nil)
	ts.store.addMessage(ts.acct.ID, msgFirst)
	ts.store.addMessage(ts.acct.ID, msgShort)
	total := len(msgFirst) + len(msgShort)
	c := ts.login(t)
	c.expect("DELE 1", "+OK message 1 deleted")
	c.expect("STAT", "+OK 1 20")
	c.expect("RSET", fmt.Sprintf("+OK maildrop has 2 messages (%d octets)", total))
	c.expect("STAT", fmt.Sprintf("+OK 2 %d", total))
	c.expect("RETR 1", fmt.Sprintf("+OK %d octets", len(msgFirst)))
	c.data()
	c.expect("QUIT", "+OK pop.example.com POP3 server signing off")
	c.closed()
	if got := ts.store.uids(ts.acct.ID); len(got) != 2 {
		t.Fatalf("UIDs after RSET+QUIT: %v", got)
	}
}

func TestConcurrentLoginInUse(t *testing.T) {
	ts := newTestServer(t, nil)
	ts.store.addMessage(ts.acct.ID, msgShort)
	c1 := ts.login(t)

	c2 := ts.dial(t)
	c2.expect("USER "+testUser, "+OK send PASS")
	c2.expect("PASS "+testPass, "-ERR [IN-USE] maildrop already locked by another session")
	// The failed session is back in AUTHORIZATION and may try again.
	c2.expect("STAT", "-ERR command not valid in this state")
	c2.expect("AUTH PLAIN "+plainIR("", testUser, testPass), "-ERR [IN-USE] maildrop already locked by another session")

	c1.expect("STAT", "+OK 1 20")
	c1.expect("QUIT", "+OK pop.example.com POP3 server signing off")
	c1.closed()

	c2.expect("USER "+testUser, "+OK send PASS")
	c2.expect("PASS "+testPass, "+OK maildrop locked and ready")
	c2.expect("STAT", "+OK 1 20")
}

func TestUpdateFailure(t *testing.T) {
	ts := newTestServer(t, nil)
	ts.store.addMessage(ts.acct.ID, msgShort)
	ts.store.expungeErr = errors.New("disk on fire")
	c := ts.login(t)
	c.expect("DELE 1", "+OK message 1 deleted")
	c.expect("QUIT", "-ERR [SYS/TEMP] some deleted messages not removed")
	c.closed()
	if strings.Contains(ts.logs.String(), "disk on fire") == false {
		t.Fatal("the store error was not logged")
	}
}

// slowCloseListener hands out connections whose Close waits for gate: the
// server has answered QUIT but not yet torn the connection down.
type slowCloseListener struct {
	net.Listener
	gate <-chan struct{}
}

func (l slowCloseListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return slowCloseConn{Conn: c, gate: l.gate}, nil
}

type slowCloseConn struct {
	net.Conn
	gate <-chan struct{}
}

func (c slowCloseConn) Close() error {
	<-c.gate
	return c.Conn.Close()
}

// A client that logs in again as soon as it has read QUIT's +OK finds the
// maildrop free, however long the server takes to close the connection
// (the interop run of Python's poplib met -ERR [IN-USE] there).
func TestQuitReleasesLockBeforeReply(t *testing.T) {
	gate := make(chan struct{})
	defer close(gate)
	fs := newFakeStore()
	acct := fs.addAccount(t, testUser, testPass)
	fs.addMessage(acct.ID, msgShort)
	ts := startServerWrapped(t, fs, fs, acct, nil, func(l net.Listener) net.Listener {
		return slowCloseListener{Listener: l, gate: gate}
	})
	c1 := ts.login(t)
	c1.expect("DELE 1", "+OK message 1 deleted")
	c1.expect("QUIT", "+OK pop.example.com POP3 server signing off")

	c2 := ts.dial(t)
	c2.expect("USER "+testUser, "+OK send PASS")
	c2.expect("PASS "+testPass, "+OK maildrop locked and ready")
	c2.expect("STAT", "+OK 0 0")
	c2.expect("QUIT", "+OK pop.example.com POP3 server signing off")
}
