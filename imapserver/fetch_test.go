package imapserver

import (
	"fmt"
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

// TestFetchLargeLiterals: a literal longer than what the write buffer has
// left goes out with the bytes before it in one writev (conn.literal);
// around the buffer's size, with several literals in one response and a
// literal8, every byte arrives in order and the response goes on after
// each literal.
func TestFetchLargeLiterals(t *testing.T) {
	ts := startTestServer(t)
	sizes := []int{bufSize - 200, bufSize - 40, bufSize, bufSize + 1, 3 * bufSize, 200 << 10}
	want := map[int]string{}
	for i, n := range sizes {
		head := fmt.Sprintf("Subject: m%d\r\n\r\n", i+1)
		want[i+1] = head + strings.Repeat(fmt.Sprintf("%d", i%10), n-len(head)-2) + "\r\n"
		ts.deliver("", strings.ReplaceAll(want[i+1], "\r\n", "\n"))
	}
	tc := ts.login()
	tc.transactf("ok", "select inbox")
	rs := find(parseResps(t, tc.transactf("ok", "fetch 1:* (body[] uid binary.peek[1] rfc822.size)")), "FETCH")
	if len(rs) != len(sizes) {
		t.Fatalf("%d FETCH responses, want %d", len(rs), len(sizes))
	}
	for _, r := range rs {
		a := r.fetchAttrs()
		w := want[int(r.num)]
		_, text, _ := strings.Cut(w, "\r\n\r\n")
		if a["BODY[]"] != w || a["BINARY[1]"] != text || a["UID"] != fmt.Sprint(r.num) || a["RFC822.SIZE"] != fmt.Sprint(len(w)) {
			t.Fatalf("message %d (%d bytes): BODY[] %d bytes, BINARY[1] %d bytes, UID %v, RFC822.SIZE %v", r.num, len(w), len(fmt.Sprint(a["BODY[]"])), len(fmt.Sprint(a["BINARY[1]"])), a["UID"], a["RFC822.SIZE"])
		}
	}
	// One message alone, as the logged-in mix fetches it, then a command
	// after it on the same connection.
	rs = find(parseResps(t, tc.transactf("ok", "fetch 6 body[]")), "FETCH")
	if len(rs) != 1 || rs[0].fetchAttrs()["BODY[]"] != want[6] {
		t.Fatalf("FETCH 6 BODY[]: %.200v", rs)
	}
	tc.transactf("ok", "noop")
}
