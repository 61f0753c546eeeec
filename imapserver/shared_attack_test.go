package imapserver

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mailroom/mailroom/internal/authtest"
	"github.com/mailroom/mailroom/store"
)

// Attacks on the shared namespace by bob, an account with a valid login
// that mjl shares some mailboxes with: what a grant allows stays within
// RFC 4314 §4, and without one nothing of mjl's is reached or learnt.

// sharedPrivate is mjl's mailbox bob never gets a right on.
const sharedPrivate = "shared/mjl@example.org/Private"

// noNonExistent fails unless the last command was NO [NONEXISTENT] with
// no untagged response, the answer for a mailbox that does not exist.
func noNonExistent(t *testing.T, tc *testConn, what string, lines []string) {
	t.Helper()
	if len(lines) != 0 || taggedCode(tc) != codeNonExistent {
		t.Fatalf("%s: %q %s", what, lines, tc.lastTagged)
	}
}

// TestSharedAttackNames: no spelling of a mailbox name, no LIST pattern
// reaches or shows a mailbox of mjl bob has no right on: case variants
// of the owner, "..", "." and empty levels, a trailing "/", modified
// UTF-7 for "@", and LIST patterns over the whole namespace.
func TestSharedAttackNames(t *testing.T) {
	t.Parallel()
	_, owner, bob := sharedSetup(t)
	owner.transactf("ok", "create Private/Sub")
	owner.transactf("ok", "create Team")
	owner.transactf("ok", "setacl Team %s lr", bobUser)
	for _, p := range []string{"*", "%", "shared/*", "shared/%", "shared/%/%", "shared/mjl@example.org/*",
		"shared/MJL@EXAMPLE.ORG/*", "SHARED/*", "shared/mjl@example.org/Private*", "shared/mjl@example.org/Private/*",
		"shared/mjl@example.org/../*", "shared/mjl&AEA-example.org/*", "*Private*", "shared/*/Private"} {
		for _, l := range bob.transactf("ok", "list %q %q return (myrights status (messages))", "", p) {
			if strings.Contains(l, "Private") {
				t.Fatalf("LIST %q shows %q", p, l)
			}
		}
	}
	for _, n := range []string{
		sharedPrivate, sharedPrivate + "/", sharedPrivate + "/Sub", "shared/mjl@example.org//Private",
		"shared/mjl@example.org/./Private", "shared/mjl@example.org/Team/../Private", "shared/mjl@example.org/../mjl@example.org/Private",
		"shared/mjl&AEA-example.org/Private", "shared/Mjl@Example.Org/Private", "shared/mjl@example.org/private",
		"shared/mjl@example.org/Private%", "shared/mjl@example.org/Priv*", "shared/ mjl@example.org/Private",
	} {
		noNonExistent(t, bob, "SELECT "+n, bob.transactf("no", "select %q", n))
		noNonExistent(t, bob, "STATUS "+n, bob.transactf("no", "status %q (messages uidnext mailboxid)", n))
		noNonExistent(t, bob, "MYRIGHTS "+n, bob.transactf("no", "myrights %q", n))
	}
	// Modified UTF-7 never spells printable ASCII (RFC 3501 §5.1.3): not
	// even a granted mailbox is reached that way.
	noNonExistent(t, bob, "MYRIGHTS in UTF-7", bob.transactf("no", "myrights shared/mjl&AEA-example.org/Team"))
	hasLine(t, bob.transactf("ok", "myrights shared/mjl@example.org/Team"), "* MYRIGHTS shared/mjl@example.org/Team lr")
}

// TestSharedAttackEscalation: what the administer right "a" lets a
// grantee do. He may grant rights to a third account and to himself (RFC
// 4314 §3.1, as Dovecot), never change the owner's; but the rights he
// gives himself do not make DELETE, RENAME, CREATE, REPLACE or copies
// between accounts possible, and without "a" he changes no ACL.
func TestSharedAttackEscalation(t *testing.T) {
	t.Parallel()
	ts, owner, bob := sharedSetup(t)
	hash := authtest.Credentials(testPass)
	const carolUser = "carol@example.org"
	if _, err := ts.st.CreateAccount(context.Background(), carolUser, hash); err != nil {
		t.Fatal(err)
	}
	carol := ts.dial()
	carol.transactf("ok", "login %s %s", carolUser, testPass)
	owner.transactf("ok", "create Team/Sub")
	const team = "shared/mjl@example.org/Team"

	// Without "a": no ACL command at all, whatever else he holds.
	owner.transactf("ok", "setacl Team %s lrswipkxte", bobUser)
	for _, cmd := range []string{"setacl %s " + bobUser + " +a", "setacl %s " + carolUser + " lr", "deleteacl %s " + bobUser, "getacl %s", "listrights %s " + carolUser} {
		if lines := bob.transactf("no", cmd, team); len(lines) != 0 || taggedCode(bob) != codeNoPerm {
			t.Fatalf(cmd+": %q %s", team, lines, bob.lastTagged)
		}
	}
	exactly(t, "MYRIGHTS", bob.transactf("ok", "myrights %s", team), "* MYRIGHTS "+team+" lrswipkxtecd")

	// With "a": a third account and himself, never the owner.
	owner.transactf("ok", "setacl Team %s la", bobUser)
	bob.transactf("ok", "setacl %s %s lr", team, carolUser)
	hasLine(t, carol.transactf("ok", "status %s (messages)", team), "* STATUS "+team+" (MESSAGES 0)")
	bob.transactf("ok", "setacl %s %s +lrswipkxtea", team, bobUser)
	for _, cmd := range []string{"setacl %s " + testUser + " l", "setacl %s MJL@Example.ORG -a", "deleteacl %s " + testUser} {
		bob.transactf("no", cmd, team)
		if taggedCode(bob) != codeCannot {
			t.Fatalf(cmd+": %s", team, bob.lastTagged)
		}
	}
	// Every right, and still no DELETE, RENAME or CREATE there.
	for _, cmd := range []string{"delete %s", "delete %s/Sub", "rename %s Mine", "rename %s/Sub Mine", "create %s/New", "create %s/Sub/New"} {
		bob.transactf("no", cmd, team)
	}
	exactly(t, "owner's mailboxes", owner.transactf("ok", `list "" "Team*"`),
		`* LIST (\HasChildren) "/" Team`, `* LIST (\HasNoChildren) "/" Team/Sub`)
	exactly(t, "bob's mailboxes", bob.transactf("ok", `list "" "Mine*"`))
	// Nor REPLACE in it, nor a copy out of it.
	ts.deliver("Team", simpleMsg)
	bob.transactf("ok", "select %s", team)
	bob.transactf("no", "replace 1 INBOX {11+}\r\nSubject: r\r\n")
	bob.transactf("no", "uid copy 1 INBOX")
	bob.transactf("no", "uid move 1 INBOX")
	hasLine(t, owner.transactf("ok", "status Team (messages)"), "* STATUS Team (MESSAGES 1)")
	exactly(t, "bob's INBOX", bob.transactf("ok", "status INBOX (messages)"), "* STATUS INBOX (MESSAGES 0)")

	// The owner's revoke of bob takes away the self-granted rights too;
	// carol's grant, given by bob, stays until the owner removes it.
	owner.transactf("ok", "deleteacl Team %s", bobUser)
	bob.transactf("no", "fetch 1 flags")
	if taggedCode(bob) != codeNoPerm {
		t.Fatalf("FETCH after revoke: %s", bob.lastTagged)
	}
	exactly(t, "GETACL", owner.transactf("ok", "getacl Team"), "* ACL Team "+testUser+" lrswipkxteacd "+carolUser+" lr")
}

// TestSharedAttackExtensions: METADATA, URLAUTH, RESETKEY, CATENATE and
// NOTIFY never reach another account's mailbox, even one granted with
// every right: GET/SETMETADATA answer as for a missing mailbox, a URL of
// mjl's message is not signed, fetched or catenated by bob, and
// NOTIFY on shared names tells him of no change.
func TestSharedAttackExtensions(t *testing.T) {
	t.Parallel()
	ts, owner, bob := sharedSetup(t)
	owner.transactf("ok", "create Private")
	owner.transactf("ok", "setacl INBOX %s lrswipkxtea", bobUser)
	owner.transactf("ok", `setmetadata INBOX (/private/comment "mjl's")`)
	owner.transactf("ok", `setmetadata Private (/shared/comment "secret")`)
	for _, n := range []string{"shared/mjl@example.org/INBOX", sharedPrivate} {
		noNonExistent(t, bob, "GETMETADATA "+n, bob.transactf("no", "getmetadata %s (/private/comment /shared/comment)", n))
		noNonExistent(t, bob, "SETMETADATA "+n, bob.transactf("no", `setmetadata %s (/shared/comment "bob was here")`, n))
		noNonExistent(t, bob, "RESETKEY "+n, bob.transactf("no", "resetkey %s", n))
	}
	_, m := metadataOf(t, owner.transactf("ok", "getmetadata Private /shared/comment"))
	if m["/shared/comment"] != "secret" {
		t.Fatalf("owner's metadata: %v", m)
	}
	// Server entries, "/shared" ones too, are each account's own.
	owner.transactf("ok", `setmetadata "" (/shared/comment "mjl's server note")`)
	bob.transactf("ok", `setmetadata "" (/shared/comment "bob's" /shared/admin "mailto:bob@example.org")`)
	if _, m := metadataOf(t, owner.transactf("ok", `getmetadata "" (/shared/comment /shared/admin)`)); m["/shared/comment"] != "mjl's server note" || m["/shared/admin"] != "NIL" {
		t.Fatalf("owner's server metadata after bob's SETMETADATA: %v", m)
	}

	// URLs: mjl's signed URL with a forged token, his URL as bob's, and
	// CATENATE of his message from bob, in every URL form.
	uv := statusAttrs(t, parseResps(t, owner.transactf("ok", "status inbox (uidvalidity)"))[0])["UIDVALIDITY"].(string)
	rump := "imap://mjl%40example.org@mail.example.org/INBOX;UIDVALIDITY=" + uv + "/;UID=1;URLAUTH=authuser"
	signed := genURL(t, owner, rump)
	forged := rump + ":INTERNAL:" + strings.Repeat("0", 64)
	if got := urlFetch(t, bob, fmt.Sprintf("%q", forged)); len(got) != 1 || got[0][1] != "NIL" {
		t.Fatalf("URLFETCH forged: %q", got)
	}
	bob.transactf("no", "genurlauth %q INTERNAL", rump)
	if got := urlFetch(t, bob, fmt.Sprintf("%q", signed)); len(got) != 1 || got[0][1] == "NIL" {
		t.Fatalf("URLFETCH of an authuser URL mjl signed: %q", got) // RFC 4467: any user of the server
	}
	for _, u := range []string{
		"imap://mjl%40example.org@mail.example.org/INBOX/;UID=1", "imap://mail.example.org/INBOX/;UID=1",
		"imap:///shared/mjl@example.org/INBOX/;UID=1", "/shared/mjl%40example.org/INBOX/;UID=1",
		"/shared/mjl@example.org/Private/;UID=1", "//mjl%40example.org@mail.example.org/INBOX/;UID=1",
	} {
		bob.transactf("no", "append INBOX catenate (url %q)", u)
		if !strings.HasPrefix(taggedCode(bob), codeBadURL) {
			t.Fatalf("CATENATE %s: %s", u, bob.lastTagged)
		}
	}

	// NOTIFY for mjl's mailboxes by name or subtree: nothing, granted or not.
	bob.transactf("ok", "notify set status (mailboxes (shared/mjl@example.org/INBOX %s) (MessageNew MessageExpunge FlagChange)) (subtree (shared shared/mjl@example.org) (MessageNew MessageExpunge MailboxName))", sharedPrivate)
	ts.deliver("", simpleMsg)
	ts.deliver("Private", simpleMsg)
	owner.transactf("ok", "create Private/New")
	owner.transactf("ok", "rename Private Private2")
	exactly(t, "NOOP after mjl's changes", bob.transactf("ok", "noop"))
	// With mjl's INBOX selected, bob's session hears mjl's feed, but
	// NOTIFY still tells him only of his own mailboxes.
	bob.transactf("ok", "examine shared/mjl@example.org/INBOX")
	bob.transactf("ok", "notify set (selected (MessageNew MessageExpunge)) (personal (MailboxName SubscriptionChange MailboxMetadataChange))")
	owner.transactf("ok", "create Secret")
	owner.transactf("ok", "subscribe Secret")
	owner.transactf("ok", `setmetadata INBOX (/private/comment "changed")`)
	owner.transactf("ok", "rename Private2 Secret2")
	exactly(t, "NOOP with mjl's INBOX selected", bob.transactf("ok", "noop"))
}

// TestSharedAttackRevokeUpdates: after a revoke, a session that has the
// mailbox selected hears nothing more of it: not in IDLE, not through a
// SEARCH or SORT RETURN (UPDATE) context, not through NOTIFY's selected
// events. (The rights are read again when the owner's change arrives.)
func TestSharedAttackRevokeUpdates(t *testing.T) {
	t.Parallel()
	ts, owner, bob := sharedSetup(t)
	const inbox = "shared/mjl@example.org/INBOX"
	owner.transactf("ok", "setacl INBOX %s lr", bobUser)
	bob.transactf("ok", "select %s", inbox)
	bob.transactf("ok", "notify set (selected (MessageNew (uid flags) MessageExpunge FlagChange))")
	bob.transactf("ok", "uid search return (update) all")
	searchTag := bob.lastTag()
	bob.transactf("ok", "uid sort return (update) (arrival) utf-8 all")
	sortTag := bob.lastTag()
	// With the grant: updates come.
	ts.deliver("", simpleMsg)
	wantUpdates(t, "granted", bob.transactf("ok", "noop"), searchTag+" UID ADDTO (0 2)", sortTag+" UID ADDTO (2 2)")

	owner.transactf("ok", "deleteacl INBOX %s", bobUser)
	bob.writeLine("i1 idle")
	if r := bob.readResponse(); r != "+ idling" {
		t.Fatalf("idle: %q", r)
	}
	ts.deliver("", simpleMsg)
	owner.transactf("ok", "select INBOX")
	owner.transactf("ok", "store 1 +flags (\\Flagged)")
	bob.nc.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	if line, err := bob.br.ReadString('\n'); err == nil {
		t.Fatalf("IDLE after revoke: %q", line)
	}
	bob.nc.SetReadDeadline(time.Time{})
	bob.writeLine("DONE")
	exactly(t, "IDLE after revoke", bob.readUntilTagged("i1", "ok"))
	exactly(t, "NOOP after revoke", bob.transactf("ok", "noop"))
	bob.transactf("no", "uid search return (update) all")
	// A grant given back does not bring back the revoked selection.
	owner.transactf("ok", "setacl INBOX %s lr", bobUser)
	ts.deliver("", simpleMsg)
	exactly(t, "NOOP after re-grant", bob.transactf("ok", "noop"))
	bob.transactf("no", "fetch 1 flags")
}

// TestSharedAttackListFlood: an account that grants "anyone" lookup on
// more mailboxes than LIST shows (store.MaxSharedMailboxes) fills every
// other account's shared/ listing, but hides neither the mailbox mjl
// shares with bob by address nor the one he shares with every account:
// LIST still shows them, and stays bounded.
func TestSharedAttackListFlood(t *testing.T) {
	t.Parallel()
	ts, owner, bob := sharedSetup(t)
	ctx := context.Background()
	spam, err := ts.st.CreateAccount(ctx, "aaa@example.org", "x")
	if err != nil {
		t.Fatal(err)
	}
	for i := range store.MaxSharedMailboxes + 1 {
		mb, err := ts.st.CreateMailbox(ctx, spam.ID, fmt.Sprintf("s%04d", i), "")
		if err != nil {
			t.Fatal(err)
		}
		if err := ts.st.SetMailboxACL(ctx, mb.Ref(), "anyone", "l"); err != nil {
			t.Fatal(err)
		}
	}
	owner.transactf("ok", "setacl INBOX %s lr", bobUser)
	owner.transactf("ok", "create Team")
	owner.transactf("ok", "setacl Team authenticated l") // as aaa's: owners take turns
	exactly(t, "LIST mjl's", bob.transactf("ok", `list "" "shared/mjl@example.org/*"`),
		`* LIST (\HasNoChildren) "/" shared/mjl@example.org/INBOX`, `* LIST (\HasNoChildren) "/" shared/mjl@example.org/Team`)
	all := bob.transactf("ok", `list "" "shared/*"`)
	hasLine(t, all, `* LIST (\HasNoChildren) "/" shared/mjl@example.org/INBOX`)
	hasLine(t, all, `* LIST (\HasNoChildren) "/" shared/mjl@example.org/Team`)
	// The two owners' \Noselect parents and at most the bound of mailboxes.
	if len(all) != store.MaxSharedMailboxes+2 {
		t.Fatalf("LIST shared/*: %d entries", len(all))
	}
}

// TestSharedAttackExistence: a mailbox of mjl bob has no right on and
// one that does not exist get the same answers from APPEND, COPY and
// MOVE; a lookup-only grant lists the mailbox without STATUS; after a
// revoke, a subscription bob made while granted shows nothing more of
// it than of a name that never existed.
func TestSharedAttackExistence(t *testing.T) {
	t.Parallel()
	_, owner, bob := sharedSetup(t)
	owner.transactf("ok", "create Private")
	owner.transactf("ok", "create Team")
	appendf(bob, "ok", "INBOX", "Subject: bob's\r\n\r\nx\r\n")
	bob.transactf("ok", "select INBOX")
	answers := func(name string) []string {
		var out []string
		for _, cmd := range []string{"uid copy 1 %s", "uid move 1 %s", "append %s {11+}\r\nSubject: x\r\n", "append %s catenate (text {12+}\r\nSubject: x\r\n)"} {
			lines := bob.transactf("no", cmd, name)
			out = append(out, fmt.Sprint(lines, " ", strings.SplitN(bob.lastTagged, " ", 2)[1]))
		}
		return out
	}
	private, nosuch := answers(sharedPrivate), answers("shared/mjl@example.org/Nosuch")
	if fmt.Sprint(private) != fmt.Sprint(nosuch) || !strings.Contains(private[0], "NONEXISTENT") {
		t.Fatalf("existing %q, missing %q", private, nosuch)
	}
	bob.transactf("ok", "unselect")

	const team = "shared/mjl@example.org/Team"
	owner.transactf("ok", "setacl Team %s l", bobUser)
	exactly(t, "LIST lookup only", bob.transactf("ok", `list "" %s return (myrights status (messages))`, team),
		`* LIST (\HasNoChildren) "/" `+team, "* MYRIGHTS "+team+" l")
	owner.transactf("ok", "setacl Team %s lr", bobUser)
	bob.transactf("ok", "subscribe %s", team)
	owner.transactf("ok", "deleteacl Team %s", bobUser)
	owner.transactf("ok", "create Gone")
	owner.transactf("ok", "setacl Gone %s lr", bobUser)
	bob.transactf("ok", "subscribe shared/mjl@example.org/Gone")
	owner.transactf("ok", "delete Gone")
	exactly(t, "LIST (SUBSCRIBED) after revoke", bob.transactf("ok", `list (subscribed) "" "shared/*" return (myrights status (messages))`),
		`* LIST (\NonExistent \HasNoChildren \Subscribed) "/" shared/mjl@example.org/Gone`,
		`* LIST (\NonExistent \HasNoChildren \Subscribed) "/" `+team)
	exactly(t, "LSUB after revoke", bob.transactf("ok", `lsub "" "shared/*"`),
		`* LSUB (\Noselect) "/" shared/mjl@example.org/Gone`, `* LSUB (\Noselect) "/" `+team)
}
