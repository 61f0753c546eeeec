package imapserver

import (
	"slices"
	"strings"
	"testing"
)

// metadataOf returns the mailbox and the entry -> value pairs of the one
// METADATA response in lines (value "NIL" for NIL).
func metadataOf(t *testing.T, lines []string) (string, map[string]sexp) {
	t.Helper()
	rs := find(parseResps(t, lines), "METADATA")
	if len(rs) != 1 || len(rs[0].items) != 2 {
		t.Fatalf("want one METADATA response, got %q", lines)
	}
	mbox, _ := rs[0].items[0].(string)
	l, _ := rs[0].items[1].([]sexp)
	if len(l)%2 != 0 {
		t.Fatalf("odd entry list %q", rs[0].line)
	}
	m := map[string]sexp{}
	for i := 0; i < len(l); i += 2 {
		name, _ := l[i].(string)
		m[name] = l[i+1]
	}
	return mbox, m
}

// codeText returns a response code's atoms, upper case, joined by spaces.
func codeText(r resp) string {
	var out []string
	for _, x := range r.code {
		s, _ := x.(string)
		out = append(out, strings.ToUpper(s))
	}
	return strings.Join(out, " ")
}

// TestMetadata follows RFC 5464 §4: server and mailbox entries, case
// insensitive names, NIL for a missing entry, DEPTH, MAXSIZE with
// [METADATA LONGENTRIES], removal by NIL, literal and literal8 values,
// RENAME keeping and DELETE dropping a mailbox's entries.
func TestMetadata(t *testing.T) {
	t.Parallel()
	ts := startTestServer(t)
	tc := ts.login()
	caps := atomsUpper(parseResp(t, tc.transactf("ok", "capability")[0]).items)
	for _, c := range []string{"METADATA", "METADATA-SERVER"} {
		if !slices.Contains(caps, c) {
			t.Fatalf("%s not advertised: %v", c, caps)
		}
	}
	tc.transactf("ok", `setmetadata "" (/shared/comment "server note" /private/Vendor/x/y "deep")`)
	mbox, m := metadataOf(t, tc.transactf("ok", `getmetadata "" (/shared/comment /private/vendor/x/y /private/missing)`))
	if mbox != "" || m["/shared/comment"] != "server note" || m["/private/vendor/x/y"] != "deep" || m["/private/missing"] != "NIL" || len(m) != 3 {
		t.Fatalf("server entries %q %v", mbox, m)
	}
	// Mailbox entries are apart from the server's.
	tc.transactf("ok", "create Work")
	tc.transactf("ok", "setmetadata Work (/private/comment {5+}\r\nhello /private/comment/sub \"a\" /private/comment/sub/deeper \"b\")")
	_, m = metadataOf(t, tc.transactf("ok", "getmetadata Work /shared/comment"))
	if m["/shared/comment"] != "NIL" {
		t.Fatalf("server entry leaked into Work: %v", m)
	}
	_, m = metadataOf(t, tc.transactf("ok", "getmetadata (depth 1) Work /private/comment"))
	if len(m) != 2 || m["/private/comment"] != "hello" || m["/private/comment/sub"] != "a" {
		t.Fatalf("DEPTH 1: %v", m)
	}
	// Options after the mailbox, as in RFC 5464's examples.
	_, m = metadataOf(t, tc.transactf("ok", "getmetadata Work (DEPTH infinity) (/private/comment)"))
	if len(m) != 3 || m["/private/comment/sub/deeper"] != "b" {
		t.Fatalf("DEPTH infinity: %v", m)
	}
	// MAXSIZE leaves out the longer values and says how long the longest is.
	_, m = metadataOf(t, tc.transactf("ok", "getmetadata (maxsize 1 depth infinity) Work /private/comment"))
	r := tc.lastTaggedResp()
	if len(m) != 2 || m["/private/comment"] != nil || codeText(r) != "METADATA LONGENTRIES 5" {
		t.Fatalf("MAXSIZE: %v, tagged %q, want [METADATA LONGENTRIES 5]", m, tc.lastTagged)
	}
	// A binary value comes back as literal8.
	tc.transactf("ok", "setmetadata Work (/private/bin ~{3+}\r\na\x00b)")
	lines := tc.transactf("ok", "getmetadata Work /private/bin")
	if _, m = metadataOf(t, lines); m["/private/bin"] != "a\x00b" || !strings.Contains(lines[0], "~{3}") {
		t.Fatalf("binary value %q", lines)
	}
	// NIL removes.
	tc.transactf("ok", "setmetadata Work (/private/comment NIL /private/bin NIL)")
	_, m = metadataOf(t, tc.transactf("ok", "getmetadata Work (/private/comment /private/bin)"))
	if m["/private/comment"] != "NIL" || m["/private/bin"] != "NIL" {
		t.Fatalf("after removal %v", m)
	}
	// RENAME keeps the entries, DELETE drops them.
	tc.transactf("ok", "rename Work Job")
	_, m = metadataOf(t, tc.transactf("ok", "getmetadata Job /private/comment/sub"))
	if m["/private/comment/sub"] != "a" {
		t.Fatalf("after RENAME %v", m)
	}
	tc.expect(t, "no", codeNonExistent, "getmetadata Work /private/comment/sub")
	tc.transactf("ok", "delete Job")
	tc.transactf("ok", "create Job")
	_, m = metadataOf(t, tc.transactf("ok", "getmetadata Job /private/comment/sub"))
	if m["/private/comment/sub"] != "NIL" {
		t.Fatalf("re-created mailbox has the old entries %v", m)
	}
	// Bad names.
	for _, n := range []string{"/comment", "/private/", "/private//x", "/private/a*", "private/x", "/shared/a%b"} {
		tc.transactf("bad", "setmetadata \"\" (%s \"v\")", n)
	}
	tc.transactf("bad", "getmetadata (depth 2) \"\" /private")
}

// TestMetadataLimits: the value size, entries per account and entry name
// length bounds, with the RFC 5464 §4.3 codes; a value literal over the
// bound is refused at its header.
func TestMetadataLimits(t *testing.T) {
	t.Parallel()
	ts := startTestServer(t, func(c *Config) {
		c.MetadataMaxValueBytes = 10
		c.MetadataMaxEntries = 3
		c.MetadataMaxEntryName = 20
	})
	tc := ts.login()
	tc.transactf("no", "setmetadata \"\" (/private/big \"12345678901\")")
	if codeText(tc.lastTaggedResp()) != "METADATA MAXSIZE 10" {
		t.Fatalf("tagged %q, want NO [METADATA MAXSIZE 10]", tc.lastTagged)
	}
	// A synchronizing literal over the bound: NO before the continuation.
	tc.writeLine("big setmetadata \"\" (/private/big {1000000}")
	if r := tc.readResponse(); !strings.HasPrefix(r, "big NO [METADATA MAXSIZE 10]") {
		t.Fatalf("oversized literal: %q", r)
	}
	tc.transactf("ok", "setmetadata \"\" (/private/a \"1\" /private/b \"2\")")
	tc.transactf("ok", "setmetadata INBOX (/private/c \"3\")")
	tc.transactf("no", "setmetadata INBOX (/private/d \"4\")")
	if codeText(tc.lastTaggedResp()) != "METADATA TOOMANY" {
		t.Fatalf("tagged %q, want NO [METADATA TOOMANY]", tc.lastTagged)
	}
	_, m := metadataOf(t, tc.transactf("ok", "getmetadata INBOX /private/d"))
	if m["/private/d"] != "NIL" {
		t.Fatalf("refused entry stored: %v", m)
	}
	tc.transactf("ok", "setmetadata INBOX (/private/c \"replaced\")")
	tc.transactf("bad", "getmetadata \"\" /private/%s", strings.Repeat("x", 20))
}

// TestMetadataIsolation: one account's entries are not another's.
func TestMetadataIsolation(t *testing.T) {
	t.Parallel()
	ts := startTestServer(t)
	ts.addBob()
	tc := ts.login()
	tc.transactf("ok", `setmetadata "" (/private/comment "mine")`)
	tc.transactf("ok", `setmetadata INBOX (/private/comment "my inbox")`)
	oc := ts.dial()
	oc.transactf("ok", "login %s %s", bobUser, bobPass)
	for _, mb := range []string{`""`, "INBOX"} {
		_, m := metadataOf(t, oc.transactf("ok", "getmetadata %s /private/comment", mb))
		if m["/private/comment"] != "NIL" {
			t.Fatalf("other account sees %s: %v", mb, m)
		}
	}
}
