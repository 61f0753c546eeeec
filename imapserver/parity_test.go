package imapserver

import (
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// Tests for the differences from Dovecot listed in issue 14. Each asserts
// parsed responses and failed before its fix.

// flagsOf returns the flags of the last untagged FLAGS response and of the
// last PERMANENTFLAGS code in rs (nil when absent).
func flagsOf(rs []resp) (flags, perm []string) {
	for _, r := range rs {
		switch {
		case r.kind == "FLAGS" && len(r.items) == 1:
			flags = strs(r.items[0])
		case r.kind == "OK" && r.codeName() == "PERMANENTFLAGS" && len(r.code) == 2:
			perm = strs(r.code[1])
		}
	}
	return flags, perm
}

// TestKeywordsInFlags: FLAGS and PERMANENTFLAGS list the keywords in use
// (RFC 3501 §7.2.6); a keyword that first appears in the mailbox, by this
// session or another, is announced in a new FLAGS before any FETCH that
// carries it (issue 14, item 1).
func TestKeywordsInFlags(t *testing.T) {
	ts := startTestServer(t)
	tc := ts.login()
	msg := strings.ReplaceAll(simpleMsg, "\n", "\r\n")
	tc.transactf("ok", "append inbox ($Forwarded Junk \\Seen) {%d+}\r\n%s", len(msg), msg)
	rs := parseResps(t, tc.transactf("ok", "select inbox"))
	flags, perm := flagsOf(rs)
	wantFlags := []string{`\Answered`, `\Flagged`, `\Deleted`, `\Seen`, `\Draft`, "$Forwarded", "Junk"}
	if !slices.Equal(flags, wantFlags) {
		t.Fatalf("FLAGS %q, want %q", flags, wantFlags)
	}
	if !slices.Equal(perm, append(slices.Clone(wantFlags), `\*`)) {
		t.Fatalf("PERMANENTFLAGS %q", perm)
	}
	// EXAMINE: the same FLAGS, no permanent flags.
	other := ts.login()
	flags, perm = flagsOf(parseResps(t, other.transactf("ok", "examine inbox")))
	if !slices.Equal(flags, wantFlags) || len(perm) != 0 {
		t.Fatalf("EXAMINE: FLAGS %q PERMANENTFLAGS %q", flags, perm)
	}
	other.transactf("ok", "select inbox")

	// This session's STORE with a new keyword: FLAGS before the FETCH.
	rs = parseResps(t, tc.transactf("ok", "store 1 +flags ($Label1)"))
	checkAnnounced(t, rs, wantFlags)
	flags, _ = flagsOf(rs)
	if !slices.Contains(flags, "$Label1") {
		t.Fatalf("no new FLAGS with $Label1: %q", rs)
	}
	// The other session learns of it at its next command.
	rs = parseResps(t, other.transactf("ok", "noop"))
	checkAnnounced(t, rs, wantFlags)
	if flags, _ = flagsOf(rs); !slices.Contains(flags, "$Label1") {
		t.Fatalf("other session: no new FLAGS with $Label1: %q", rs)
	}
	// A message delivered with a new keyword, seen by FETCH after NOOP.
	tc.transactf("ok", "append inbox ($Label4) {%d+}\r\n%s", len(msg), msg)
	rs = parseResps(t, other.transactf("ok", "noop"))
	rs = append(rs, parseResps(t, other.transactf("ok", "fetch 1:* (flags)"))...)
	checkAnnounced(t, rs, append(wantFlags, "$Label1"))
	// An already announced keyword is not announced again.
	rs = parseResps(t, tc.transactf("ok", "store 2 +flags ($Label1)"))
	if len(find(rs, "FLAGS")) != 0 {
		t.Fatalf("FLAGS repeated: %q", rs)
	}
}

// checkAnnounced fails unless every keyword in every FETCH FLAGS of rs was
// in the initial flags or in a FLAGS response before it.
func checkAnnounced(t *testing.T, rs []resp, initial []string) {
	t.Helper()
	known := slices.Clone(initial)
	for _, r := range rs {
		switch r.kind {
		case "FLAGS":
			known = append(known, strs(r.items[0])...)
		case "FETCH":
			for _, f := range strs(r.fetchAttrs()["FLAGS"]) {
				if f != `\Recent` && !slices.Contains(known, f) {
					t.Fatalf("keyword %s used before FLAGS announced it: %q", f, r.line)
				}
			}
		}
	}
}

// highestOf returns the value of the last HIGHESTMODSEQ code in rs, or 0.
func highestOf(t *testing.T, rs []resp) uint64 {
	t.Helper()
	var n uint64
	for _, r := range find(rs, "OK", "HIGHESTMODSEQ") {
		s := strs(r.code)
		if len(s) != 2 {
			t.Fatalf("bad code %q", r.line)
		}
		v, err := strconv.ParseUint(s[1], 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		n = v
	}
	return n
}

// TestCondstoreBookkeeping: issue 14 item 4.
func TestCondstoreBookkeeping(t *testing.T) {
	ts := startTestServer(t)
	for range 3 {
		ts.deliver("", simpleMsg)
	}
	// FETCH (MODSEQ) enables CONDSTORE and so sends HIGHESTMODSEQ.
	tc := ts.login()
	tc.transactf("ok", "select inbox")
	rs := parseResps(t, tc.transactf("ok", "fetch 1 (modseq)"))
	if h := highestOf(t, rs); h != 4 {
		t.Fatalf("HIGHESTMODSEQ after enabling FETCH = %d, want 4: %q", h, rs)
	}
	// Not again on the next command.
	rs = parseResps(t, tc.transactf("ok", "fetch 1 (modseq)"))
	if len(find(rs, "OK", "HIGHESTMODSEQ")) != 0 {
		t.Fatalf("HIGHESTMODSEQ repeated: %q", rs)
	}

	// SEARCH RETURN (MIN) / (MAX) with MODSEQ: that message's modseq.
	tc.transactf("ok", `store 1 +flags.silent (\Flagged)`) // 1 -> modseq 5
	tc.transactf("ok", `store 3 +flags.silent (\Flagged)`) // 3 -> modseq 6
	tc.transactf("ok", `store 2 +flags.silent (\Seen)`)    // 2 -> modseq 7
	esearch := func(ret string) map[string]string {
		rs := parseResps(t, tc.transactf("ok", "search return (%s) modseq 2", ret))
		es := find(rs, "ESEARCH")
		if len(es) != 1 {
			t.Fatalf("%q", rs)
		}
		m := map[string]string{}
		for i := 1; i+1 < len(es[0].items); i += 2 {
			m[strings.ToUpper(es[0].items[i].(string))] = es[0].items[i+1].(string)
		}
		return m
	}
	for _, tt := range []struct{ ret, key, val, modseq string }{
		{"MIN", "MIN", "1", "5"},
		{"MAX", "MAX", "3", "6"},
		{"MIN MAX", "MAX", "3", "6"},
		{"COUNT", "COUNT", "3", "7"},
	} {
		m := esearch(tt.ret)
		if m[tt.key] != tt.val || m["MODSEQ"] != tt.modseq {
			t.Errorf("RETURN (%s): %v, want %s %s MODSEQ %s", tt.ret, m, tt.key, tt.val, tt.modseq)
		}
	}

	// QRESYNC: APPEND and COPY into the selected mailbox send the new
	// HIGHESTMODSEQ with EXISTS.
	qc := ts.login()
	qc.transactf("ok", "enable qresync")
	if h := highestOf(t, parseResps(t, qc.transactf("ok", "select inbox"))); h != 7 {
		t.Fatalf("select HIGHESTMODSEQ %d", h)
	}
	msg := strings.ReplaceAll(simpleMsg, "\n", "\r\n")
	rs = parseResps(t, qc.transactf("ok", "append inbox {%d+}\r\n%s", len(msg), msg))
	if len(find(rs, "EXISTS")) != 1 || highestOf(t, rs) != 8 {
		t.Fatalf("after APPEND: %q", rs)
	}
	rs = parseResps(t, qc.transactf("ok", "copy 1 inbox"))
	if len(find(rs, "EXISTS")) != 1 || highestOf(t, rs) != 9 {
		t.Fatalf("after COPY: %q", rs)
	}
	// A change by another session, learned at NOOP.
	tc.transactf("ok", `store 1 -flags.silent (\Flagged)`)
	rs = parseResps(t, qc.transactf("ok", "noop"))
	if len(find(rs, "FETCH")) != 1 || highestOf(t, rs) != 10 {
		t.Fatalf("after another session's STORE: %q", rs)
	}
}

// TestNULInLiteral8Append: a binary part with NUL, APPENDed in a literal8,
// is never sent with NUL in a normal literal: BODY[1] is base64 text,
// BODYSTRUCTURE says "base64", BINARY[1] returns the bytes (issue 14 item
// 3, RFC 3516 §4.3, as Dovecot).
func TestNULInLiteral8Append(t *testing.T) {
	ts := startTestServer(t)
	tc := ts.login()
	bin := "a\x00b\x00\x01\xffz"
	msg := "From: a@example.org\r\nSubject: bin\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n" +
		"--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n" + bin + "\r\n--b--\r\n"
	tc.transactf("ok", "append inbox ~{%d+}\r\n%s", len(msg), msg)
	// A single-part message too.
	single := "From: a@example.org\r\nContent-Type: application/octet-stream\r\n\r\n" + bin
	tc.transactf("ok", "append inbox ~{%d+}\r\n%s", len(single), single)
	tc.transactf("ok", "select inbox")
	for _, tt := range []struct{ seq, part, bodySection string }{{"1", "1", "1"}, {"2", "1", "1"}} {
		rs := parseResps(t, tc.transactf("ok", "fetch %s (body.peek[%s] bodystructure)", tt.seq, tt.part))
		f := find(rs, "FETCH")
		if len(f) != 1 {
			t.Fatalf("%q", rs)
		}
		if strings.Contains(f[0].line, "\x00") {
			t.Fatalf("NUL in a normal literal: %q", f[0].line)
		}
		a := f[0].fetchAttrs()
		body, _ := a["BODY["+tt.bodySection+"]"].(string)
		dec, err := base64.StdEncoding.DecodeString(strings.ReplaceAll(body, "\r\n", ""))
		if err != nil || string(dec) != bin {
			t.Fatalf("BODY[%s] %q: %v", tt.bodySection, body, err)
		}
		bs := a["BODYSTRUCTURE"].([]sexp)
		if tt.seq == "1" {
			bs = bs[0].([]sexp)
		}
		if enc, _ := bs[5].(string); !strings.EqualFold(enc, "base64") {
			t.Fatalf("BODYSTRUCTURE encoding %q: %v", enc, bs)
		}
		// BINARY[1] gives the decoded bytes, in a literal8.
		line := tc.transactf("ok", "fetch %s (binary.peek[%s])", tt.seq, tt.part)
		got := find(parseResps(t, line), "FETCH")[0].fetchAttrs()["BINARY["+tt.part+"]"]
		if got != bin || !strings.Contains(line[0], "~{") {
			t.Fatalf("BINARY[%s] %q in %q", tt.part, got, line)
		}
	}
}

// TestSearchAddresses: SEARCH FROM/TO/CC/BCC match the parsed addresses,
// not only the raw header text (issue 14 item 5).
func TestSearchAddresses(t *testing.T) {
	ts := startTestServer(t)
	ts.deliver("", "From: <user-from (comment)@ (comment) domain.org>\nTo: \"Quoted  Name\" <to@Example.ORG>\nCc: =?utf-8?q?J=C3=B6rg?= <jorg@example.org>\nBcc: team: b1@example.org, \"x\" <b2@example.org>;\nSubject: s\n\nbody\n")
	ts.deliver("", simpleMsg)
	tc := ts.login()
	tc.transactf("ok", "select inbox")
	for _, tt := range []struct {
		search string
		want   []string
	}{
		{"FROM user-from@domain.org", []string{"1"}},
		{"FROM user-from", []string{"1"}},
		{"FROM comment", []string{"1"}}, // the raw text still matches
		{"TO to@example.org", []string{"1"}},
		{`TO "Quoted Name <to@example.org>"`, []string{"1"}},
		{`CC "Jörg <jorg"`, []string{"1"}},
		{"BCC b2@example.org", []string{"1"}},
		{"BCC team", []string{"1"}},
		{"FROM alice@example.org", []string{"2"}},
		{"FROM nobody@domain.org", nil},
	} {
		var rs []resp
		if strings.ContainsAny(tt.search, "ö") {
			rs = parseResps(t, tc.transactf("ok", "search charset utf-8 %s", tt.search))
		} else {
			rs = parseResps(t, tc.transactf("ok", "search %s", tt.search))
		}
		s := find(rs, "SEARCH")
		if len(s) != 1 || !slices.Equal(strs(s[0].items), tt.want) {
			t.Errorf("SEARCH %s: %q, want %v", tt.search, rs, tt.want)
		}
	}
}

// listed returns name -> (attributes, extended data) of LIST/LSUB responses.
func listed(t *testing.T, rs []resp, kind string) map[string][2][]sexp {
	t.Helper()
	out := map[string][2][]sexp{}
	for _, r := range find(rs, kind) {
		if len(r.items) < 3 {
			t.Fatalf("bad %s: %q", kind, r.line)
		}
		name, _ := r.items[2].(string)
		attrs, _ := r.items[0].([]sexp)
		var ext []sexp
		if len(r.items) > 3 {
			ext, _ = r.items[3].([]sexp)
		}
		out[name] = [2][]sexp{attrs, ext}
	}
	return out
}

// TestLsubParentsAndChildInfo: issue 14 item 6.
func TestLsubParentsAndChildInfo(t *testing.T) {
	ts := startTestServer(t)
	tc := ts.login()
	tc.transactf("ok", "create a/b")
	tc.transactf("ok", "unsubscribe a")
	tc.transactf("ok", "unsubscribe a/b")
	tc.transactf("ok", "subscribe a/b")
	tc.transactf("ok", "create p/q")
	tc.transactf("ok", "unsubscribe p")
	tc.transactf("ok", "subscribe p/q")
	tc.transactf("ok", "delete p/q") // subscribed, no longer exists

	// LSUB "%": the parents of subscribed children, \Noselect.
	got := listed(t, parseResps(t, tc.transactf("ok", `lsub "" "%%"`)), "LSUB")
	for _, name := range []string{"a", "p"} {
		e, ok := got[name]
		if !ok || !slices.Contains(strs(e[0]), `\Noselect`) {
			t.Errorf("LSUB %%: %s = %v (present %v), want \\Noselect", name, e, ok)
		}
	}
	if _, ok := got["a/b"]; ok {
		t.Errorf("LSUB %%: a/b listed")
	}
	if e, ok := got["INBOX"]; !ok || len(e[0]) != 0 {
		t.Errorf("LSUB %%: INBOX %v", e)
	}
	// LSUB "*": the children themselves, no parent.
	got = listed(t, parseResps(t, tc.transactf("ok", `lsub "" "*"`)), "LSUB")
	if _, ok := got["a"]; ok {
		t.Errorf("LSUB *: parent a listed: %v", got)
	}
	if e, ok := got["a/b"]; !ok || len(e[0]) != 0 {
		t.Errorf("LSUB *: a/b %v", e)
	}

	// LIST (SUBSCRIBED RECURSIVEMATCH): CHILDINFO only when the child is
	// not matched by a pattern of the command.
	got = listed(t, parseResps(t, tc.transactf("ok", `list (subscribed recursivematch) "" "%%"`)), "LIST")
	if e, ok := got["a"]; !ok || fmt.Sprint(e[1]) != "[CHILDINFO [SUBSCRIBED]]" {
		t.Errorf("LIST %%: a %v", e)
	}
	got = listed(t, parseResps(t, tc.transactf("ok", `list (subscribed recursivematch) "" ("%%" "a/b")`)), "LIST")
	if e, ok := got["a"]; ok && len(e[1]) != 0 {
		t.Errorf("LIST (%% a/b): a has CHILDINFO: %v", e)
	}
	if e, ok := got["p"]; !ok || fmt.Sprint(e[1]) != "[CHILDINFO [SUBSCRIBED]]" {
		t.Errorf("LIST (%% a/b): p %v", e)
	}
	if _, ok := got["a/b"]; !ok {
		t.Errorf("LIST (%% a/b): a/b missing: %v", got)
	}
}

// TestThreadReferenceLoop: RFC 5256 §4 step 1.B breaks the message's old
// parent link even when the new one would make a loop (issue 14 item 7).
func TestThreadReferenceLoop(t *testing.T) {
	ts := startTestServer(t)
	ts.deliver("", "Message-ID: <1@x>\nSubject: one\nDate: Thu, 3 Jan 2019 00:00:00 +0000\n\n.\n")
	ts.deliver("", "Message-ID: <2@x>\nSubject: two\nReferences: <1@x> <3@x>\nDate: Wed, 2 Jan 2019 00:00:00 +0000\n\n.\n")
	ts.deliver("", "Message-ID: <3@x>\nSubject: three\nReferences: <2@x>\nDate: Tue, 1 Jan 2019 00:00:00 +0000\n\n.\n")
	tc := ts.login()
	tc.transactf("ok", "select inbox")
	th := find(parseResps(t, tc.transactf("ok", "thread references us-ascii all")), "THREAD")
	if len(th) != 1 {
		t.Fatal(th)
	}
	if got := fmt.Sprint(th[0].items); got != "[[3 2] [1]]" {
		t.Fatalf("THREAD %s, want [[3 2] [1]] (the reference's (3 2)(1))", got)
	}
}

// TestSortGroups: SORT CC/TO/DISPLAYTO on a group address sorts on the
// group name, the addr-mailbox of the group start (issue 14 item 8).
func TestSortGroups(t *testing.T) {
	ts := startTestServer(t)
	ts.deliver("", "To: b@x.org\nCc: b@x.org\nSubject: 1\n\n.\n")
	ts.deliver("", "To: a-team: z@x.org;\nCc: a-team: z@x.org;\nSubject: 2\n\n.\n")
	ts.deliver("", "To: undisclosed-recipients:;\nCc: c@x.org\nSubject: 3\n\n.\n")
	ts.deliver("", "To: \"Y\" <c@x.org>\nCc: zz-empty:;\nSubject: 4\n\n.\n")
	tc := ts.login()
	tc.transactf("ok", "select inbox")
	for _, tt := range []struct{ crit, want string }{
		// to: a-team(2) b(1) c(4) undisclosed-recipients(3)
		{"TO", "[2 1 4 3]"},
		// cc: a-team(2) b(1) c(3) zz-empty(4)
		{"CC", "[2 1 3 4]"},
		// displayto: a-team(2) b@x.org(1) undisclosed-recipients(3) Y(4)
		{"DISPLAYTO", "[2 1 3 4]"},
	} {
		s := find(parseResps(t, tc.transactf("ok", "sort (%s) us-ascii all", tt.crit)), "SORT")
		if len(s) != 1 || fmt.Sprint(strs(s[0].items)) != tt.want {
			t.Errorf("SORT (%s): %v, want %s", tt.crit, s, tt.want)
		}
	}
}

// recentOf returns the number of the last "* n RECENT" in rs, -1 if none.
func recentOf(rs []resp) int {
	n := -1
	for _, r := range find(rs, "RECENT") {
		n = int(r.num)
	}
	return n
}

// searchOf returns the numbers of the SEARCH response in rs.
func searchOf(t *testing.T, rs []resp) []string {
	t.Helper()
	s := find(rs, "SEARCH")
	if len(s) != 1 {
		t.Fatalf("SEARCH responses %q", rs)
	}
	return strs(s[0].items)
}

// recentFlags returns, by sequence number, whether FETCH FLAGS had \Recent.
func recentFlags(rs []resp) map[uint32]bool {
	out := map[uint32]bool{}
	for _, r := range find(rs, "FETCH") {
		out[r.num] = slices.Contains(strs(r.fetchAttrs()["FLAGS"]), `\Recent`)
	}
	return out
}

// TestRecent: \Recent for IMAP4rev1 sessions, as Dovecot: exactly one
// session (the first to select, or the one that has the mailbox selected
// when a message arrives) sees a message as recent; RECENT counts,
// STATUS RECENT, SEARCH NEW/OLD/RECENT and SELECT's UNSEEN code follow
// (issue 14 item 2). An IMAP4rev2 session has none.
func TestRecent(t *testing.T) {
	ts := startTestServer(t)
	ts.deliver("", simpleMsg)
	ts.deliver("", simpleMsg)
	st := ts.login()
	rs := parseResps(t, st.transactf("ok", "status inbox (recent messages)"))
	if s := find(rs, "STATUS"); len(s) != 1 || fmt.Sprint(s[0].items[1]) != "[RECENT 2 MESSAGES 2]" {
		t.Fatalf("STATUS before any select: %q", rs)
	}
	// EXAMINE shows them recent without taking them.
	ex := ts.login()
	if n := recentOf(parseResps(t, ex.transactf("ok", "examine inbox"))); n != 2 {
		t.Fatalf("EXAMINE RECENT %d", n)
	}

	a := ts.login()
	rs = parseResps(t, a.transactf("ok", "select inbox"))
	if n := recentOf(rs); n != 2 {
		t.Fatalf("first SELECT: RECENT %d, want 2: %q", n, rs)
	}
	if u := find(rs, "OK", "UNSEEN"); len(u) != 1 || fmt.Sprint(strs(u[0].code)) != "[UNSEEN 1]" {
		t.Fatalf("SELECT UNSEEN: %q", rs)
	}
	if got := recentFlags(parseResps(t, a.transactf("ok", "fetch 1:* (flags)"))); !got[1] || !got[2] {
		t.Fatalf("FETCH \\Recent %v", got)
	}
	a.transactf("ok", `store 1 +flags.silent (\Seen)`)
	if got := searchOf(t, parseResps(t, a.transactf("ok", "search new"))); !slices.Equal(got, []string{"2"}) {
		t.Fatalf("SEARCH NEW %v", got)
	}
	if got := searchOf(t, parseResps(t, a.transactf("ok", "search recent"))); !slices.Equal(got, []string{"1", "2"}) {
		t.Fatalf("SEARCH RECENT %v", got)
	}
	if got := searchOf(t, parseResps(t, a.transactf("ok", "search old"))); len(got) != 0 {
		t.Fatalf("SEARCH OLD %v", got)
	}

	// A second session gets none of them.
	b := ts.login()
	rs = parseResps(t, b.transactf("ok", "select inbox"))
	if n := recentOf(rs); n != 0 {
		t.Fatalf("second SELECT: RECENT %d", n)
	}
	if u := find(rs, "OK", "UNSEEN"); len(u) != 1 || fmt.Sprint(strs(u[0].code)) != "[UNSEEN 2]" {
		t.Fatalf("second SELECT UNSEEN: %q", rs)
	}
	if got := recentFlags(parseResps(t, b.transactf("ok", "fetch 1:* (flags)"))); got[1] || got[2] {
		t.Fatalf("second session FETCH \\Recent %v", got)
	}
	if got := searchOf(t, parseResps(t, b.transactf("ok", "search old"))); !slices.Equal(got, []string{"1", "2"}) {
		t.Fatalf("second session SEARCH OLD %v", got)
	}
	if s := find(parseResps(t, st.transactf("ok", "status inbox (recent)")), "STATUS"); len(s) != 1 || fmt.Sprint(s[0].items[1]) != "[RECENT 0]" {
		t.Fatalf("STATUS after the claim: %v", s)
	}

	// A new message goes to the first selected session that syncs.
	ts.deliver("", simpleMsg)
	rs = parseResps(t, a.transactf("ok", "noop"))
	if len(find(rs, "EXISTS")) != 1 || recentOf(rs) != 3 {
		t.Fatalf("A after delivery: %q", rs)
	}
	rs = parseResps(t, b.transactf("ok", "noop"))
	if len(find(rs, "EXISTS")) != 1 || recentOf(rs) != 0 {
		t.Fatalf("B after delivery: %q", rs)
	}

	// IMAP4rev2: no RECENT, no \Recent.
	r2 := ts.login()
	r2.transactf("ok", "enable imap4rev2")
	ts.deliver("", simpleMsg)
	rs = parseResps(t, r2.transactf("ok", "select inbox"))
	if recentOf(rs) != -1 || len(find(rs, "OK", "UNSEEN")) != 0 {
		t.Fatalf("IMAP4rev2 SELECT: %q", rs)
	}
	if got := recentFlags(parseResps(t, r2.transactf("ok", "fetch 1:* (flags)"))); got[4] {
		t.Fatalf("IMAP4rev2 FETCH \\Recent %v", got)
	}
	// ... and takes nothing: the next IMAP4rev1 session gets message 4.
	rs = parseResps(t, a.transactf("ok", "noop"))
	if recentOf(rs) != 4 {
		t.Fatalf("A after the IMAP4rev2 session: %q", rs)
	}
}
