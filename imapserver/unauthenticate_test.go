package imapserver

import (
	"slices"
	"strings"
	"testing"
)

// lastTaggedResp parses the last tagged response as if untagged, for its
// status and response code.
func (tc *testConn) lastTaggedResp() resp {
	tc.t.Helper()
	_, rest, _ := strings.Cut(tc.lastTagged, " ")
	return parseResp(tc.t, "* "+rest)
}

// atomsUpper returns the capabilities of a CAPABILITY response or code.
func atomsUpper(items []sexp) []string {
	var out []string
	for _, x := range items {
		if s, ok := x.(string); ok {
			out = append(out, strings.ToUpper(s))
		}
	}
	return out
}

// TestUnauthenticate follows RFC 8437 §3: after UNAUTHENTICATE the session
// is not authenticated, the selected mailbox is closed without an expunge,
// ENABLEd extensions are gone, no updates of the account arrive, and a
// fresh LOGIN (even as the same user) starts over.
func TestUnauthenticate(t *testing.T) {
	t.Parallel()
	ts := startTestServer(t)
	ts.deliver("", simpleMsg)
	tc := ts.login()
	caps := atomsUpper(parseResp(t, tc.transactf("ok", "capability")[0]).items)
	if !slices.Contains(caps, "UNAUTHENTICATE") {
		t.Fatalf("UNAUTHENTICATE not advertised: %v", caps)
	}
	tc.transactf("ok", "enable condstore")
	tc.transactf("ok", "select inbox")
	tc.transactf("ok", `store 1 +flags.silent (\Deleted)`)

	tc.transactf("ok", "unauthenticate")
	r := tc.lastTaggedResp()
	if r.kind != "OK" || r.codeName() != "CAPABILITY" {
		t.Fatalf("tagged %q, want OK [CAPABILITY ...]", tc.lastTagged)
	}
	caps = atomsUpper(r.code[1:])
	if !slices.Contains(caps, "AUTH=PLAIN") || !slices.Contains(caps, "SASL-IR") {
		t.Fatalf("capabilities after UNAUTHENTICATE %v, want the not-authenticated ones", caps)
	}
	// Not authenticated: commands of the other states are refused.
	for _, c := range []string{"select inbox", "fetch 1 flags", "list \"\" *", "unauthenticate", "enable condstore"} {
		tc.transactf("bad", "%s", c)
	}
	// The account's changes no longer reach this session.
	other := ts.login()
	other.transactf("ok", "select inbox")
	ts.deliver("", simpleMsg)
	other.transactf("ok", "noop")
	if rs := parseResps(t, tc.transactf("ok", "noop")); len(rs) != 0 {
		t.Fatalf("updates after UNAUTHENTICATE: %v", rs)
	}

	tc.transactf("ok", "login %s %s", testUser, testPass)
	// ENABLE state was reset: CONDSTORE is enabled anew.
	rs := parseResps(t, tc.transactf("ok", "enable condstore"))
	if len(rs) != 1 || rs[0].kind != "ENABLED" || !slices.Equal(atomsUpper(rs[0].items), []string{"CONDSTORE"}) {
		t.Fatalf("ENABLE after re-login: %v", rs)
	}
	// The mailbox was closed, not CLOSEd: the \Deleted message is still there.
	rs = parseResps(t, tc.transactf("ok", "select inbox"))
	if ex := find(rs, "EXISTS"); len(ex) != 1 || ex[0].num != 2 {
		t.Fatalf("EXISTS after re-login: %v", rs)
	}
	rs = parseResps(t, tc.transactf("ok", "fetch 1 flags"))
	if f := find(rs, "FETCH"); len(f) != 1 || !slices.Contains(strs(f[0].fetchAttrs()["FLAGS"]), `\Deleted`) {
		t.Fatalf("FETCH 1 FLAGS: %v", rs)
	}
	// From the selected state, straight back to not authenticated.
	tc.transactf("ok", "unauthenticate")
	tc.transactf("bad", "fetch 1 flags")
	tc.transactf("ok", "logout")
}
