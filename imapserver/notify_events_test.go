package imapserver

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mailroom/mailroom/store"
)

// idle starts IDLE (tag "i"); endIdle ends it.
func (tc *testConn) idle(t *testing.T) {
	t.Helper()
	tc.writeLine("i idle")
	if r := tc.readResponse(); !strings.HasPrefix(r, "+ ") {
		t.Fatalf("IDLE: %q", r)
	}
}

func (tc *testConn) endIdle() {
	tc.writeLine("DONE")
	tc.readUntilTagged("i", "ok")
}

// readPushed reads the responses the server sends without a command
// until one of kind comes, and returns them all.
func (tc *testConn) readPushed(t *testing.T, kind string) []resp {
	t.Helper()
	var out []resp
	for {
		r := parseResp(t, tc.readResponse())
		out = append(out, r)
		if r.kind == kind {
			return out
		}
	}
}

// notifiedMetadata returns the unsolicited METADATA responses (RFC 5464
// §4.4.2) in lines as "mailbox|entry ...", sorted.
func notifiedMetadata(t *testing.T, lines []string) []string {
	t.Helper()
	var out []string
	for _, r := range find(parseResps(t, lines), "METADATA") {
		var names []string
		for _, it := range r.items[1:] {
			names = append(names, fmt.Sprint(it))
		}
		out = append(out, fmt.Sprint(r.items[0])+"|"+strings.Join(names, " "))
	}
	slices.Sort(out)
	return out
}

// TestNotifyFetchNew: MessageNew with fetch attributes for the selected
// mailbox sends FETCH right after EXISTS with what was asked, without
// setting \Seen (BODY[TEXT] is taken as BODY.PEEK[TEXT]); without fetch
// attributes only EXISTS comes.
func TestNotifyFetchNew(t *testing.T) {
	t.Parallel()
	ts := startTestServer(t)
	tc := ts.login()
	tc.transactf("ok", "select inbox")
	tc.transactf("ok", "notify set (selected (MessageNew (uid flags rfc822.size body[text]) MessageExpunge))")
	ts.deliver("", simpleMsg)
	rs := parseResps(t, tc.transactf("ok", "noop"))
	if len(rs) < 2 || rs[0].kind != "EXISTS" || rs[0].num != 1 || rs[len(rs)-1].kind != "FETCH" || rs[len(rs)-1].num != 1 {
		t.Fatalf("after a delivery: %v", rs)
	}
	a := rs[len(rs)-1].fetchAttrs()
	if a["UID"] != "1" || a["BODY[TEXT]"] != "Hi there.\r\n" || a["RFC822.SIZE"] == nil || slices.Contains(strs(a["FLAGS"]), `\Seen`) {
		t.Fatalf("FETCH after EXISTS: %v", a)
	}
	if f := find(parseResps(t, tc.transactf("ok", "fetch 1 flags")), "FETCH"); len(f) != 1 || slices.Contains(strs(f[0].fetchAttrs()["FLAGS"]), `\Seen`) {
		t.Fatalf("the notification set \\Seen: %v", f)
	}

	tc.transactf("ok", "notify set (selected (MessageNew MessageExpunge))")
	ts.deliver("", simpleMsg)
	rs = parseResps(t, tc.transactf("ok", "noop"))
	if len(find(rs, "EXISTS")) != 1 || len(find(rs, "FETCH")) != 0 {
		t.Fatalf("MessageNew without fetch attributes: %v", rs)
	}
}

// TestNotifyBetweenCommands: with NOTIFY set, changes come without a
// command or IDLE: the selected mailbox's with "selected" (EXPUNGE
// included), all but EXPUNGE with "selected-delayed", none of them
// without a selected filter, whose STATUS of other mailboxes still come.
func TestNotifyBetweenCommands(t *testing.T) {
	t.Parallel()
	ts := startTestServer(t)
	tc := ts.login()
	tc.transactf("ok", "select inbox")
	other := ts.login()
	other.transactf("ok", "select inbox")

	tc.transactf("ok", "notify set (selected (MessageNew MessageExpunge))")
	ts.deliver("", simpleMsg)
	if rs := tc.readPushed(t, "EXISTS"); rs[len(rs)-1].num != 1 {
		t.Fatalf("pushed after a delivery: %v", rs)
	}
	other.transactf("ok", "noop")
	other.transactf("ok", "store 1 +flags.silent (\\Deleted)")
	other.transactf("ok", "expunge")
	if rs := tc.readPushed(t, "EXPUNGE"); rs[len(rs)-1].num != 1 || len(find(rs, "FETCH")) != 0 {
		t.Fatalf("pushed after an expunge, without FlagChange: %v", rs)
	}

	tc.transactf("ok", "notify set (selected-delayed (MessageNew MessageExpunge))")
	ts.deliver("", simpleMsg)
	tc.readPushed(t, "EXISTS")
	other.transactf("ok", "noop")
	other.transactf("ok", "store 1 +flags.silent (\\Deleted)")
	other.transactf("ok", "expunge")
	ts.deliver("", simpleMsg)
	if rs := tc.readPushed(t, "EXISTS"); len(find(rs, "EXPUNGE")) != 0 || rs[len(rs)-1].num != 2 {
		t.Fatalf("selected-delayed pushed: %v", rs)
	}
	if rs := parseResps(t, tc.transactf("ok", "noop")); len(find(rs, "EXPUNGE")) != 1 {
		t.Fatalf("the delayed EXPUNGE at NOOP: %v", rs)
	}

	tc.transactf("ok", "notify set (personal (MessageNew MessageExpunge))")
	ts.deliver("", simpleMsg)
	ts.deliver("Archive", simpleMsg)
	rs := tc.readPushed(t, "STATUS")
	if len(rs) != 1 || rs[0].items[0] != "Archive" {
		t.Fatalf("without a selected filter, pushed: %v", rs)
	}
	// No selected filter is "selected NONE" (RFC 5465 §3.1): nothing of
	// INBOX at NOOP either, until NOTIFY SET names it again.
	if lines := tc.transactf("ok", "noop"); len(lines) != 0 {
		t.Fatalf("without a selected filter, NOOP: %q", lines)
	}
	if rs := parseResps(t, tc.transactf("ok", "notify set (selected (MessageNew MessageExpunge))")); len(find(rs, "EXISTS")) != 1 {
		t.Fatalf("NOTIFY SET with selected again: %v", rs)
	}
	// NOTIFY NONE: no events at all.
	tc.transactf("ok", "notify none")
	ts.deliver("", simpleMsg)
	other.transactf("ok", "create Work")
	if lines := tc.transactf("ok", "noop"); len(lines) != 0 {
		t.Fatalf("after NOTIFY NONE, NOOP: %q", lines)
	}
}

// TestNotifyMetadata: MailboxMetadataChange and ServerMetadataChange
// send "* METADATA mailbox entry..." (RFC 5464 §4.4.2, names only) for
// changes by another session, of the mailboxes the filter matches; the
// session's own changes are not reported back.
func TestNotifyMetadata(t *testing.T) {
	t.Parallel()
	ts := startTestServer(t)
	tc := ts.login()
	tc.transactf("ok", "notify set (inboxes (MailboxMetadataChange ServerMetadataChange))")
	other := ts.login()
	other.transactf("ok", `setmetadata INBOX (/private/comment "a" /shared/comment "b")`)
	other.transactf("ok", `setmetadata Archive (/private/comment "c")`)
	other.transactf("ok", `setmetadata "" (/shared/vendor/x "d")`)
	want := []string{`INBOX|/private/comment /shared/comment`, `|/shared/vendor/x`}
	var got []string
	for deadline := time.Now().Add(30 * time.Second); len(got) < len(want) && time.Now().Before(deadline); {
		got = append(got, notifiedMetadata(t, tc.transactf("ok", "noop"))...)
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("METADATA notifications %q, want %q", got, want)
	}
	tc.transactf("ok", `setmetadata INBOX (/private/comment NIL)`)
	other.transactf("ok", `setmetadata INBOX (/private/x "1")`)
	if got := notifiedMetadata(t, tc.transactf("ok", "noop")); !slices.Equal(got, []string{"INBOX|/private/x"}) {
		t.Fatalf("after an own and another's SETMETADATA: %q", got)
	}

	// Events not asked for: nothing.
	tc.transactf("ok", "notify set (inboxes (MailboxName))")
	other.transactf("ok", `setmetadata INBOX (/private/comment "z")`)
	if lines := tc.transactf("ok", "noop"); len(lines) != 0 {
		t.Fatalf("without metadata events: %q", lines)
	}
}

// TestNotifyOverflow: more metadata changes waiting than the session
// keeps end the notifications with NOTIFICATIONOVERFLOW (RFC 5465 §5.8);
// nothing is reported after it until NOTIFY is set again.
func TestNotifyOverflow(t *testing.T) {
	t.Parallel()
	ts := startTestServer(t)
	tc := ts.login()
	tc.transactf("ok", "notify set (personal (MessageNew MessageExpunge ServerMetadataChange))")
	tc.idle(t)
	var es []store.MetadataEntry
	for i := range maxNotifyMetadata + 1 {
		es = append(es, store.MetadataEntry{Name: fmt.Sprintf("/private/e%d", i), Value: []byte("v")})
	}
	if err := ts.st.SetMetadata(context.Background(), ts.acct.ID, 0, es, 2*maxNotifyMetadata); err != nil {
		t.Fatal(err)
	}
	rs := tc.readPushed(t, "OK")
	if len(rs) != 1 || rs[0].codeName() != codeNotifyOverflow {
		t.Fatalf("pushed: %v", rs)
	}
	tc.endIdle()
	ts.deliver("Archive", simpleMsg)
	if lines := tc.transactf("ok", "noop"); len(lines) != 0 {
		t.Fatalf("after NOTIFICATIONOVERFLOW: %q", lines)
	}
}
