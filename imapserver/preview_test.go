package imapserver

import (
	"strings"
	"testing"

	"github.com/mailroom/mailroom/message"
)

// TestPreview follows RFC 8970 §3's example: FETCH PREVIEW and
// PREVIEW (LAZY) return the decoded, whitespace-collapsed start of the
// first text part, at most 256 characters, without setting \Seen.
func TestPreview(t *testing.T) {
	t.Parallel()
	ts := startTestServer(t)
	long := strings.Repeat("word ", 100)
	msgs := []struct{ raw, want string }{
		{simpleMsg, ""}, // filled in below
		{"Subject: qp\nContent-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n\nCaf=E9   au\n\n\tlait=\n done\n", "Café au lait done"},
		{"Subject: long\n\n" + long + "\n", strings.TrimSpace(long)[:256]},
		{"Subject: alt\nContent-Type: multipart/alternative; boundary=b\n\n--b\nContent-Type: text/html\n\n<html><head><title>T</title><style>p{}</style></head><body><p>Hello</p><p>&amp; bye</p></body></html>\n--b\nContent-Type: text/plain\nContent-Transfer-Encoding: base64\n\nSGVsbG8sIHBsYWluIHdvcmxk\n--b--\n", "Hello, plain world"},
		{"Subject: html\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\nContent-Disposition: attachment; filename=a.txt\n\nnot this\n--b\nContent-Type: text/html\n\n<p>Hello</p><script>x()</script><p>&amp; bye</p>\n--b--\n", "Hello & bye"},
		{"Subject: image\nContent-Type: image/png\nContent-Transfer-Encoding: base64\n\niVBORw0K\n", ""},
		// A reply: quoted lines (starting with '>') are left out, as
		// Dovecot does; a quote not at the start of a line is text.
		{"Subject: reply\n\nSounds good >see below\n> On Monday you wrote:\n>> earlier\n  > indented stays\n", "Sounds good >see below > indented stays"},
		// All quote: shown behind one '>' without each line's first '>'.
		{"Subject: fwd\n\n> only quoted\n>> deeper\n", ">only quoted > deeper"},
		{"Subject: html reply\nContent-Type: text/html\n\n<p>top</p><blockquote>quoted html</blockquote>\n> gt line\n", "top"},
	}
	for _, m := range msgs {
		ts.deliver("", m.raw)
	}
	msgs[0].want = "hello" // simpleMsg's body, see below
	tc := ts.login()
	tc.transactf("ok", "enable imap4rev2")
	tc.transactf("ok", "select inbox")
	body := parseResps(t, tc.transactf("ok", "fetch 1 body.peek[text]"))
	msgs[0].want = collapse(strs([]sexp{find(body, "FETCH")[0].fetchAttrs()["BODY[TEXT]"]})[0], 256)
	for _, cmd := range []string{"fetch 1:* preview", "fetch 1:* (uid preview (lazy))", "fetch 1:* (PREVIEW (LAZY) FLAGS)"} {
		rs := find(parseResps(t, tc.transactf("ok", "%s", cmd)), "FETCH")
		if len(rs) != len(msgs) {
			t.Fatalf("%s: %v", cmd, rs)
		}
		for _, r := range rs {
			got, ok := r.fetchAttrs()["PREVIEW"].(string)
			if want := msgs[r.num-1].want; !ok || got != want {
				t.Fatalf("%s: message %d PREVIEW %q, want %q", cmd, r.num, got, want)
			}
		}
	}
	// A lone PREVIEW item followed by FETCH modifiers.
	rs := find(parseResps(t, tc.transactf("ok", "fetch 2 preview (changedsince 1)")), "FETCH")
	if len(rs) != 1 || rs[0].fetchAttrs()["PREVIEW"] != msgs[1].want || rs[0].fetchModSeq() == 0 {
		t.Fatalf("PREVIEW (CHANGEDSINCE 1): %v", rs)
	}
	tc.transactf("bad", "fetch 1 preview (lazy fuzzy)")
	tc.transactf("bad", "fetch 1 (preview ())")
	// PREVIEW does not set \Seen.
	rs = find(parseResps(t, tc.transactf("ok", "fetch 1:* flags")), "FETCH")
	for _, r := range rs {
		for _, f := range strs(r.fetchAttrs()["FLAGS"]) {
			if f == `\Seen` {
				t.Fatalf("PREVIEW set \\Seen: %v", r)
			}
		}
	}
	// An IMAP4rev1 session gets 8-bit text as a literal.
	tc2 := ts.login()
	tc2.transactf("ok", "select inbox")
	rs = find(parseResps(t, tc2.transactf("ok", "fetch 2 preview")), "FETCH")
	if len(rs) != 1 || rs[0].fetchAttrs()["PREVIEW"] != msgs[1].want || !strings.Contains(rs[0].line, "PREVIEW {") {
		t.Fatalf("IMAP4rev1 PREVIEW: %v", rs)
	}
}

func FuzzPreview(f *testing.F) {
	f.Add([]byte(simpleMsg))
	f.Add([]byte("Content-Type: text/html\n\n<p>a<script>b</script>c"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		s := preview(raw, message.Parse(raw))
		if n := len([]rune(s)); n > previewChars {
			t.Fatalf("preview of %d characters", n)
		}
		if s != strings.TrimSpace(s) || strings.ContainsAny(s, "\r\n\t\x00") {
			t.Fatalf("preview %q not collapsed", s)
		}
	})
}
