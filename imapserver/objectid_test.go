package imapserver

import (
	"slices"
	"testing"
)

// statusAttrs returns the attributes of a "* STATUS name (...)" response.
func statusAttrs(t *testing.T, r resp) map[string]sexp {
	t.Helper()
	if r.kind != "STATUS" || len(r.items) != 2 {
		t.Fatalf("not a STATUS response: %q", r.line)
	}
	l, _ := r.items[1].([]sexp)
	m := map[string]sexp{}
	for i := 0; i+1 < len(l); i += 2 {
		name, _ := l[i].(string)
		m[name] = l[i+1]
	}
	return m
}

// oneID returns the single object id of "(id)", checking its syntax
// (RFC 8474 §7: objectid = 1*255(ALPHA / DIGIT / "_" / "-")).
func oneID(t *testing.T, x sexp) string {
	t.Helper()
	l := strs(x)
	if len(l) != 1 || len(l[0]) == 0 || len(l[0]) > 255 {
		t.Fatalf("object id %v", x)
	}
	for _, b := range []byte(l[0]) {
		if !(b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '_' || b == '-') {
			t.Fatalf("object id %q: bad character %q", l[0], b)
		}
	}
	return l[0]
}

// TestObjectIDMailbox follows RFC 8474 §4's examples: CREATE's tagged
// MAILBOXID, the same id from STATUS, SELECT and LIST RETURN (STATUS),
// kept by RENAME, new after DELETE and CREATE of the same name.
func TestObjectIDMailbox(t *testing.T) {
	t.Parallel()
	ts := startTestServer(t)
	tc := ts.login()
	if caps := atomsUpper(parseResp(t, tc.transactf("ok", "capability")[0]).items); !slices.Contains(caps, "OBJECTID") {
		t.Fatalf("OBJECTID not advertised: %v", caps)
	}
	tc.transactf("ok", "create foo")
	r := tc.lastTaggedResp()
	if r.codeName() != "MAILBOXID" || len(r.code) != 2 {
		t.Fatalf("CREATE: %q, want OK [MAILBOXID (id)]", tc.lastTagged)
	}
	id := oneID(t, r.code[1])

	rs := parseResps(t, tc.transactf("ok", "status foo (mailboxid messages)"))
	if got := oneID(t, statusAttrs(t, rs[0])["MAILBOXID"]); got != id {
		t.Fatalf("STATUS MAILBOXID %q, CREATE said %q", got, id)
	}
	tc.transactf("ok", "rename foo bar")
	rs = parseResps(t, tc.transactf("ok", "status bar (mailboxid)"))
	if got := oneID(t, statusAttrs(t, rs[0])["MAILBOXID"]); got != id {
		t.Fatalf("MAILBOXID after RENAME %q, want %q", got, id)
	}
	rs = parseResps(t, tc.transactf("ok", "examine bar"))
	if oks := find(rs, "OK", "MAILBOXID"); len(oks) != 1 || oneID(t, oks[0].code[1]) != id {
		t.Fatalf("EXAMINE: %v, want OK [MAILBOXID (%s)]", rs, id)
	}
	rs = parseResps(t, tc.transactf("ok", `list "" * return (status (mailboxid))`))
	ids := map[string]string{}
	for _, r := range find(rs, "STATUS") {
		name, _ := r.items[0].(string)
		ids[name] = oneID(t, statusAttrs(t, r)["MAILBOXID"])
	}
	seen := map[string]bool{}
	for _, v := range ids {
		seen[v] = true
	}
	if len(ids) < 2 || len(seen) != len(ids) || ids["bar"] != id || ids["INBOX"] == "" {
		t.Fatalf("LIST RETURN (STATUS (MAILBOXID)): %v", ids)
	}
	tc.transactf("ok", "unselect")
	tc.transactf("ok", "delete bar")
	tc.transactf("ok", "create bar")
	if got := oneID(t, tc.lastTaggedResp().code[1]); got == id {
		t.Fatalf("re-created mailbox got the old MAILBOXID %q", got)
	}
}

// TestObjectIDEmail follows RFC 8474 §5: EMAILID differs between two
// deliveries of the same bytes, is kept by COPY and MOVE, THREADID is NIL
// (threads are not tracked, §5.2).
func TestObjectIDEmail(t *testing.T) {
	t.Parallel()
	ts := startTestServer(t)
	ts.deliver("", simpleMsg)
	ts.deliver("", simpleMsg)
	tc := ts.login()
	tc.transactf("ok", "select inbox")
	fetchIDs := func(cmd string) map[uint32][2]sexp {
		t.Helper()
		out := map[uint32][2]sexp{}
		for _, r := range find(parseResps(t, tc.transactf("ok", "%s", cmd)), "FETCH") {
			a := r.fetchAttrs()
			out[r.num] = [2]sexp{a["EMAILID"], a["THREADID"]}
		}
		return out
	}
	got := fetchIDs("fetch 1:* (emailid threadid)")
	if len(got) != 2 {
		t.Fatalf("FETCH: %v", got)
	}
	e1, e2 := oneID(t, got[1][0]), oneID(t, got[2][0])
	if e1 == e2 {
		t.Fatalf("two deliveries share EMAILID %q", e1)
	}
	for _, ids := range got {
		if ids[1] != "NIL" {
			t.Fatalf("THREADID %v, want NIL", ids[1])
		}
	}
	tc.transactf("ok", "copy 1 Archive")
	tc.transactf("ok", "move 2 Archive")
	tc.transactf("ok", "select Archive")
	got = fetchIDs("uid fetch 1:* emailid")
	if len(got) != 2 || oneID(t, got[1][0]) != e1 || oneID(t, got[2][0]) != e2 {
		t.Fatalf("EMAILIDs after COPY and MOVE %v, want %s %s", got, e1, e2)
	}
}

// TestFetchRowExtrasBatched: FETCH 1:50 (EMAILID SAVEDATE) reads the ids
// and dates with one store call each for the whole command, not one per
// message, and answers each message with its own id.
func TestFetchRowExtrasBatched(t *testing.T) {
	t.Parallel()
	ts, cs := startCountingServer(t)
	for range 50 {
		ts.deliver("INBOX", simpleMsg)
	}
	tc := ts.login()
	tc.transactf("ok", "select INBOX")
	cs.take()
	ids := map[string]bool{}
	rs := find(parseResps(t, tc.transactf("ok", "fetch 1:50 (emailid savedate)")), "FETCH")
	for _, r := range rs {
		a := r.fetchAttrs()
		ids[oneID(t, a["EMAILID"])] = true
		if d, ok := a["SAVEDATE"].(string); !ok || d == "NIL" {
			t.Fatalf("SAVEDATE %v", a["SAVEDATE"])
		}
	}
	if len(rs) != 50 || len(ids) != 50 {
		t.Fatalf("%d FETCH responses with %d distinct EMAILIDs, want 50", len(rs), len(ids))
	}
	if n := cs.take(); n["EmailIDs"] != 1 || n["SaveDates"] != 1 || total(n) != 2 {
		t.Errorf("FETCH 1:50 (EMAILID SAVEDATE) made store calls %v, want one EmailIDs and one SaveDates", n)
	}
}
