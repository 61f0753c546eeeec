package imapserver

import (
	"context"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mailroom/mailroom/internal/authtest"
	"github.com/mailroom/mailroom/message"
	"github.com/mailroom/mailroom/store"
	"github.com/mailroom/mailroom/store/sqlite"
)

const (
	bobUser = "bob@example.org"
	bobPass = "bobbobbob"
)

// addBob creates a second account on the test server.
func (ts *testServer) addBob() store.Account {
	ts.t.Helper()
	hash := authtest.Credentials(bobPass)
	a, err := ts.st.CreateAccount(context.Background(), bobUser, hash)
	if err != nil {
		ts.t.Fatal(err)
	}
	return a
}

// waitBye sends NOOPs on tc until the server answers with an untagged BYE
// and closes the connection. It fails on any mailbox data (EXISTS, FETCH,
// EXPUNGE) on the way: a session whose selected mailbox or account is
// gone must see nothing of what took its place.
func waitBye(t *testing.T, tc *testConn, wantText string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for n := 1; time.Now().Before(deadline); n++ {
		tag := "w" + strconv.Itoa(n)
		tc.writeLine("%s noop", tag)
		for {
			r := tc.readResponse()
			fields := strings.Fields(r)
			if len(fields) >= 2 && fields[0] == "*" && fields[1] == "BYE" {
				if !strings.Contains(r, wantText) {
					t.Fatalf("BYE %q, want it to say %q", r, wantText)
				}
				tc.nc.SetReadDeadline(time.Now().Add(30 * time.Second))
				if rest, err := tc.br.ReadString('\n'); !errors.Is(err, io.EOF) {
					t.Fatalf("after BYE: %q, %v; want the connection closed", rest, err)
				}
				return
			}
			if len(fields) >= 3 && fields[0] == "*" && (fields[2] == "EXISTS" || fields[2] == "FETCH" || fields[2] == "EXPUNGE" || fields[1] == "VANISHED") {
				t.Fatalf("mailbox data %q for a session whose mailbox is gone", r)
			}
			if len(fields) >= 2 && fields[0] == tag {
				if !strings.EqualFold(fields[1], "OK") {
					t.Fatalf("noop: %q", r)
				}
				break
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("no BYE")
}

// The transcript of issue 11 item 1: alice's session A has "leak"
// selected, her session B deletes it, bob creates "bobsecret" (which got
// the deleted mailbox's id) and stores a message. A's NOOP reported
// "* 1 EXISTS" and FETCH, COPY and EXPUNGE then read, copied and deleted
// bob's message. Now A is told BYE and disconnected, and bob's message is
// untouched.
func TestSelectedMailboxDeletedElsewhere(t *testing.T) {
	ts := startTestServer(t)
	bob := ts.addBob()
	a := ts.login()
	a.transactf("ok", "create leak")
	a.transactf("ok", "select leak")
	b := ts.login()
	b.transactf("ok", "delete leak")

	bc := ts.dial()
	bc.transactf("ok", "login %s %s", bobUser, bobPass)
	bc.transactf("ok", "create bobsecret")
	ctx := context.Background()
	secret, err := ts.st.MailboxByName(ctx, bob.ID, "bobsecret")
	if err != nil {
		t.Fatal(err)
	}
	raw := "Subject: bob's secret\r\n\r\nfor bob only\r\n"
	if _, err := ts.st.Deliver(ctx, []store.Target{{AccountID: bob.ID, MailboxID: secret.ID}}, store.NewMessage{Raw: []byte(raw), Part: message.Parse([]byte(raw))}); err != nil {
		t.Fatal(err)
	}

	waitBye(t, a, "selected mailbox was deleted")

	// bob's message is where it was; alice's INBOX got nothing.
	untagged := bc.transactf("ok", "select bobsecret")
	hasLine(t, untagged, "* 1 EXISTS")
	untagged = bc.transactf("ok", "fetch 1 (flags body.peek[])")
	hasLine(t, untagged, "for bob only")
	noLine(t, untagged, `\Deleted`)
	untagged = b.transactf("ok", "select inbox")
	hasLine(t, untagged, "* 0 EXISTS")
}

// Deleting the selected mailbox and creating one under the same name in
// another session ends the selection too: the session must not show the
// new mailbox's messages under the old UIDVALIDITY.
func TestSelectedMailboxRecreatedElsewhere(t *testing.T) {
	ts := startTestServer(t)
	a := ts.login()
	a.transactf("ok", "create box")
	a.transactf("ok", "select box")
	b := ts.login()
	b.transactf("ok", "delete box")
	b.transactf("ok", "create box")
	ts.deliver("box", simpleMsg)
	waitBye(t, a, "selected mailbox was deleted")
}

// A rename by another session ends the selection; a rename by the session
// itself does not (the selection goes on under the new name).
func TestSelectedMailboxRenamed(t *testing.T) {
	ts := startTestServer(t)
	a := ts.login()
	a.transactf("ok", "create box")
	ts.deliver("box", simpleMsg)
	a.transactf("ok", "select box")
	a.transactf("ok", "rename box box2")
	untagged := a.transactf("ok", "fetch 1 (uid)")
	hasLine(t, untagged, "* 1 FETCH (UID 1)")
	a.transactf("ok", "noop")

	b := ts.login()
	b.transactf("ok", "rename box2 box3")
	waitBye(t, a, "selected mailbox was deleted or renamed")
}

// Issue 11 item 22: deleting the account (mailroom user delete) ends its
// sessions, selected, merely logged in, or idling, with BYE.
func TestAccountDeletedEndsSessions(t *testing.T) {
	ts := startTestServer(t)
	ts.deliver("", simpleMsg)
	sel := ts.login()
	sel.transactf("ok", "select inbox")
	authd := ts.login()
	idler := ts.login()
	idler.transactf("ok", "select inbox")
	idler.writeLine("i1 idle")
	if r := idler.readResponse(); r != "+ idling" {
		t.Fatalf("idle: %q", r)
	}
	if err := ts.st.DeleteAccount(context.Background(), testUser); err != nil {
		t.Fatal(err)
	}
	idler.nc.SetReadDeadline(time.Now().Add(30 * time.Second))
	line, err := idler.br.ReadString('\n')
	if err != nil || line != "* BYE account was deleted\r\n" {
		t.Fatalf("idler after account deletion: %q, %v", line, err)
	}
	if rest, err := idler.br.ReadString('\n'); !errors.Is(err, io.EOF) {
		t.Fatalf("idler after BYE: %q, %v; want the connection closed", rest, err)
	}
	waitBye(t, sel, "account was deleted")
	waitBye(t, authd, "account was deleted")
}

// With SQLite, mailroom user delete runs in another process; the Store
// notices the other connection's commit (PRAGMA data_version, once a
// second) and wakes the sessions through the feed: they end.
func TestAccountDeletedByOtherProcess(t *testing.T) {
	ts := startTestServer(t)
	sel := ts.login()
	sel.transactf("ok", "select inbox")
	authd := ts.login()
	other, err := sqlite.Open(context.Background(), ts.path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if err := other.DeleteAccount(context.Background(), testUser); err != nil {
		t.Fatal(err)
	}
	waitBye(t, sel, "account was deleted")
	waitBye(t, authd, "account was deleted")
}
