package imapserver

import (
	"strings"
	"testing"
)

func TestFetchMultipart(t *testing.T) {
	ts := startTestServer(t)
	ts.deliver("", multipartMsg)
	tc := ts.login()
	tc.transactf("ok", "examine inbox")
	lines := tc.transactf("ok", "fetch 1 bodystructure")
	l := hasLine(t, lines, "* 1 FETCH (BODYSTRUCTURE ((")
	if !strings.Contains(strings.ToLower(l), `"mixed"`) || !strings.Contains(strings.ToLower(l), `"base64"`) || !strings.Contains(l, `"foo.txt"`) {
		t.Fatalf("bodystructure %q", l)
	}
	lines = tc.transactf("ok", "fetch 1 (body.peek[2] binary.peek[2] binary.size[2])")
	l = hasLine(t, lines, "* 1 FETCH (")
	if !strings.Contains(l, "BODY[2] {4}\r\nYmFy") || !strings.Contains(l, "BINARY[2] {3}\r\nbar") || !strings.Contains(l, "BINARY.SIZE[2] 3") {
		t.Fatalf("fetch %q", l)
	}
	lines = tc.transactf("ok", "fetch 1 (body.peek[1] body.peek[header.fields (subject from)] body.peek[]<0.4> uid flags rfc822.size internaldate)")
	l = hasLine(t, lines, "* 1 FETCH (")
	for _, want := range []string{"BODY[1] {5}\r\nhello", "BODY[HEADER.FIELDS (SUBJECT FROM)] {", "Subject: files\r\n", "BODY[]<0> {4}\r\nFrom", "UID 1", `FLAGS (\Recent)`, "RFC822.SIZE ", `INTERNALDATE "`} {
		if !strings.Contains(l, want) {
			t.Fatalf("missing %q in %q", want, l)
		}
	}
	// EXAMINE is read-only: no implicit \Seen.
	lines = tc.transactf("ok", "fetch 1 body[1]")
	noLine(t, lines, `\Seen`)
	lines = tc.transactf("ok", "fetch 1 (envelope body)")
	l = hasLine(t, lines, `ENVELOPE (NIL "files" (("Bob" NIL "bob" "example.org"))`)
	_ = l
	tc.transactf("bad", "fetch 1 (body[2]")
	tc.transactf("bad", "fetch 1 bogus")
	tc.transactf("bad", "fetch 2 flags") // no such sequence number
	tc.transactf("ok", "uid fetch 2:* flags")
	// Macros.
	lines = tc.transactf("ok", "fetch 1 all")
	hasLine(t, lines, "ENVELOPE")
	lines = tc.transactf("ok", "fetch 1:* fast")
	hasLine(t, lines, "RFC822.SIZE")
	lines = tc.transactf("ok", "fetch 1 full")
	hasLine(t, lines, "BODY (")
}

func TestFetchImplicitSeen(t *testing.T) {
	ts := startTestServer(t)
	ts.deliver("", simpleMsg)
	ts.deliver("", simpleMsg)
	tc := ts.login()
	tc.transactf("ok", "select inbox")
	lines := tc.transactf("ok", "fetch 1 body.peek[text]")
	noLine(t, lines, "FLAGS")
	lines = tc.transactf("ok", "fetch 1 body[text]")
	hasLine(t, lines, `* 1 FETCH (FLAGS (\Seen \Recent) BODY[TEXT] {11}`)
	lines = tc.transactf("ok", "uid fetch 2 rfc822.text")
	hasLine(t, lines, `* 2 FETCH (UID 2 FLAGS (\Seen \Recent) RFC822.TEXT`)
	lines = tc.transactf("ok", "fetch 1:2 flags")
	if len(lines) != 2 {
		t.Fatal(lines)
	}
}
