package imapserver

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// urlFetch sends URLFETCH with args and returns, for each URLFETCH
// response, the URL and what follows it.
func urlFetch(t *testing.T, tc *testConn, args string) [][]sexp {
	t.Helper()
	var out [][]sexp
	for _, r := range find(parseResps(t, tc.transactf("ok", "urlfetch %s", args)), "URLFETCH") {
		out = append(out, r.items)
	}
	return out
}

// genURL signs rump with GENURLAUTH and returns the URL.
func genURL(t *testing.T, tc *testConn, rump string) string {
	t.Helper()
	rs := find(parseResps(t, tc.transactf("ok", "genurlauth %q INTERNAL", rump)), "GENURLAUTH")
	if len(rs) != 1 || len(rs[0].items) != 1 {
		t.Fatalf("GENURLAUTH: %v", rs)
	}
	u, _ := rs[0].items[0].(string)
	if !strings.HasPrefix(u, rump+":INTERNAL:") || len(u) < len(rump)+len(":INTERNAL:")+32 {
		t.Fatalf("GENURLAUTH gave %q for %q", u, rump)
	}
	return u
}

// TestURLAuth follows RFC 4467: GENURLAUTH signs a URL of the user's own
// message; URLFETCH returns its data to whom the access identifier admits
// and NIL for a wrong token, an expired URL, another user, a reset key.
func TestURLAuth(t *testing.T) {
	t.Parallel()
	ts := startTestServer(t)
	ts.deliver("", simpleMsg)
	ts.addBob()
	tc := ts.login()
	caps := atomsUpper(parseResp(t, tc.transactf("ok", "capability")[0]).items)
	for _, c := range []string{"URLAUTH", "URLAUTH=BINARY"} {
		if !slices.Contains(caps, c) {
			t.Fatalf("%s not advertised: %v", c, caps)
		}
	}
	st := statusAttrs(t, parseResps(t, tc.transactf("ok", "status inbox (uidvalidity)"))[0])
	uv, _ := st["UIDVALIDITY"].(string)
	base := "imap://mjl%40example.org@mail.example.org/INBOX;UIDVALIDITY=" + uv + "/;UID=1"
	want := strings.ReplaceAll(simpleMsg, "\n", "\r\n")

	self := genURL(t, tc, base+";URLAUTH=user+mjl%40example.org")
	got := urlFetch(t, tc, fmt.Sprintf("%q", self))
	if len(got) != 1 || got[0][0] != self || got[0][1] != want {
		t.Fatalf("URLFETCH of own URL: %q", got)
	}
	submit := genURL(t, tc, base+"/;SECTION=HEADER.FIELDS%20(Subject);URLAUTH=submit+mjl%40example.org")
	if got = urlFetch(t, tc, fmt.Sprintf("%q", submit)); got[0][1] != "Subject: hello\r\n\r\n" {
		t.Fatalf("URLFETCH of a section: %q", got)
	}
	anyone := genURL(t, tc, base+"/;PARTIAL=0.4;URLAUTH=authuser")
	past := genURL(t, tc, base+";EXPIRE="+time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)+";URLAUTH=authuser")
	future := genURL(t, tc, base+";EXPIRE="+time.Now().Add(time.Hour).UTC().Format(time.RFC3339)+";URLAUTH=authuser")
	forBob := genURL(t, tc, base+";URLAUTH=user+bob%40example.org")

	// A wrong token, an expired URL: NIL.
	i := strings.LastIndexByte(self, ':')
	flip := map[byte]byte{'0': '1'}[self[i+1]]
	if flip == 0 {
		flip = '0'
	}
	wrong := self[:i+1] + string(flip) + self[i+2:]
	got = urlFetch(t, tc, fmt.Sprintf("%q %q %q %q", wrong, past, future, "imap://mjl%40example.org@mail.example.org/INBOX/;UID=1"))
	if len(got) != 4 || got[0][1] != "NIL" || got[1][1] != "NIL" || got[2][1] != want || got[3][1] != "NIL" {
		t.Fatalf("wrong token, expired, valid, unsigned: %q", got)
	}
	if got = urlFetch(t, tc, fmt.Sprintf("%q", forBob)); got[0][1] != "NIL" {
		t.Fatalf("user+bob URL fetched by mjl: %q", got)
	}

	// Bob, another account: authuser and user+bob resolve, user+mjl does not.
	bc := ts.dial()
	bc.transactf("ok", "login %s %s", bobUser, bobPass)
	got = urlFetch(t, bc, fmt.Sprintf("%q %q %q %q", anyone, forBob, self, submit))
	if got[0][1] != "From" || got[1][1] != want || got[2][1] != "NIL" || got[3][1] != "NIL" {
		t.Fatalf("URLFETCH by bob: %q", got)
	}
	// Bob cannot sign URLs of mjl's mailbox.
	bc.transactf("no", "genurlauth %q INTERNAL", base+";URLAUTH=authuser")
	tc.transactf("no", "genurlauth %q INTERNAL", strings.Replace(base, "mail.example.org", "other.example.org", 1)+";URLAUTH=authuser")
	tc.transactf("bad", "genurlauth %q XYZ", base+";URLAUTH=authuser")
	tc.transactf("bad", "genurlauth %q INTERNAL", base+";URLAUTH=somebody")

	// RESETKEY INBOX: every INBOX URL is dead; a new one works.
	tc.transactf("ok", "resetkey inbox")
	got = urlFetch(t, tc, fmt.Sprintf("%q %q", self, anyone))
	if got[0][1] != "NIL" || got[1][1] != "NIL" {
		t.Fatalf("after RESETKEY: %q", got)
	}
	fresh := genURL(t, tc, base+";URLAUTH=user+mjl%40example.org")
	if fresh == self {
		t.Fatalf("same URL after RESETKEY")
	}
	if got = urlFetch(t, tc, fmt.Sprintf("%q", fresh)); got[0][1] != want {
		t.Fatalf("URL signed after RESETKEY: %q", got)
	}
	tc.transactf("ok", "resetkey")
	if got = urlFetch(t, tc, fmt.Sprintf("%q", fresh)); got[0][1] != "NIL" {
		t.Fatalf("after RESETKEY of all: %q", got)
	}
}

// TestURLAuthBinary follows RFC 5524: URLFETCH (url BODYPARTSTRUCTURE
// BINARY) returns the part's structure and its decoded bytes.
func TestURLAuthBinary(t *testing.T) {
	t.Parallel()
	ts := startTestServer(t)
	ts.deliver("", multipartMsg)
	tc := ts.login()
	u := genURL(t, tc, "imap://mjl%40example.org@mail.example.org/INBOX/;UID=1/;SECTION=2;URLAUTH=user+mjl%40example.org")
	got := urlFetch(t, tc, fmt.Sprintf("(%q BODYPARTSTRUCTURE BINARY) (%q BODY)", u, u))
	if len(got) != 2 || len(got[0]) != 3 || len(got[1]) != 2 {
		t.Fatalf("URLFETCH: %q", got)
	}
	bs, _ := got[0][1].([]sexp)
	if len(bs) != 2 || bs[0] != "BODYPARTSTRUCTURE" {
		t.Fatalf("BODYPARTSTRUCTURE item %q", got[0][1])
	}
	if parts := strs(bs[1]); len(parts) < 2 || parts[0] != "TEXT" || parts[1] != "PLAIN" {
		t.Fatalf("BODYPARTSTRUCTURE %q", bs[1])
	}
	if bin, _ := got[0][2].([]sexp); len(bin) != 2 || bin[0] != "BINARY" || bin[1] != "bar" {
		t.Fatalf("BINARY item %q, want (BINARY ~{3} bar)", got[0][2])
	}
	if body, _ := got[1][1].([]sexp); len(body) != 2 || body[0] != "BODY" || body[1] != "YmFy" {
		t.Fatalf("BODY item %q", got[1][1])
	}
}
