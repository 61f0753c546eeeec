package imapserver

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// TestCatenate: APPEND ... CATENATE (RFC 4469) joins TEXT literals and
// URL parts naming messages (or sections) of the same account; any other
// URL is NO [BADURL], a MULTIAPPEND with a bad part stores nothing, the
// total is bounded by the APPEND limit, and REPLACE takes CATENATE too.
func TestCatenate(t *testing.T) {
	t.Parallel()
	ts := startTestServer(t, func(c *Config) { c.MaxLiteralSize, c.MaxAppendBytes = 4000, 4000 })
	src := "From: a@example.org\r\nSubject: original\r\n\r\nquoted body\r\n"
	ts.deliver("", strings.ReplaceAll(src, "\r\n", "\n"))
	tc := ts.login()
	if caps := atomsUpper(parseResp(t, tc.transactf("ok", "capability")[0]).items); !slices.Contains(caps, "CATENATE") {
		t.Fatalf("CATENATE not advertised: %v", caps)
	}
	rs := parseResps(t, tc.transactf("ok", "select inbox"))
	var uv string
	for _, r := range find(rs, "OK", "UIDVALIDITY") {
		uv, _ = r.code[1].(string)
	}
	if uv == "" {
		t.Fatalf("no UIDVALIDITY in %v", rs)
	}
	drafts := func() string {
		t.Helper()
		s, _ := statusAttrs(t, parseResps(t, tc.transactf("ok", "status Drafts (messages)"))[0])["MESSAGES"].(string)
		return s
	}
	lastDraft := func() string {
		t.Helper()
		n := drafts()
		tc.transactf("ok", "examine Drafts")
		f := find(parseResps(t, tc.transactf("ok", "fetch %s body[]", n)), "FETCH")
		tc.transactf("ok", "select inbox")
		if len(f) != 1 {
			t.Fatalf("FETCH %s in Drafts: %v", n, f)
		}
		s, _ := f[0].fetchAttrs()["BODY[]"].(string)
		return s
	}
	intro := "Subject: fwd\r\n\r\nsee below:\r\n"
	for _, tt := range []struct{ parts, want string }{
		{fmt.Sprintf(`TEXT {%d+}`+"\r\n%s"+` URL "/INBOX;UIDVALIDITY=%s/;UID=1/;SECTION=TEXT"`, len(intro), intro, uv), intro + "quoted body\r\n"},
		{`URL "imap:///inbox/;UID=1"`, src},
		{`URL "/INBOX/;uid=1/;section=HEADER.FIELDS%20(Subject)" TEXT {7+}` + "\r\nnew\r\n\r\n", "Subject: original\r\n\r\nnew\r\n\r\n"},
		// URL-PARTIAL (RFC 5550): bytes of the section, as Dovecot does.
		{`URL "/INBOX/;UID=1/;SECTION=TEXT/;PARTIAL=7.4" TEXT {2+}` + "\r\n\r\n", "body\r\n"},
		{`URL "/INBOX/;UID=1/;PARTIAL=0.8"`, src[:8]},
		{`TEXT {1+}` + "\r\nx" + ` URL "/INBOX/;UID=1/;PARTIAL=100000"`, "x"},
	} {
		rs := parseResps(t, tc.transactf("ok", "append Drafts (\\Draft) catenate (%s)", tt.parts))
		_ = rs
		if got := lastDraft(); got != tt.want {
			t.Errorf("CATENATE (%.60s): %q, want %q", tt.parts, got, tt.want)
		}
	}
	before := drafts()
	for _, u := range []string{
		"imap://bob@mail.example.org/INBOX/;UID=1",       // another user
		"imap://mail.example.org/INBOX/;UID=1",           // another server
		fmt.Sprintf("/INBOX;UIDVALIDITY=%s1/;UID=1", uv), // stale UIDVALIDITY
		"/INBOX/;UID=2",              // no such message
		"/Nowhere/;UID=1",            // no such mailbox
		"/INBOX/;UID=1/;PARTIAL=0.0", // an empty PARTIAL length
		"/INBOX/;UID=1/;PARTIAL=x",   // not a number
		"/INBOX/;UID=1/;SECTION=9",   // no such part
		"INBOX/;UID=1",               // not absolute
		"http://example.org/",
	} {
		tc.transactf("no", `append Drafts catenate (TEXT {2+}`+"\r\nx\n"+` URL "%s")`, u)
		if r := tc.lastTaggedResp(); r.codeName() != "BADURL" {
			t.Errorf("URL %q: %q, want NO [BADURL]", u, tc.lastTagged)
		}
	}
	// MULTIAPPEND: one bad part, nothing stored.
	tc.transactf("no", `append Drafts {3+}`+"\r\na\r\n"+` catenate (URL "/INBOX/;UID=1") catenate (URL "/INBOX/;UID=7")`)
	// Over the APPEND limit: TOOBIG, refused at the literal header.
	tc.transactf("no", `append Drafts catenate (URL "/INBOX/;UID=1" TEXT {3990}`) // the client waits for a continuation request
	if r := tc.lastTaggedResp(); r.codeName() != "TOOBIG" {
		t.Errorf("CATENATE over the limit: %q", tc.lastTagged)
	}
	tc.transactf("bad", "append Drafts catenate ()")
	tc.transactf("bad", `append Drafts catenate (FILE "x")`)
	if got := drafts(); got != before {
		t.Fatalf("Drafts has %s messages after refused CATENATEs, had %s", got, before)
	}
	// REPLACE's message can be a CATENATE too.
	rs = parseResps(t, tc.transactf("ok", `replace 1 Drafts catenate (URL "/INBOX/;UID=1/;SECTION=HEADER" TEXT {5+}`+"\r\nnew\r\n)"))
	if len(find(rs, "OK", "APPENDUID")) != 1 || len(find(rs, "EXPUNGE")) != 1 {
		t.Fatalf("REPLACE with CATENATE: %v", rs)
	}
	if got, want := lastDraft(), strings.Split(src, "\r\n\r\n")[0]+"\r\n\r\nnew\r\n"; got != want {
		t.Fatalf("replaced draft %q, want %q", got, want)
	}
}

// FuzzCatURL: parseCatURL never panics, and what it accepts names a UID
// and a non-empty mailbox without CR, LF or NUL.
func FuzzCatURL(f *testing.F) {
	for _, s := range []string{
		"imap:///INBOX;UIDVALIDITY=5/;UID=3/;SECTION=1.2.MIME",
		"/a%20b/c/;UID=1/;SECTION=HEADER.FIELDS%20(From%20To)",
		"imap://u@h/INBOX/;UID=1", "/INBOX/;UID=0", "/;UID=1", "imap:///x/;UID=1/;PARTIAL=1.2",
		"/%ZZ/;UID=1", "/INBOX;UIDVALIDITY=4294967296/;UID=1",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := parseCatURL(s)
		if err != nil {
			return
		}
		if r.uid == 0 || r.mailbox == "" || strings.ContainsAny(r.mailbox, "\x00\r\n") {
			t.Fatalf("parseCatURL(%q) = %+v", s, r)
		}
		if rt := urlRespText(s); strings.ContainsAny(rt, "]\r\n\x00") {
			t.Fatalf("urlRespText(%q) = %q", s, rt)
		}
	})
}
