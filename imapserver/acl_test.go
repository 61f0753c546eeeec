package imapserver

import (
	"slices"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"

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
	// The Other Users namespace (shared.go).
	exactly(t, "NAMESPACE", tc.transactf("ok", "namespace"), `* NAMESPACE (("" "/")) (("shared/" "/")) NIL`)

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
