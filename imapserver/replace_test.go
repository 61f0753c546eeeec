package imapserver

import (
	"slices"
	"strings"
	"testing"
)

// TestReplace follows RFC 8508 §3's example: REPLACE of a draft into
// Drafts gives "* OK [APPENDUID ...]" and the replaced message's EXPUNGE;
// UID REPLACE within the mailbox gives the new message's EXISTS too; the
// errors change nothing.
func TestReplace(t *testing.T) {
	t.Parallel()
	ts := startTestServer(t)
	for i := 0; i < 4; i++ {
		ts.deliver("", simpleMsg)
	}
	tc := ts.login()
	if caps := atomsUpper(parseResp(t, tc.transactf("ok", "capability")[0]).items); !slices.Contains(caps, "REPLACE") {
		t.Fatalf("REPLACE not advertised: %v", caps)
	}
	tc.transactf("ok", "enable imap4rev2")
	tc.transactf("ok", "select inbox")
	draft := "Subject: draft v2\r\n\r\nsecond version\r\n"
	rs := parseResps(t, tc.transactf("ok", "replace 4 Drafts (\\Seen \\Draft) {%d+}\r\n%s", len(draft), draft))
	oks := find(rs, "OK", "APPENDUID")
	if len(oks) != 1 || len(oks[0].code) != 3 || oks[0].code[2] != "1" {
		t.Fatalf("REPLACE: %v, want OK [APPENDUID uidvalidity 1]", rs)
	}
	if ex := find(rs, "EXPUNGE"); len(ex) != 1 || ex[0].num != 4 {
		t.Fatalf("REPLACE 4: %v, want * 4 EXPUNGE", rs)
	}
	if got := statusAttrs(t, parseResps(t, tc.transactf("ok", "status Drafts (messages)"))[0])["MESSAGES"]; got != "1" {
		t.Fatalf("Drafts MESSAGES %v, want 1", got)
	}
	tc.transactf("ok", "examine Drafts")
	rs = parseResps(t, tc.transactf("ok", "fetch 1 (flags body[])"))
	f := find(rs, "FETCH")
	if len(f) != 1 || f[0].fetchAttrs()["BODY[]"] != draft || !slices.Equal(strs(f[0].fetchAttrs()["FLAGS"]), []string{`\Draft`, `\Seen`}) {
		t.Fatalf("replaced message: %v", rs)
	}
	// Read-only mailbox: NO, nothing appended.
	tc.transactf("no", "replace 1 Drafts {%d+}\r\n%s", len(draft), draft)
	uidsNow := func() string {
		t.Helper()
		var uids []string
		for _, r := range find(parseResps(t, tc.transactf("ok", "uid fetch 1:* uid")), "FETCH") {
			u, _ := r.fetchAttrs()["UID"].(string)
			uids = append(uids, u)
		}
		return strings.Join(uids, " ")
	}
	// UID REPLACE within the selected mailbox.
	tc.transactf("ok", "select inbox")
	rs = parseResps(t, tc.transactf("ok", "uid replace 2 INBOX {%d+}\r\n%s", len(draft), draft))
	oks = find(rs, "OK", "APPENDUID")
	if len(oks) != 1 || len(oks[0].code) != 3 || oks[0].code[2] != "5" {
		t.Fatalf("UID REPLACE: %v, want OK [APPENDUID uidvalidity 5]", rs)
	}
	ex, exists := find(rs, "EXPUNGE"), find(rs, "EXISTS")
	if len(ex) != 1 || ex[0].num != 2 || len(exists) != 1 {
		t.Fatalf("UID REPLACE 2: %v, want * 2 EXPUNGE and * n EXISTS", rs)
	}
	if got := uidsNow(); got != "1 3 5" {
		t.Fatalf("UIDs after UID REPLACE: %v", got)
	}
	// Errors leave everything as it was.
	tc.transactf("bad", "replace 9 INBOX {%d+}\r\n%s", len(draft), draft)
	tc.transactf("no", "uid replace 2 INBOX {%d+}\r\n%s", len(draft), draft)
	tc.transactf("no", "replace 1 Nowhere {%d+}\r\n%s", len(draft), draft)
	if tc.lastTaggedResp().codeName() != "TRYCREATE" {
		t.Fatalf("REPLACE into a missing mailbox: %q", tc.lastTagged)
	}
	if got := uidsNow(); got != "1 3 5" {
		t.Fatalf("UIDs after failed REPLACEs: %v", got)
	}
}
