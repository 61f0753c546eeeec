package imapserver

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// contextUpdates returns the ESEARCH responses among lines that carry
// ADDTO or REMOVEFROM, each as `TAG [UID] NAME (pairs) ...` rebuilt from
// its parsed items, in order; and the index in lines of each.
func contextUpdates(t *testing.T, lines []string) (got []string, at []int) {
	t.Helper()
	for i, l := range lines {
		r := parseResp(t, l)
		if r.kind != "ESEARCH" || len(r.items) == 0 {
			continue
		}
		tag := strs(r.items[0])
		if len(tag) != 2 || !strings.EqualFold(tag[0], "TAG") {
			t.Fatalf("ESEARCH without (TAG ...): %q", l)
		}
		parts := []string{tag[1]}
		update := false
		for _, it := range r.items[1:] {
			switch v := it.(type) {
			case string:
				v = strings.ToUpper(v)
				update = update || v == "ADDTO" || v == "REMOVEFROM"
				parts = append(parts, v)
			case []sexp:
				parts = append(parts, "("+strings.Join(strs(v), " ")+")")
			}
		}
		if update {
			got = append(got, strings.Join(parts, " "))
			at = append(at, i)
		}
	}
	return got, at
}

func wantUpdates(t *testing.T, what string, lines []string, want ...string) []int {
	t.Helper()
	got, at := contextUpdates(t, lines)
	if !slices.Equal(got, want) {
		t.Fatalf("%s: context updates %q, want %q (all: %q)", what, got, want, lines)
	}
	return at
}

// indexOf returns the index of the first parsed response of kind.
func indexOf(t *testing.T, lines []string, kind string) int {
	t.Helper()
	for i, l := range lines {
		if parseResp(t, l).kind == kind {
			return i
		}
	}
	t.Fatalf("no %s in %q", kind, lines)
	return -1
}

func (tc *testConn) lastTag() string { return "x" + strconv.Itoa(tc.tag) }

// TestContextSearch: SEARCH RETURN (UPDATE) (RFC 5267 §4) keeps telling
// the client how its result changes as another session flags, delivers
// and expunges and as the session itself stores flags: REMOVEFROM and
// ADDTO with position 0, in sequence numbers or (UID SEARCH) UIDs,
// ADDTO after EXISTS and REMOVEFROM before EXPUNGE; until CANCELUPDATE
// or the mailbox is selected again.
func TestContextSearch(t *testing.T) {
	t.Parallel()
	ts := startTestServer(t)
	for range 3 {
		ts.deliver("", simpleMsg)
	}
	a, b := ts.login(), ts.login()
	caps := atomsUpper(parseResp(t, a.transactf("ok", "capability")[0]).items)
	for _, c := range []string{"CONTEXT=SEARCH", "CONTEXT=SORT"} {
		if !slices.Contains(caps, c) {
			t.Fatalf("%s not advertised: %v", c, caps)
		}
	}
	a.transactf("ok", "select inbox")
	b.transactf("ok", "select inbox")

	if d, _ := oneESearch(t, a.transactf("ok", "search return (update count) unseen")); d["COUNT"] != "3" {
		t.Fatalf("COUNT %v", d)
	}
	seqTag := a.lastTag()
	// UPDATE alone: an ESEARCH without result data, as Dovecot answers.
	if d, uid := oneESearch(t, a.transactf("ok", "uid search return (update) unseen")); len(d) != 0 || !uid {
		t.Fatalf("UID SEARCH RETURN (UPDATE): %v %v", d, uid)
	}
	uidTag := a.lastTag()
	// A search on arrivals only: flag changes do not concern it.
	a.transactf("ok", "uid search return (update) larger 1")
	sizeTag := a.lastTag()

	b.transactf("ok", `store 2 +flags (\Seen)`)
	wantUpdates(t, "flag set elsewhere", a.transactf("ok", "noop"),
		seqTag+" REMOVEFROM (0 2)", uidTag+" UID REMOVEFROM (0 2)")

	ts.deliver("", simpleMsg)
	got := a.transactf("ok", "noop")
	at := wantUpdates(t, "delivery", got,
		seqTag+" ADDTO (0 4)", uidTag+" UID ADDTO (0 4)", sizeTag+" UID ADDTO (0 4)")
	if e := indexOf(t, got, "EXISTS"); e > at[0] {
		t.Fatalf("ADDTO before EXISTS: %q", got)
	}

	b.transactf("ok", `store 2 -flags (\Seen)`)
	wantUpdates(t, "flag cleared elsewhere", a.transactf("ok", "noop"),
		seqTag+" ADDTO (0 2)", uidTag+" UID ADDTO (0 2)")

	b.transactf("ok", `store 1 +flags (\Deleted)`)
	b.transactf("ok", "expunge")
	got = a.transactf("ok", "noop")
	at = wantUpdates(t, "expunge elsewhere", got,
		seqTag+" REMOVEFROM (0 1)", uidTag+" UID REMOVEFROM (0 1)", sizeTag+" UID REMOVEFROM (0 1)")
	if e := indexOf(t, got, "EXPUNGE"); e < at[2] {
		t.Fatalf("REMOVEFROM after EXPUNGE: %q", got)
	}

	// The session's own STORE (seq 1 is UID 2 now).
	got = a.transactf("ok", `store 1 +flags (\Seen)`)
	wantUpdates(t, "own store", got, seqTag+" REMOVEFROM (0 1)", uidTag+" UID REMOVEFROM (0 2)")

	// A tag in use by an updating search is refused (RFC 5267 §4.3).
	a.writeLine("%s search return (update) all", seqTag)
	a.readUntilTagged(seqTag, "bad")

	a.transactf("ok", `cancelupdate "%s" "%s"`, seqTag, sizeTag)
	a.transactf("no", `cancelupdate "%s"`, seqTag)
	wantUpdates(t, "after CANCELUPDATE", a.transactf("ok", `store 1 -flags (\Seen)`), uidTag+" UID ADDTO (0 2)")

	// In IDLE the update comes with the EXISTS, unasked.
	a.writeLine("i1 IDLE")
	if r := a.readResponse(); !strings.HasPrefix(r, "+ ") {
		t.Fatalf("IDLE: %q", r)
	}
	ts.deliver("", simpleMsg)
	var idle []string
	for len(idle) < 5 {
		if idle = append(idle, a.readResponse()); strings.HasPrefix(idle[len(idle)-1], "* ESEARCH") {
			break
		}
	}
	a.writeLine("DONE")
	a.readUntilTagged("i1", "ok")
	wantUpdates(t, "delivery in IDLE", idle, uidTag+" UID ADDTO (0 5)")
	if idle[0] != "* 4 EXISTS" {
		t.Fatalf("IDLE: %q", idle)
	}

	// Selecting again ends the contexts.
	a.transactf("ok", "select inbox")
	b.transactf("ok", `store 1 +flags (\Seen)`)
	wantUpdates(t, "after SELECT", a.transactf("ok", "noop"))
}

// TestContextNoUpdate: the server keeps at most maxSearchContexts
// contexts and none for a search by sequence number; then it says
// NO [NOUPDATE "tag"] and still answers the search (RFC 5267 §4.3.1).
// UPDATE goes with PARTIAL (RFC 9394 §3.1): the updates cover every
// result, not the page.
func TestContextNoUpdate(t *testing.T) {
	t.Parallel()
	ts := startTestServer(t)
	for range 3 {
		ts.deliver("", simpleMsg)
	}
	a := ts.login()
	a.transactf("ok", "select inbox")
	noUpdate := func(lines []string) string {
		t.Helper()
		for _, r := range find(parseResps(t, lines), "NO") {
			if r.codeName() == "NOUPDATE" {
				return strings.Join(r.codeArgs(), " ")
			}
		}
		return ""
	}
	got := a.transactf("ok", "search return (update count) 1:2")
	if tag := noUpdate(got); tag != a.lastTag() {
		t.Fatalf("search by sequence number: NOUPDATE %q, want %q: %q", tag, a.lastTag(), got)
	}
	if d, _ := oneESearch(t, got); d["COUNT"] != "2" {
		t.Fatalf("COUNT %v", d)
	}
	got = a.transactf("ok", "search return (partial 1:1 update) all")
	if d, _ := oneESearch(t, got); d["PARTIAL"] != "1:1 1" || noUpdate(got) != "" {
		t.Fatalf("PARTIAL with UPDATE: %q", got)
	}
	partialTag := a.lastTag()
	for i := 1; i < maxSearchContexts; i++ {
		if got := a.transactf("ok", "uid search return (update) seen"); noUpdate(got) != "" {
			t.Fatalf("context %d refused: %q", i+1, got)
		}
	}
	got = a.transactf("ok", "search return (count update) all")
	if tag := noUpdate(got); tag != a.lastTag() {
		t.Fatalf("context %d: NOUPDATE %q, want %q: %q", maxSearchContexts+1, tag, a.lastTag(), got)
	}
	ts.deliver("", simpleMsg)
	wantUpdates(t, "delivery", a.transactf("ok", "noop"), partialTag+" ADDTO (0 4)")
}

// TestContextSort: SORT RETURN (UPDATE) (RFC 5267 §4, CONTEXT=SORT)
// places arrivals with ADDTO at their position in the sort order and
// removes with REMOVEFROM at theirs (§4.3.3, §4.3.4).
func TestContextSort(t *testing.T) {
	t.Parallel()
	ts := startTestServer(t)
	deliver := func(subj string) { ts.deliver("", fmt.Sprintf("Subject: %s\r\n\r\nbody\r\n", subj)) }
	for _, s := range []string{"b", "d", "f"} {
		deliver(s)
	}
	a, b := ts.login(), ts.login()
	a.transactf("ok", "select inbox")
	b.transactf("ok", "select inbox")
	d, _ := oneESearch(t, a.transactf("ok", "uid sort return (update all) (subject) utf-8 all"))
	if d["ALL"] != "1:3" {
		t.Fatalf("SORT: %v", d)
	}
	uidTag := a.lastTag()
	a.transactf("ok", "sort return (update) (reverse subject) utf-8 unseen")
	seqTag := a.lastTag()

	deliver("c") // UID 4: b c d f; reversed f d c b
	deliver("a") // UID 5: a b c d f; reversed f d c b a
	wantUpdates(t, "deliveries", a.transactf("ok", "noop"),
		uidTag+" UID ADDTO (1 5 3 4)", seqTag+" ADDTO (3 4 5 5)")

	b.transactf("ok", `uid store 2 +flags (\Seen)`) // d, sequence 2
	wantUpdates(t, "flag set elsewhere", a.transactf("ok", "noop"), seqTag+" REMOVEFROM (2 2)")
	b.transactf("ok", `uid store 2 -flags (\Seen)`)
	wantUpdates(t, "flag cleared elsewhere", a.transactf("ok", "noop"), seqTag+" ADDTO (2 2)")

	b.transactf("ok", `uid store 1:2 +flags (\Deleted)`) // b and d
	b.transactf("ok", `uid expunge 1:2`)
	got := a.transactf("ok", "noop")
	at := wantUpdates(t, "expunge elsewhere", got, uidTag+" UID REMOVEFROM (2 1 3 2)", seqTag+" REMOVEFROM (2 2 3 1)")
	if e := indexOf(t, got, "EXPUNGE"); e < at[1] {
		t.Fatalf("REMOVEFROM after EXPUNGE: %q", got)
	}
}
