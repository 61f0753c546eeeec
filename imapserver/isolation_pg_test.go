package imapserver

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/mailroom/mailroom/auth"
	"github.com/mailroom/mailroom/internal/authtest"
	"github.com/mailroom/mailroom/internal/pgtest"
	"github.com/mailroom/mailroom/store/postgres"
)

// Across nodes on PostgreSQL: a mailbox deleted, and then the account
// deleted, through another node end the IMAP sessions of this node, by way
// of the LISTEN/NOTIFY change feed (issue 11 items 1 and 22).
func TestSessionsEndedFromOtherNode(t *testing.T) {
	ctx := context.Background()
	nodes, servers := pgNodes(t, 2)
	n2, ts, acct := nodes[1], servers[0], servers[0].acct

	// Both sessions idle, so only the change feed can tell them.
	idle := func(tc *testConn) {
		t.Helper()
		tc.writeLine("i1 idle")
		if r := tc.readResponse(); r != "+ idling" {
			t.Fatalf("idle: %q", r)
		}
	}
	wantBye := func(tc *testConn, want string) {
		t.Helper()
		tc.nc.SetReadDeadline(time.Now().Add(30 * time.Second))
		line, err := tc.br.ReadString('\n')
		if err != nil || line != want {
			t.Fatalf("got %q, %v; want %q", line, err, want)
		}
		if rest, err := tc.br.ReadString('\n'); !errors.Is(err, io.EOF) {
			t.Fatalf("after BYE: %q, %v; want the connection closed", rest, err)
		}
	}
	sel := ts.login()
	sel.transactf("ok", "create box")
	sel.transactf("ok", "select box")
	idle(sel)
	authd := ts.login()
	idle(authd)
	if err := n2.DeleteMailbox(ctx, acct.ID, "box"); err != nil {
		t.Fatal(err)
	}
	wantBye(sel, "* BYE selected mailbox was deleted or renamed, have to disconnect\r\n")
	if err := n2.DeleteAccount(ctx, testUser); err != nil {
		t.Fatal(err)
	}
	wantBye(authd, "* BYE account was deleted\r\n")
}

// pgNodes opens n stores on one PostgreSQL schema of its own, creates the
// test account through the first, and serves IMAP over each store; all
// are shut down when t ends.
func pgNodes(t *testing.T, n int) ([]*postgres.Store, []*testServer) {
	t.Helper()
	ctx := context.Background()
	dsn := pgtest.DSN(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	var nodes []*postgres.Store
	for range n {
		st, err := postgres.Open(ctx, dsn, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		nodes = append(nodes, st)
	}
	hash := authtest.Credentials(testPass)
	acct, err := nodes[0].CreateAccount(ctx, testUser, hash)
	if err != nil {
		t.Fatal(err)
	}
	var servers []*testServer
	for _, st := range nodes {
		srv := New(Config{Hostname: "mail.example.org", Store: st, Auth: auth.NewAuthenticator(st, log, nil), Logger: log})
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- srv.Serve(l) }()
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			srv.Shutdown(ctx)
			<-done
		})
		servers = append(servers, &testServer{t: t, srv: srv, addr: l.Addr().String(), acct: acct})
	}
	return nodes, servers
}
