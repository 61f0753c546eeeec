package imapserver

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"

	"github.com/mailroom/mailroom/auth"
	"github.com/mailroom/mailroom/store"
)

// exactly fails unless lines are exactly want, in order.
func exactly(t *testing.T, what string, lines []string, want ...string) {
	t.Helper()
	if !slices.Equal(lines, want) {
		t.Fatalf("%s: got %q, want %q", what, lines, want)
	}
}

// taggedCode returns the response code of the last tagged response
// ("" without one).
func taggedCode(tc *testConn) string {
	_, rest, ok := strings.Cut(tc.lastTagged, " [")
	if !ok {
		return ""
	}
	code, _, _ := strings.Cut(rest, "]")
	return code
}

// TestACLTranscript: GETACL, SETACL (+/-, obsolete c and d), DELETEACL,
// LISTRIGHTS and MYRIGHTS on the account's own mailboxes (RFC 4314).
func TestACLTranscript(t *testing.T) {
	t.Parallel()
	ts := startTestServer(t)
	tc := ts.login()

	caps := strings.Fields(hasLine(t, tc.transactf("ok", "capability"), "* CAPABILITY "))
	for _, c := range []string{"ACL", "RIGHTS=texk", "LIST-MYRIGHTS"} {
		if !slices.Contains(caps, c) {
			t.Fatalf("capability lacks %s: %q", c, caps)
		}
	}
	// No other namespace is offered: sharing is not reachable.
	exactly(t, "NAMESPACE", tc.transactf("ok", "namespace"), `* NAMESPACE (("" "/")) NIL NIL`)

	const all = "lrswipkxteacd"
	exactly(t, "MYRIGHTS", tc.transactf("ok", "myrights inbox"), "* MYRIGHTS INBOX "+all)
	exactly(t, "GETACL", tc.transactf("ok", "getacl INBOX"), "* ACL INBOX "+testUser+" "+all)

	tc.transactf("ok", "setacl INBOX Bob@Example.org lr")
	tc.transactf("ok", "setacl INBOX anyone l")
	exactly(t, "GETACL", tc.transactf("ok", "getacl INBOX"),
		"* ACL INBOX "+testUser+" "+all+" anyone l bob@example.org lr")
	tc.transactf("ok", "setacl INBOX bob@example.org +wc") // c: k and x
	exactly(t, "GETACL +", tc.transactf("ok", "getacl INBOX"),
		"* ACL INBOX "+testUser+" "+all+" anyone l bob@example.org lrwkxc")
	tc.transactf("ok", `setacl INBOX bob@example.org "-rx"`)
	exactly(t, "GETACL -", tc.transactf("ok", "getacl INBOX"),
		"* ACL INBOX "+testUser+" "+all+" anyone l bob@example.org lwkc")
	tc.transactf("ok", "setacl INBOX bob@example.org d") // replaces: t and e
	exactly(t, "GETACL d", tc.transactf("ok", "getacl INBOX"),
		"* ACL INBOX "+testUser+" "+all+" anyone l bob@example.org ted")
	tc.transactf("ok", "deleteacl INBOX anyone")
	tc.transactf("ok", "deleteacl INBOX nobody@example.org") // no entry: nothing to do
	tc.transactf("ok", `setacl INBOX bob@example.org ""`)    // empty: removed
	exactly(t, "GETACL after delete", tc.transactf("ok", "getacl INBOX"), "* ACL INBOX "+testUser+" "+all)

	exactly(t, "LISTRIGHTS other", tc.transactf("ok", "listrights INBOX bob@example.org"),
		`* LISTRIGHTS INBOX bob@example.org "" l r s w i p k x t e a c d`)
	exactly(t, "LISTRIGHTS owner", tc.transactf("ok", "listrights INBOX "+testUser),
		"* LISTRIGHTS INBOX "+testUser+" lrswipkxtea")

	// Refusals: unknown right (BAD, never ignored), the owner's own
	// entry, identifiers mailroom does not take, unknown mailboxes.
	tc.transactf("bad", "setacl INBOX bob@example.org lrz")
	tc.transactf("bad", "setacl INBOX bob@example.org")
	tc.transactf("no", "setacl INBOX "+testUser+" l")
	if code := taggedCode(tc); code != codeCannot {
		t.Fatalf("SETACL owner: %s", tc.lastTagged)
	}
	for _, id := range []string{"-bob@example.org", "bob", `"b b@example.org"`} {
		tc.transactf("no", "setacl INBOX %s l", id)
		if code := taggedCode(tc); code != codeCannot {
			t.Fatalf("SETACL %s: %s", id, tc.lastTagged)
		}
	}
	for _, cmd := range []string{"getacl Nosuch", "myrights Nosuch", "setacl Nosuch bob@example.org l", "deleteacl Nosuch bob@example.org", "listrights Nosuch bob@example.org"} {
		tc.transactf("no", "%s", cmd)
		if code := taggedCode(tc); code != codeNonExistent {
			t.Fatalf("%s: %s", cmd, tc.lastTagged)
		}
	}
	exactly(t, "GETACL after refusals", tc.transactf("ok", "getacl INBOX"), "* ACL INBOX "+testUser+" "+all)

	// A mailbox's entries go with it.
	tc.transactf("ok", "create Team")
	tc.transactf("ok", "setacl Team bob@example.org lr")
	tc.transactf("ok", "delete Team")
	tc.transactf("ok", "create Team")
	exactly(t, "GETACL re-created", tc.transactf("ok", "getacl Team"), "* ACL Team "+testUser+" "+all)

	// The bound on entries is NO [LIMIT].
	for i := range store.MaxACLEntries {
		tc.transactf("ok", "setacl Team u%d@example.org l", i)
	}
	tc.transactf("no", "setacl Team one-more@example.org l")
	if code := taggedCode(tc); code != codeLimit {
		t.Fatalf("SETACL beyond the bound: %s", tc.lastTagged)
	}
}

// TestListMyRights: LIST ... RETURN (MYRIGHTS) (RFC 8440) follows each
// listed mailbox that exists with its MYRIGHTS.
func TestListMyRights(t *testing.T) {
	t.Parallel()
	ts := startTestServer(t)
	tc := ts.login()
	tc.transactf("ok", "create a/b") // creates a too
	exactly(t, "LIST RETURN (MYRIGHTS)", tc.transactf("ok", `list "" "a*" return (myrights)`),
		`* LIST (\HasChildren) "/" a`, "* MYRIGHTS a lrswipkxteacd",
		`* LIST (\HasNoChildren) "/" a/b`, "* MYRIGHTS a/b lrswipkxteacd")
	tc.transactf("ok", "delete a/b")
	tc.transactf("ok", "delete a")
	exactly(t, "LIST RETURN (MYRIGHTS STATUS)", tc.transactf("ok", `list "" "INBOX" return (myrights status (messages))`),
		`* LIST (\HasNoChildren) "/" INBOX`, "* MYRIGHTS INBOX lrswipkxteacd", "* STATUS INBOX (MESSAGES 0)")
	tc.transactf("bad", `list "" "*" return (myrights`)
}

// TestACLGoIMAPClient: go-imap's client parses what the server sends.
func TestACLGoIMAPClient(t *testing.T) {
	t.Parallel()
	ts := startTestServer(t)
	c, err := imapclient.DialInsecure(ts.addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Authenticate(sasl.NewPlainClient("", testUser, testPass)); err != nil {
		t.Fatal(err)
	}
	if !c.Caps().Has(imap.CapACL) {
		t.Fatalf("caps %v", c.Caps())
	}
	if err := c.SetACL("INBOX", "bob@example.org", imap.RightModificationReplace, imap.RightSet("lrs")).Wait(); err != nil {
		t.Fatal(err)
	}
	if err := c.SetACL("INBOX", "bob@example.org", imap.RightModificationAdd, imap.RightSet("w")).Wait(); err != nil {
		t.Fatal(err)
	}
	acl, err := c.GetACL("INBOX").Wait()
	if err != nil {
		t.Fatal(err)
	}
	if acl.Mailbox != "INBOX" || len(acl.Rights) != 2 || string(acl.Rights["bob@example.org"]) != "lrsw" ||
		string(acl.Rights[imap.RightsIdentifier(testUser)]) != "lrswipkxteacd" {
		t.Fatalf("GETACL: %+v", acl)
	}
	my, err := c.MyRights("INBOX").Wait()
	if err != nil {
		t.Fatal(err)
	}
	if my.Mailbox != "INBOX" || string(my.Rights) != "lrswipkxteacd" {
		t.Fatalf("MYRIGHTS: %+v", my)
	}
}

// TestACLNoSharedAccess: an ACL entry that names another account is kept
// but grants nothing, because no namespace reaches another account's
// mailboxes: bob, granted rights on mjl's INBOX, still sees, opens and
// changes only his own mailboxes, by every way a client can name one,
// and learns nothing of mjl's mailboxes (not even that they exist).
func TestACLNoSharedAccess(t *testing.T) {
	t.Parallel()
	ts := startTestServer(t)
	ts.deliver("", simpleMsg)
	ctx := context.Background()
	hash, err := auth.HashPassword(testPass)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.st.CreateAccount(ctx, "bob@example.org", hash); err != nil {
		t.Fatal(err)
	}
	owner := ts.login()
	owner.transactf("ok", "create Private")
	owner.transactf("ok", "setacl INBOX bob@example.org lrswipkxtea")
	owner.transactf("ok", "setacl INBOX anyone lr")

	bob := ts.dial()
	bob.transactf("ok", "login bob@example.org %s", testPass)
	exactly(t, "bob's NAMESPACE", bob.transactf("ok", "namespace"), `* NAMESPACE (("" "/")) NIL NIL`)
	for _, l := range bob.transactf("ok", `list "" "*"`) {
		if strings.Contains(l, "Private") || strings.Contains(strings.ToLower(l), "mjl") || strings.Contains(l, "Other Users") {
			t.Fatalf("bob lists %q", l)
		}
	}
	// Bob's own INBOX is his: empty, and his rights are an owner's.
	exactly(t, "bob's STATUS", bob.transactf("ok", "status INBOX (messages)"), "* STATUS INBOX (MESSAGES 0)")
	exactly(t, "bob's GETACL", bob.transactf("ok", "getacl INBOX"), "* ACL INBOX bob@example.org lrswipkxteacd")

	appendf(bob, "ok", "INBOX", "Subject: bob's\r\n\r\nx\r\n")
	names := []string{
		`"Other Users/mjl@example.org/INBOX"`, `"Other Users/mjl@example.org/Private"`,
		`"Other Users/mjl@example.org"`, `"Shared/INBOX"`, "Private", `"mjl@example.org/INBOX"`, `"~mjl@example.org/INBOX"`,
	}
	for _, n := range names {
		for _, cmd := range []string{"select %s", "examine %s", "status %s (messages)", "myrights %s", "getacl %s", "setacl %s bob@example.org l", "listrights %s bob@example.org", "subscribe %s", "delete %s"} {
			if lines := bob.transactf("no", cmd, n); len(lines) != 0 {
				t.Fatalf("%s: untagged %q", cmd, lines)
			}
		}
		appendf(bob, "no", n, "Subject: x\r\n\r\nx\r\n")
		bob.transactf("ok", "select INBOX")
		bob.transactf("no", "copy 1:* %s", n)
		bob.transactf("no", "move 1:* %s", n)
		bob.transactf("ok", "unselect")
	}
	// By id: the OBJECTID of mjl's mailbox names nothing for bob.
	mjlInbox, err := ts.st.MailboxByName(ctx, ts.acct.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	bob.transactf("no", `select %s`, mailboxObjectID(mjlInbox.ID))
	// Nothing bob did reached mjl's mailboxes, and his own message stayed.
	exactly(t, "bob's INBOX", bob.transactf("ok", "status INBOX (messages)"), "* STATUS INBOX (MESSAGES 1)")
	exactly(t, "mjl's STATUS", owner.transactf("ok", "status INBOX (messages)"), "* STATUS INBOX (MESSAGES 1)")
	exactly(t, "mjl's Private", owner.transactf("ok", "status Private (messages)"), "* STATUS Private (MESSAGES 0)")
	exactly(t, "mjl's GETACL", owner.transactf("ok", "getacl INBOX"),
		"* ACL INBOX "+testUser+" lrswipkxteacd anyone lr bob@example.org lrswipkxteacd")
}
