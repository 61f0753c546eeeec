package imapserver

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// esearchData returns an ESEARCH response's return data by upper-case
// name (PARTIAL's value as "range set"), and whether it said UID.
func esearchData(t *testing.T, r resp) (map[string]string, bool) {
	t.Helper()
	m := map[string]string{}
	uid := false
	items := r.items
	if len(items) > 0 {
		if _, ok := items[0].([]sexp); ok {
			items = items[1:] // (TAG "x")
		}
	}
	for i := 0; i < len(items); i++ {
		name, _ := items[i].(string)
		if strings.EqualFold(name, "UID") {
			uid = true
			continue
		}
		if i+1 >= len(items) {
			t.Fatalf("ESEARCH %q: %s without a value", r.line, name)
		}
		i++
		switch v := items[i].(type) {
		case string:
			m[strings.ToUpper(name)] = v
		case []sexp:
			m[strings.ToUpper(name)] = strings.Join(strs(v), " ")
		}
	}
	return m, uid
}

func oneESearch(t *testing.T, lines []string) (map[string]string, bool) {
	t.Helper()
	es := find(parseResps(t, lines), "ESEARCH")
	if len(es) != 1 {
		t.Fatalf("want one ESEARCH: %q", lines)
	}
	return esearchData(t, es[0])
}

// TestESortPartial: SORT RETURN (RFC 5267 ESORT) answers ESEARCH in sort
// order, MIN/MAX being the first and last sorted; PARTIAL (RFC 9394)
// pages SEARCH and SORT results from either end.
func TestESortPartial(t *testing.T) {
	t.Parallel()
	ts := startTestServer(t)
	for _, subj := range []string{"e", "c", "a", "d", "b"} {
		ts.deliver("", fmt.Sprintf("Subject: %s\r\nFrom: a@example.org\r\n\r\nbody\r\n", subj))
	}
	tc := ts.login()
	caps := atomsUpper(parseResp(t, tc.transactf("ok", "capability")[0]).items)
	for _, c := range []string{"ESORT", "PARTIAL"} {
		if !slices.Contains(caps, c) {
			t.Fatalf("%s not advertised: %v", c, caps)
		}
	}
	tc.transactf("ok", "select inbox")
	// Plain SORT still answers SORT.
	if s := find(parseResps(t, tc.transactf("ok", "sort (subject) utf-8 all")), "SORT"); len(s) != 1 || fmt.Sprint(s[0].items) != "[3 5 2 4 1]" {
		t.Fatalf("SORT: %v", s)
	}
	for _, tt := range []struct {
		cmd  string
		want map[string]string
		uid  bool
	}{
		{"sort return (min max count all) (subject) utf-8 all", map[string]string{"MIN": "3", "MAX": "1", "COUNT": "5", "ALL": "3,5,2,4,1"}, false},
		{"sort return () (reverse subject) utf-8 all", map[string]string{"ALL": "1,4,2,5,3"}, false},
		{"sort return (partial 1:2) (subject) utf-8 all", map[string]string{"PARTIAL": "1:2 3,5"}, false},
		{"sort return (partial -2:-1 count) (subject) utf-8 all", map[string]string{"PARTIAL": "-1:-2 4,1", "COUNT": "5"}, false},
		{"sort return (partial 4:9) (subject) utf-8 not subject d", map[string]string{"PARTIAL": "4:9 1"}, false},
		{"sort return (partial 7:9) (subject) utf-8 all", map[string]string{"PARTIAL": "7:9 NIL"}, false},
		{"uid sort return (min max) (subject) utf-8 all", map[string]string{"MIN": "3", "MAX": "1"}, true},
		{"sort return (count) (subject) utf-8 subject nomatch", map[string]string{"COUNT": "0"}, false},
		{"search return (partial 2:3) all", map[string]string{"PARTIAL": "2:3 2:3"}, false},
		{"search return (partial -1:-2 min) all", map[string]string{"PARTIAL": "-1:-2 4:5", "MIN": "1"}, false},
		{"uid search return (partial 1:100) not subject c", map[string]string{"PARTIAL": "1:100 1,3:5"}, true},
		{"search return (partial 6:7) all", map[string]string{"PARTIAL": "6:7 NIL"}, false},
	} {
		got, uid := oneESearch(t, tc.transactf("ok", "%s", tt.cmd))
		if fmt.Sprint(got) != fmt.Sprint(tt.want) || uid != tt.uid {
			t.Errorf("%s: %v uid=%v, want %v uid=%v", tt.cmd, got, uid, tt.want, tt.uid)
		}
	}
	// PARTIAL with SAVE saves that page only (RFC 9394 §3.1).
	tc.transactf("ok", "search return (save partial 1:2) all")
	if got, _ := oneESearch(t, tc.transactf("ok", "search return (all) $")); got["ALL"] != "1:2" {
		t.Fatalf("saved PARTIAL page: %v, want ALL 1:2", got)
	}
	for _, bad := range []string{
		"search return (partial 0:5) all",
		"search return (partial 1:-5) all",
		"search return (partial 5) all",
		"search return (all partial 1:5) all",
		"sort return (partial x:y) (subject) utf-8 all",
		"sort retour (subject) utf-8 all",
	} {
		tc.transactf("bad", "%s", bad)
	}
}

func TestOrderedSet(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		nums []uint32
		want string
	}{
		{nil, ""},
		{[]uint32{7}, "7"},
		{[]uint32{3, 4, 5, 1, 9, 8}, "3:5,1,9,8"},
		{[]uint32{2, 1}, "2,1"},
	} {
		if got := orderedSet(tt.nums); got != tt.want {
			t.Errorf("orderedSet(%v) = %q, want %q", tt.nums, got, tt.want)
		}
	}
}
