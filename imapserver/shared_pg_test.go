package imapserver

import (
	"context"
	"testing"
	"time"

	"github.com/mailroom/mailroom/internal/authtest"
)

// TestSharedAcrossNodes: on PostgreSQL, bob idling in mjl's shared INBOX
// on one node hears of mjl's APPEND on another (the owner's
// LISTEN/NOTIFY feed), and mjl's revoke there holds for bob's very next
// command.
func TestSharedAcrossNodes(t *testing.T) {
	ctx := context.Background()
	nodes, servers := pgNodes(t, 2)
	hash := authtest.Credentials(testPass)
	if _, err := nodes[0].CreateAccount(ctx, bobUser, hash); err != nil {
		t.Fatal(err)
	}
	owner := servers[1].login()
	owner.transactf("ok", "setacl INBOX %s lr", bobUser)
	bob := servers[0].dial()
	bob.transactf("ok", "login %s %s", bobUser, testPass)
	bob.transactf("ok", "select shared/mjl@example.org/INBOX")
	bob.writeLine("i1 idle")
	if r := bob.readResponse(); r != "+ idling" {
		t.Fatalf("idle: %q", r)
	}
	appendf(owner, "ok", "INBOX", "Subject: x\r\n\r\nx\r\n")
	bob.nc.SetReadDeadline(time.Now().Add(30 * time.Second))
	if line, err := bob.br.ReadString('\n'); err != nil || line != "* 1 EXISTS\r\n" {
		t.Fatalf("after APPEND on the other node: %q %v", line, err)
	}
	bob.writeLine("DONE")
	bob.readUntilTagged("i1", "ok")
	owner.transactf("ok", "deleteacl INBOX %s", bobUser)
	bob.transactf("no", "fetch 1 flags")
	if code := taggedCode(bob); code != codeNoPerm {
		t.Fatalf("FETCH after revoke on the other node: %s", bob.lastTagged)
	}
}
