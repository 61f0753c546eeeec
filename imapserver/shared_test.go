package imapserver

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"

	"github.com/mailroom/mailroom/internal/authtest"
)

// sharedSetup starts a server with mjl (the owner, logged in as owner)
// and bob (logged in as bob) and a message in mjl's INBOX.
func sharedSetup(t *testing.T, opts ...serverOpt) (ts *testServer, owner, bob *testConn) {
	t.Helper()
	ts = startTestServer(t, opts...)
	ts.deliver("", simpleMsg)
	hash := authtest.Credentials(testPass)
	if _, err := ts.st.CreateAccount(context.Background(), bobUser, hash); err != nil {
		t.Fatal(err)
	}
	owner = ts.login()
	bob = ts.dial()
	bob.transactf("ok", "login %s %s", bobUser, testPass)
	return ts, owner, bob
}

// TestSharedList: NAMESPACE offers shared/, and LIST shows bob the
// mailboxes of mjl he has "l" on, under shared/mjl@example.org with
// \Noselect parents, with the rights LIST-MYRIGHTS reads; nothing else.
func TestSharedList(t *testing.T) {
	t.Parallel()
	_, owner, bob := sharedSetup(t)
	owner.transactf("ok", "create Team/Sub")
	owner.transactf("ok", "create Private")
	owner.transactf("ok", "create Hidden")
	owner.transactf("ok", "setacl INBOX %s lrs", bobUser)
	owner.transactf("ok", "setacl Team/Sub anyone lr")
	owner.transactf("ok", "setacl Hidden %s r", bobUser) // no "l": not listed

	exactly(t, "NAMESPACE", bob.transactf("ok", "namespace"), `* NAMESPACE (("" "/")) (("shared/" "/")) NIL`)
	// go-imap's client parses it as the Other Users namespace.
	c, err := imapclient.DialInsecure(bob.nc.RemoteAddr().String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Authenticate(sasl.NewPlainClient("", bobUser, testPass)); err != nil {
		t.Fatal(err)
	}
	ns, err := c.Namespace().Wait()
	if err != nil {
		t.Fatal(err)
	}
	if len(ns.Other) != 1 || ns.Other[0].Prefix != "shared/" || ns.Other[0].Delim != '/' || len(ns.Personal) != 1 || ns.Shared != nil {
		t.Fatalf("NAMESPACE parsed: %+v", ns)
	}

	exactly(t, `LIST "" "shared/*"`, bob.transactf("ok", `list "" "shared/*"`),
		`* LIST (\Noselect \HasChildren) "/" shared/mjl@example.org`,
		`* LIST (\HasNoChildren) "/" shared/mjl@example.org/INBOX`,
		`* LIST (\Noselect \HasChildren) "/" shared/mjl@example.org/Team`,
		`* LIST (\HasNoChildren) "/" shared/mjl@example.org/Team/Sub`)
	exactly(t, `LIST "" "shared/%"`, bob.transactf("ok", `list "" "shared/%%"`),
		`* LIST (\Noselect \HasChildren) "/" shared/mjl@example.org`)
	top := bob.transactf("ok", `list "" "%%"`)
	exactly(t, `LIST "" "%"`, top[len(top)-2:], `* LIST (\HasNoChildren \Trash) "/" Trash`, `* LIST (\Noselect \HasChildren) "/" shared`)
	exactly(t, "LIST RETURN (MYRIGHTS STATUS)", bob.transactf("ok", `list "" "shared/mjl@example.org/*" return (myrights status (messages))`),
		`* LIST (\HasNoChildren) "/" shared/mjl@example.org/INBOX`, "* MYRIGHTS shared/mjl@example.org/INBOX lrs",
		"* STATUS shared/mjl@example.org/INBOX (MESSAGES 1)",
		`* LIST (\Noselect \HasChildren) "/" shared/mjl@example.org/Team`,
		`* LIST (\HasNoChildren) "/" shared/mjl@example.org/Team/Sub`, "* MYRIGHTS shared/mjl@example.org/Team/Sub lr",
		"* STATUS shared/mjl@example.org/Team/Sub (MESSAGES 0)")
	exactly(t, "MYRIGHTS", bob.transactf("ok", "myrights shared/mjl@example.org/INBOX"), "* MYRIGHTS shared/mjl@example.org/INBOX lrs")
	// SUBSCRIBE takes a shared mailbox; LIST (SUBSCRIBED) shows it.
	bob.transactf("ok", "subscribe shared/mjl@example.org/INBOX")
	hasLine(t, bob.transactf("ok", `list (subscribed) "" "shared/*"`), `* LIST (\HasNoChildren \Subscribed) "/" shared/mjl@example.org/INBOX`)
	// The owner sees none of it; no personal mailbox goes under shared/.
	exactly(t, "owner's LIST shared", owner.transactf("ok", `list "" "shared*"`))
	for _, cmd := range []string{"create shared", "create shared/x", "rename Private shared/y"} {
		owner.transactf("no", "%s", cmd)
		if code := taggedCode(owner); code != codeCannot {
			t.Fatalf("%s: %s", cmd, owner.lastTagged)
		}
	}
}

// TestSharedRights: what bob may do in mjl's INBOX follows his rights
// (RFC 4314 §4): SELECT needs r; without s, w, t or e it is READ-ONLY;
// PERMANENTFLAGS shows what he may change; STORE silently leaves the
// flags he may not change; FETCH BODY[] sets \Seen only with s;
// EXPUNGE needs e; GETACL needs a.
func TestSharedRights(t *testing.T) {
	t.Parallel()
	_, owner, bob := sharedSetup(t)
	const inbox = "shared/mjl@example.org/INBOX"
	owner.transactf("ok", "select INBOX")
	owner.transactf("ok", "store 1 +flags (\\Answered)")
	ownerFlags := func() string {
		return hasLine(t, owner.transactf("ok", "examine INBOX"), "* FLAGS") + hasLine(t, owner.transactf("ok", "fetch 1 flags"), "FETCH")
	}

	owner.transactf("ok", "setacl INBOX %s l", bobUser)
	bob.transactf("no", "select %s", inbox)
	if code := taggedCode(bob); code != codeNoPerm {
		t.Fatalf("SELECT without r: %s", bob.lastTagged)
	}
	bob.transactf("no", "status %s (messages)", inbox)
	bob.transactf("no", "getacl %s", inbox)
	if code := taggedCode(bob); code != codeNoPerm {
		t.Fatalf("GETACL without a: %s", bob.lastTagged)
	}

	owner.transactf("ok", "setacl INBOX %s lr", bobUser)
	lines := bob.transactf("ok", "select %s", inbox)
	if taggedCode(bob) != codeReadOnly {
		t.Fatalf("SELECT with lr: %s", bob.lastTagged)
	}
	hasLine(t, lines, "* OK [PERMANENTFLAGS ()]")
	hasLine(t, bob.transactf("ok", "fetch 1 (flags body[])"), `FLAGS (\Answered)`)
	exactly(t, "FETCH after BODY[] read-only", bob.transactf("ok", "fetch 1 flags"), `* 1 FETCH (FLAGS (\Answered))`)
	bob.transactf("no", "store 1 +flags (\\Seen)")

	owner.transactf("ok", "setacl INBOX %s lrs", bobUser)
	lines = bob.transactf("ok", "select %s", inbox)
	if taggedCode(bob) != codeReadWrite {
		t.Fatalf("SELECT with lrs: %s", bob.lastTagged)
	}
	hasLine(t, lines, `* OK [PERMANENTFLAGS (\Seen)]`)
	hasLine(t, bob.transactf("ok", "fetch 1 body[]"), `FLAGS (\Answered \Seen)`)
	bob.transactf("ok", "store 1 -flags (\\Seen)")
	// Only \Seen changes: \Flagged and \Deleted are silently left.
	exactly(t, "STORE +FLAGS", bob.transactf("ok", "store 1 +flags (\\Seen \\Flagged \\Deleted)"), `* 1 FETCH (FLAGS (\Answered \Seen))`)
	// FLAGS replaces only what bob may change: \Answered stays.
	exactly(t, "STORE FLAGS", bob.transactf("ok", "store 1 flags (\\Draft)"), `* 1 FETCH (FLAGS (\Answered))`)
	exactly(t, "STORE FLAGS \\Seen", bob.transactf("ok", "store 1 flags (\\Seen)"), `* 1 FETCH (FLAGS (\Answered \Seen))`)
	bob.transactf("no", "expunge")
	if code := taggedCode(bob); code != codeNoPerm {
		t.Fatalf("EXPUNGE without e: %s", bob.lastTagged)
	}
	if got := ownerFlags(); !strings.Contains(got, `FLAGS (\Answered \Seen)`) {
		t.Fatalf("owner sees %q", got)
	}

	owner.transactf("ok", "setacl INBOX %s lrswte", bobUser)
	lines = bob.transactf("ok", "select %s", inbox)
	hasLine(t, lines, `* OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft \*)]`)
	bob.transactf("ok", "store 1 flags (\\Flagged \\Deleted)")
	bob.transactf("ok", "expunge")
	hasLine(t, owner.transactf("ok", "status INBOX (messages)"), "* STATUS INBOX (MESSAGES 0)")
	// GETACL with a, showing the owner first.
	owner.transactf("ok", "setacl INBOX %s lra", bobUser)
	exactly(t, "GETACL", bob.transactf("ok", "getacl %s", inbox),
		"* ACL "+inbox+" "+testUser+" lrswipkxteacd "+bobUser+" lra")
	bob.transactf("ok", "setacl %s anyone l", inbox)
	bob.transactf("no", "setacl %s %s l", inbox, testUser)
}

// TestSharedAppendQuota: APPEND into a shared mailbox needs "i", keeps
// only the flags bob may set, and counts against the owner's quota.
func TestSharedAppendQuota(t *testing.T) {
	t.Parallel()
	quota := func(c *Config) { c.Quota = testQuota{testUser: {0, 2}, bobUser: {0, 100}} }
	_, owner, bob := sharedSetup(t, quota)
	const inbox = "shared/mjl@example.org/INBOX"
	owner.transactf("ok", "setacl INBOX %s lr", bobUser)
	appendf(bob, "no", inbox, "Subject: x\r\n\r\nx\r\n")
	if code := taggedCode(bob); code != codeNoPerm {
		t.Fatalf("APPEND without i: %s", bob.lastTagged)
	}
	owner.transactf("ok", "setacl INBOX %s lris", bobUser)
	bob.transactf("ok", "append %s (\\Seen \\Flagged) {11+}\r\nSubject: y\r\n", inbox)
	if !strings.HasPrefix(taggedCode(bob), "APPENDUID ") {
		t.Fatalf("APPEND: %s", bob.lastTagged)
	}
	exactly(t, "owner's message", owner.transactf("ok", "select INBOX")[1:2], "* 2 EXISTS")
	hasLine(t, owner.transactf("ok", "fetch 2 flags"), `* 2 FETCH (FLAGS (\Seen \Recent))`)
	// mjl's quota (2 messages) is full; bob's is not.
	appendf(bob, "no", inbox, "Subject: z\r\n\r\nz\r\n")
	if code := taggedCode(bob); code != codeOverQuota {
		t.Fatalf("APPEND over the owner's quota: %s", bob.lastTagged)
	}
	appendf(bob, "ok", "INBOX", "Subject: z\r\n\r\nz\r\n")
}

// TestSharedRevoke: a grant revoked while bob has the mailbox selected
// holds from his next command: FETCH, STORE, SEARCH are NO [NOPERM],
// and NOOP reports nothing of the mailbox any more; bob can still
// leave it. A lowered grant applies at once too.
func TestSharedRevoke(t *testing.T) {
	t.Parallel()
	ts, owner, bob := sharedSetup(t)
	const inbox = "shared/mjl@example.org/INBOX"
	owner.transactf("ok", "setacl INBOX %s lrs", bobUser)
	bob.transactf("ok", "select %s", inbox)
	owner.transactf("ok", "select INBOX")
	// Changes by the owner reach bob's session (the owner's feed).
	ts.deliver("", simpleMsg)
	hasLine(t, bob.transactf("ok", "noop"), "* 2 EXISTS")
	owner.transactf("ok", "store 1 +flags (\\Flagged)")
	hasLine(t, bob.transactf("ok", "noop"), `FLAGS (\Flagged \Recent))`)

	owner.transactf("ok", `setacl INBOX %s "-s"`, bobUser)
	exactly(t, "STORE after losing s", bob.transactf("ok", "store 1 +flags (\\Seen)"), `* 1 FETCH (FLAGS (\Flagged \Recent))`)

	owner.transactf("ok", "deleteacl INBOX %s", bobUser)
	for _, cmd := range []string{"fetch 1 flags", "uid fetch 1:* body[]", "store 1 +flags (\\Seen)", "search all", "copy 1 INBOX", "expunge"} {
		if lines := bob.transactf("no", "%s", cmd); len(lines) != 0 {
			t.Fatalf("%s after revoke: %q", cmd, lines)
		}
		if code := taggedCode(bob); code != codeNoPerm {
			t.Fatalf("%s after revoke: %s", cmd, bob.lastTagged)
		}
	}
	ts.deliver("", simpleMsg)
	owner.transactf("ok", "store 1 -flags (\\Flagged)")
	exactly(t, "NOOP after revoke", bob.transactf("ok", "noop"))
	bob.transactf("ok", "unselect")
	bob.transactf("no", "select %s", inbox)
	if code := taggedCode(bob); code != codeNonExistent {
		t.Fatalf("SELECT after revoke: %s", bob.lastTagged)
	}
	exactly(t, "owner's INBOX", owner.transactf("ok", "status INBOX (messages)"), "* STATUS INBOX (MESSAGES 3)")
}

// TestSharedOwnerDeletes: the owner deleting the mailbox bob has
// selected ends bob's session with BYE, as for his own mailboxes.
func TestSharedOwnerDeletes(t *testing.T) {
	t.Parallel()
	ts, owner, bob := sharedSetup(t)
	owner.transactf("ok", "create Team")
	owner.transactf("ok", "setacl Team %s lr", bobUser)
	bob.transactf("ok", "examine shared/mjl@example.org/Team")
	owner.transactf("ok", "delete Team")
	bob.writeLine("x1 noop")
	if l := bob.readResponse(); !strings.HasPrefix(l, "* BYE") {
		t.Fatalf("after delete: %q", l)
	}
	// A rename too.
	owner.transactf("ok", "create Team2")
	owner.transactf("ok", "setacl Team2 %s lr", bobUser)
	bob2 := ts.dial()
	bob2.transactf("ok", "login %s %s", bobUser, testPass)
	bob2.transactf("ok", "select shared/mjl@example.org/Team2")
	owner.transactf("ok", "rename Team2 Team3")
	bob2.writeLine("x9 fetch 1:* flags")
	if l := bob2.readResponse(); !strings.HasPrefix(l, "* BYE") {
		t.Fatalf("after rename: %q", l)
	}
}

// TestSharedIdle: a delivery to the shared mailbox bob idles in is
// pushed at once, over either form of the owner's change feed.
func TestSharedIdle(t *testing.T) {
	t.Parallel()
	for _, opts := range [][]serverOpt{nil, {func(c *Config) { c.Store = chanOnlyStore{c.Store} }}} {
		ts, owner, bob := sharedSetup(t, opts...)
		owner.transactf("ok", "setacl INBOX %s lr", bobUser)
		bob.transactf("ok", "examine shared/mjl@example.org/INBOX")
		bob.writeLine("i1 idle")
		if r := bob.readResponse(); r != "+ idling" {
			t.Fatalf("idle: %q", r)
		}
		ts.deliver("", simpleMsg)
		bob.nc.SetReadDeadline(time.Now().Add(30 * time.Second)) // a hang guard
		if line, err := bob.br.ReadString('\n'); err != nil || line != "* 2 EXISTS\r\n" {
			t.Fatalf("after delivery: %q %v", line, err)
		}
		bob.writeLine("DONE")
		bob.readUntilTagged("i1", "ok")
	}
}

// TestSharedNoGrantNoAccess: without a grant, bob reaches nothing of
// mjl's by any name a client can send, not even that it exists; copies
// between accounts and CATENATE URLs naming a shared mailbox are
// refused even with a grant.
func TestSharedNoGrantNoAccess(t *testing.T) {
	t.Parallel()
	ts, owner, bob := sharedSetup(t)
	owner.transactf("ok", "create Private")
	owner.transactf("ok", "setacl INBOX %s lrswipkxtea", bobUser)
	owner.transactf("ok", "setacl INBOX anyone lr")
	for _, l := range bob.transactf("ok", `list "" "*"`) {
		if strings.Contains(l, "Private") {
			t.Fatalf("bob lists %q", l)
		}
	}
	appendf(bob, "ok", "INBOX", "Subject: bob's\r\n\r\nx\r\n")
	names := []string{
		"shared/mjl@example.org/Private", "shared/mjl@example.org/Nosuch", "shared/mjl@example.org",
		"shared/MJL@example.org/Private", "shared/nobody@example.org/INBOX", "shared/bob@example.org/INBOX",
		"shared", "Private", "mjl@example.org/INBOX", `"Other Users/mjl@example.org/INBOX"`,
	}
	for _, n := range names {
		for _, cmd := range []string{"select %s", "examine %s", "status %s (messages)", "myrights %s", "getacl %s", "setacl %s bob@example.org l", "listrights %s bob@example.org", "subscribe %s", "delete %s"} {
			if lines := bob.transactf("no", cmd, n); len(lines) != 0 {
				t.Fatalf("%s: untagged %q", cmd, lines)
			}
			if code := taggedCode(bob); cmd != "delete %s" && code != codeNonExistent {
				t.Fatalf(cmd+": %s", n, bob.lastTagged)
			}
		}
		appendf(bob, "no", n, "Subject: x\r\n\r\nx\r\n")
		bob.transactf("ok", "select INBOX")
		bob.transactf("no", "copy 1:* %s", n)
		bob.transactf("no", "move 1:* %s", n)
		bob.transactf("ok", "unselect")
	}
	// By id: the OBJECTID of mjl's mailbox names nothing for bob.
	mjlPrivate, err := ts.st.MailboxByName(context.Background(), ts.acct.ID, "Private")
	if err != nil {
		t.Fatal(err)
	}
	bob.transactf("no", `select %s`, mailboxObjectID(mjlPrivate.ID))

	// With a grant: no copy or move between accounts, either way.
	const inbox = "shared/mjl@example.org/INBOX"
	bob.transactf("ok", "select INBOX")
	bob.transactf("no", "uid copy 1:* %s", inbox)
	if code := taggedCode(bob); code != codeCannot {
		t.Fatalf("COPY into shared: %s", bob.lastTagged)
	}
	bob.transactf("no", "uid move 1:* %s", inbox)
	bob.transactf("ok", "select %s", inbox)
	bob.transactf("no", "uid copy 1:* INBOX")
	bob.transactf("no", "uid move 1:* INBOX")
	if code := taggedCode(bob); code != codeCannot {
		t.Fatalf("MOVE out of shared: %s", bob.lastTagged)
	}
	// A CATENATE URL never names another account's mailbox.
	bob.transactf("no", `append INBOX catenate (url "/shared/mjl@example.org/INBOX;UIDVALIDITY=0/;UID=1")`)
	if code := taggedCode(bob); !strings.HasPrefix(code, codeBadURL) {
		t.Fatalf("CATENATE URL into shared: %s", bob.lastTagged)
	}
	bob.transactf("ok", "unselect")
	// Nor does a URLAUTH URL: bob signs only URLs of his own mailboxes.
	for _, u := range []string{
		"imap://bob%40example.org@mail.example.org/shared/mjl@example.org/INBOX/;UID=1;URLAUTH=authuser",
		"imap://mjl%40example.org@mail.example.org/INBOX/;UID=1;URLAUTH=authuser",
	} {
		bob.transactf("no", "genurlauth %q INTERNAL", u)
	}

	// Nothing bob did reached mjl's mailboxes.
	exactly(t, "bob's INBOX", bob.transactf("ok", "status INBOX (messages)"), "* STATUS INBOX (MESSAGES 1)")
	exactly(t, "mjl's STATUS", owner.transactf("ok", "status INBOX (messages)"), "* STATUS INBOX (MESSAGES 1)")
	exactly(t, "mjl's Private", owner.transactf("ok", "status Private (messages)"), "* STATUS Private (MESSAGES 0)")
	exactly(t, "mjl's GETACL", owner.transactf("ok", "getacl INBOX"),
		"* ACL INBOX "+testUser+" lrswipkxteacd anyone lr bob@example.org lrswipkxteacd")
	if acl, err := ts.st.MailboxACL(context.Background(), mjlPrivate.Ref()); err != nil || len(acl) != 0 {
		t.Fatalf("Private's ACL %v %v", acl, err)
	}
}

// FuzzSplitShared: a name splitShared takes comes back from
// visibleName (owner lower-cased, the rest canonical), and a name it
// refuses is never in another account's namespace.
func FuzzSplitShared(f *testing.F) {
	for _, s := range []string{"shared/a@b/INBOX", "shared/A@B/inbox/x", "shared/a@b", "shared/x/y", "shared//y", "shared/@/", "INBOX", "shared"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		owner, rest, ok := splitShared(name)
		if !ok {
			if owner != "" || rest != "" {
				t.Fatalf("%q: refused but %q %q", name, owner, rest)
			}
			return
		}
		if !strings.Contains(owner, "@") || rest == "" || strings.ToLower(owner) != owner {
			t.Fatalf("%q: owner %q rest %q", name, owner, rest)
		}
		if o2, r2, ok2 := splitShared(visibleName(owner, rest)); !ok2 || o2 != owner || r2 != rest {
			t.Fatalf("%q: round trip %q %q %v", name, o2, r2, ok2)
		}
	})
}
