package imapserver

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// statusOf returns the STATUS responses in lines by mailbox name.
func statusOf(t *testing.T, lines []string) map[string]map[string]sexp {
	t.Helper()
	out := map[string]map[string]sexp{}
	for _, r := range find(parseResps(t, lines), "STATUS") {
		name, _ := r.items[0].(string)
		out[name] = statusAttrs(t, r)
	}
	return out
}

// listOf returns the LIST responses in lines as "attrs name [oldname]".
func listOf(t *testing.T, lines []string) []string {
	t.Helper()
	var out []string
	for _, r := range find(parseResps(t, lines), "LIST") {
		s := strings.Join(strs(r.items[0]), " ") + "|" + fmt.Sprint(r.items[2])
		if len(r.items) > 3 {
			ext, _ := r.items[3].([]sexp)
			if len(ext) == 2 {
				s += "|" + fmt.Sprint(ext[0]) + "=" + strings.Join(strs(ext[1]), ",")
			}
		}
		out = append(out, s)
	}
	return out
}

// TestNotify follows RFC 5465: STATUS for changes of watched mailboxes
// other than the selected one, made by another session, at the end of a
// command; LIST for MailboxName and SubscriptionChange; nothing for
// mailboxes outside the filters; nothing after NOTIFY NONE.
func TestNotify(t *testing.T) {
	t.Parallel()
	ts := startTestServer(t)
	tc := ts.login()
	if caps := atomsUpper(parseResp(t, tc.transactf("ok", "capability")[0]).items); !slices.Contains(caps, "NOTIFY") {
		t.Fatalf("NOTIFY not advertised: %v", caps)
	}
	tc.transactf("ok", "select inbox")
	lines := tc.transactf("ok", "notify set status (selected (MessageNew MessageExpunge)) (subtree Archive (MessageNew MessageExpunge FlagChange)) (personal (MailboxName SubscriptionChange))")
	st := statusOf(t, lines)
	if len(st) != 1 || st["Archive"]["MESSAGES"] != "0" || st["Archive"]["UIDNEXT"] != "1" {
		t.Fatalf("NOTIFY SET STATUS: %q", lines)
	}

	other := ts.login()
	other.transactf("ok", "append Archive (\\Seen) {5+}\r\nhello")
	other.transactf("ok", "append Junk {5+}\r\nhello")
	ts.deliver("", simpleMsg) // the selected INBOX: EXISTS, no STATUS
	lines = tc.transactf("ok", "noop")
	st = statusOf(t, lines)
	if len(st) != 1 || st["Archive"]["MESSAGES"] != "1" || st["Archive"]["UIDNEXT"] != "2" || st["Archive"]["UNSEEN"] != "0" {
		t.Fatalf("after APPEND to Archive and Junk: %q", lines)
	}
	if len(find(parseResps(t, lines), "EXISTS")) != 1 {
		t.Fatalf("no EXISTS for the selected INBOX: %q", lines)
	}
	// FlagChange: UNSEEN moves.
	other.transactf("ok", "select Archive")
	other.transactf("ok", "store 1 -flags (\\Seen)")
	if st = statusOf(t, tc.transactf("ok", "noop")); st["Archive"]["UNSEEN"] != "1" {
		t.Fatalf("after flag change: %v", st)
	}
	// Nothing happened: nothing sent.
	if lines = tc.transactf("ok", "noop"); len(lines) != 0 {
		t.Fatalf("NOOP with nothing new: %q", lines)
	}
	// MailboxName and SubscriptionChange.
	other.transactf("ok", "create Work")
	if l := listOf(t, tc.transactf("ok", "noop")); !slices.Equal(l, []string{"|Work"}) {
		t.Fatalf("after CREATE: %q", l)
	}
	other.transactf("ok", "rename Work Job")
	if l := listOf(t, tc.transactf("ok", "noop")); !slices.Equal(l, []string{"|Job|OLDNAME=Work"}) {
		t.Fatalf("after RENAME: %q", l)
	}
	other.transactf("ok", "subscribe Job")
	if l := listOf(t, tc.transactf("ok", "noop")); !slices.Equal(l, []string{`\Subscribed|Job`}) {
		t.Fatalf("after SUBSCRIBE: %q", l)
	}
	other.transactf("ok", "unsubscribe Job")
	other.transactf("ok", "delete Job")
	// Pushed together at the NOOP or apart as they came (notifyWait).
	if l := listOf(t, tc.transactf("ok", "noop")); !slices.Equal(slices.Sorted(slices.Values(l)), []string{`\NonExistent|Job`, "|Job"}) {
		t.Fatalf("after UNSUBSCRIBE and DELETE: %q", l)
	}
	// NOTIFY NONE: the usual responses only.
	tc.transactf("ok", "notify none")
	other.transactf("ok", "append Archive {5+}\r\nhello")
	other.transactf("ok", "create Work2")
	if lines = tc.transactf("ok", "noop"); len(lines) != 0 {
		t.Fatalf("after NOTIFY NONE: %q", lines)
	}
}

// TestNotifyIdle: a delivery into a watched mailbox reaches an idling
// session as STATUS while it idles.
func TestNotifyIdle(t *testing.T) {
	t.Parallel()
	ts := startTestServer(t)
	tc := ts.login()
	tc.transactf("ok", "notify set (inboxes (MessageNew MessageExpunge))")
	tc.idle(t)
	ts.deliver("", simpleMsg)
	tc.nc.SetReadDeadline(time.Now().Add(30 * time.Second))
	r := tc.readResponse()
	st := statusOf(t, []string{r})
	if st["INBOX"]["MESSAGES"] != "1" {
		t.Fatalf("during IDLE: %q", r)
	}
	tc.endIdle()
}

// TestNotifyErrors: unsupported events are refused with [BADEVENT], bad
// combinations with BAD, too many mailboxes with [LIMIT].
func TestNotifyErrors(t *testing.T) {
	t.Parallel()
	ts := startTestServer(t)
	tc := ts.login()
	tc.expect(t, "no", "BADEVENT", "notify set (personal (AnnotationChange))")
	tc.transactf("ok", "notify set (selected (MessageNew (uid flags) MessageExpunge))")
	tc.transactf("ok", "notify set (selected (MessageNew (uid body[]) MessageExpunge))") // as BODY.PEEK[] (TestNotifyFetchNew)
	tc.transactf("ok", "notify set (selected (MessageNew (rfc822) MessageExpunge))")
	tc.transactf("bad", "notify set (personal (MessageNew (uid) MessageExpunge))")
	tc.transactf("bad", "notify set (selected (MessageNew () MessageExpunge))")
	tc.expect(t, "no", codeLimit, "notify set (selected (MessageNew (%s) MessageExpunge))", strings.TrimSpace(strings.Repeat("uid ", maxNotifyFetchAtts+1)))
	tc.transactf("bad", "notify set (personal (MessageNew))")
	tc.transactf("bad", "notify set (personal (FlagChange))")
	tc.transactf("bad", "notify set (selected (MailboxName))")
	tc.transactf("bad", "notify set (nowhere (MessageNew MessageExpunge))")
	names := make([]string, maxNotifyMailboxes+1)
	for i := range names {
		names[i] = fmt.Sprintf("m%d", i)
	}
	tc.expect(t, "no", codeLimit, "notify set (mailboxes (%s) (MessageNew MessageExpunge))", strings.Join(names, " "))
	tc.transactf("ok", "notify set (mailboxes (a b) NONE)")
}
