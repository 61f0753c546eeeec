package imapserver

import (
	"encoding/base64"
	"slices"
	"strings"
	"testing"
)

func TestAuthenticate(t *testing.T) {
	ts := startTestServer(t)
	plain := base64.StdEncoding.EncodeToString([]byte("\x00" + testUser + "\x00" + testPass))
	// SASL-IR.
	tc := ts.dial()
	tc.transactf("ok", "authenticate PLAIN %s", plain)
	if tc.taggedCode() != "CAPABILITY" || !slices.Contains(tc.tagged().codeArgs(), "IMAP4rev1") {
		t.Fatal(tc.lastTagged)
	}
	// Challenge/response with LOGIN.
	tc = ts.dial()
	tc.writeLine("a authenticate login")
	if r := tc.readResponse(); r != "+ "+base64.StdEncoding.EncodeToString([]byte("Username:")) {
		t.Fatal(r)
	}
	tc.writeLine(base64.StdEncoding.EncodeToString([]byte(testUser)))
	tc.readResponse()
	tc.writeLine(base64.StdEncoding.EncodeToString([]byte(testPass)))
	tc.readUntilTagged("a", "ok")
	// Wrong password, cancel, unknown mechanism, bad base64.
	tc = ts.dial()
	tc.transactf("no", "authenticate plain %s", base64.StdEncoding.EncodeToString([]byte("\x00"+testUser+"\x00bad")))
	if tc.taggedCode() != "AUTHENTICATIONFAILED" {
		t.Fatal(tc.lastTagged)
	}
	tc.writeLine("b authenticate plain")
	tc.readResponse()
	tc.writeLine("*")
	tc.readUntilTagged("b", "bad")
	tc.transactf("no", "authenticate cram-md5")
	tc.transactf("bad", "authenticate plain !!!")
	tc.transactf("ok", "noop")
}

func TestList(t *testing.T) {
	ts := startTestServer(t)
	tc := ts.login()
	lines := tc.transactf("ok", `list "" ""`)
	hasLine(t, lines, `* LIST (\Noselect) "/" ""`)
	tc.transactf("ok", "create a/b/c")
	tc.transactf("ok", "create x (use (\\Flagged))")
	lines = tc.transactf("ok", `list "" "%%"`)
	hasLine(t, lines, `* LIST (\HasChildren) "/" a`)
	noLine(t, lines, `a/b`)
	hasLine(t, lines, `* LIST (\HasNoChildren \Flagged) "/" x`)
	lines = tc.transactf("ok", `list "a/" "*"`)
	hasLine(t, lines, `* LIST (\HasChildren) "/" a/b`)
	hasLine(t, lines, `* LIST (\HasNoChildren) "/" a/b/c`)
	lines = tc.transactf("ok", `list "" "inbox"`)
	hasLine(t, lines, `"/" INBOX`)
	lines = tc.transactf("ok", `list (special-use) "" "*"`)
	if len(lines) != 6 {
		t.Fatalf("special-use: %q", lines)
	}
	tc.transactf("ok", "subscribe a/b")
	tc.transactf("ok", "unsubscribe Archive")
	tc.transactf("no", "subscribe nosuch")
	lines = tc.transactf("ok", `list (subscribed recursivematch) "" "*" return (children)`)
	hasLine(t, lines, `* LIST (\HasChildren \Subscribed) "/" a/b`)
	// a/b is listed itself, so a is not (RFC 5258 §3.5: servers SHOULD
	// suppress redundant CHILDINFO; issue 14 item 6) ...
	noLine(t, lines, `"/" a (`)
	// ... but is, with CHILDINFO, when the pattern stops above a/b.
	lines = tc.transactf("ok", `list (subscribed recursivematch) "" "%%" return (children)`)
	hasLine(t, lines, `* LIST (\HasChildren) "/" a ("CHILDINFO" ("SUBSCRIBED"))`)
	noLine(t, lines, "Archive")
	lines = tc.transactf("ok", `list "" ("Sent" "Drafts") return (subscribed status (messages unseen))`)
	hasLine(t, lines, `* LIST (\HasNoChildren \Subscribed \Sent) "/" Sent`)
	hasLine(t, lines, `* STATUS Drafts (MESSAGES 0 UNSEEN 0)`)
	lines = tc.transactf("ok", `lsub "" "*"`)
	hasLine(t, lines, `* LSUB () "/" a/b`)
	tc.transactf("bad", `list (bogus) "" "*"`)
	// Deleted but subscribed: \NonExistent.
	tc.transactf("ok", "subscribe a/b/c")
	tc.transactf("ok", "delete a/b/c")
	lines = tc.transactf("ok", `list (subscribed) "" "a/*"`)
	hasLine(t, lines, `* LIST (\NonExistent \HasNoChildren \Subscribed) "/" a/b/c`)
	// Modified UTF-7 for IMAP4rev1, UTF-8 after ENABLE IMAP4rev2.
	tc.transactf("ok", "create Entw&APw-rfe")
	lines = tc.transactf("ok", `list "" "Entw*"`)
	hasLine(t, lines, `"/" Entw&APw-rfe`)
	tc.transactf("ok", "enable imap4rev2")
	lines = tc.transactf("ok", `list "" "Entw*"`)
	hasLine(t, lines, `"/" "Entwürfe"`)
	tc.transactf("bad", `lsub "" "*"`)
}

func TestMailboxManagement(t *testing.T) {
	ts := startTestServer(t)
	tc := ts.login()
	tc.transactf("ok", "create foo")
	tc.transactf("no", "create foo")
	if tc.taggedCode() != "ALREADYEXISTS" {
		t.Fatal(tc.lastTagged)
	}
	tc.transactf("no", "create inbox")
	tc.transactf("no", "create bar (use (\\Bogus))")
	tc.transactf("ok", "rename foo bar")
	tc.transactf("no", "select foo")
	if tc.taggedCode() != "NONEXISTENT" {
		t.Fatal(tc.lastTagged)
	}
	tc.transactf("ok", "examine bar")
	if tc.taggedCode() != "READ-ONLY" {
		t.Fatal(tc.lastTagged)
	}
	tc.transactf("no", "delete bar") // selected
	tc.transactf("ok", "unselect")
	tc.transactf("ok", "delete bar")
	tc.transactf("no", "delete inbox")
	tc.transactf("no", "delete nosuch")
	tc.transactf("ok", "create p/q")
	tc.transactf("no", "delete p")
	lines := tc.transactf("ok", "status Sent (messages uidnext uidvalidity unseen deleted size highestmodseq recent)")
	hasLine(t, lines, "* STATUS Sent (MESSAGES 0 UIDNEXT 1 UIDVALIDITY ")
	tc.transactf("bad", "status Sent (bogus)")
	tc.transactf("no", "status nosuch (messages)")
}

func TestAppend(t *testing.T) {
	ts := startTestServer(t, func(c *Config) { c.MaxLiteralSize = 1000 })
	tc := ts.login()
	msg := strings.ReplaceAll(simpleMsg, "\n", "\r\n")
	// Synchronizing literal: the server asks for the data.
	tc.writeLine(`a append inbox (\Seen $Label) "02-Jan-2006 15:04:05 +0100" {%d}`, len(msg))
	if r := tc.readResponse(); !strings.HasPrefix(r, "+ ") {
		t.Fatal(r)
	}
	tc.writeLine("%s", msg)
	tc.readUntilTagged("a", "ok")
	if a := tc.tagged().codeArgs(); tc.taggedCode() != "APPENDUID" || len(a) != 2 || a[1] != "1" {
		t.Fatal(tc.lastTagged)
	}
	// MULTIAPPEND with LITERAL+ and literal8.
	tc.transactf("ok", "append inbox {%d+}\r\n%s ~{%d+}\r\n%s", len(msg), msg, len(msg), msg)
	if a := tc.tagged().codeArgs(); tc.taggedCode() != "APPENDUID" || len(a) != 2 || a[1] != "2:3" {
		t.Fatal(tc.lastTagged)
	}
	tc.transactf("ok", "select inbox")
	lines := tc.transactf("ok", "fetch 1 (flags internaldate)")
	hasLine(t, lines, `* 1 FETCH (FLAGS ($Label \Seen \Recent) INTERNALDATE "02-Jan-2006 15:04:05 +0100")`)
	// Errors.
	tc.transactf("no", "append nosuch {%d+}\r\n%s", len(msg), msg)
	if tc.taggedCode() != "TRYCREATE" {
		t.Fatal(tc.lastTagged)
	}
	tc.transactf("no", "append inbox {5000}")
	if tc.taggedCode() != "TOOBIG" {
		t.Fatal(tc.lastTagged)
	}
	tc.transactf("no", "append inbox {1001+}\r\n%s", strings.Repeat("x", 1001))
	tc.transactf("bad", `append inbox (\Bogus) {2+}`+"\r\nab")
	tc.transactf("bad", `append inbox "not a date" {2+}`+"\r\nab")
	lines = tc.transactf("ok", "noop")
	noLine(t, lines, "EXISTS")
}

func TestSearch(t *testing.T) {
	ts := startTestServer(t)
	ts.deliver("", simpleMsg)
	ts.deliver("", multipartMsg)
	ts.deliver("", simpleMsg)
	tc := ts.login()
	tc.transactf("ok", "select inbox")
	tc.transactf("ok", `store 2 +flags (\Seen)`)
	lines := tc.transactf("ok", "search unseen")
	hasLine(t, lines, "* SEARCH 1 3")
	// Short lines starting like RETURN/CHARSET must not wait for more input.
	lines = tc.transactf("ok", "search cc x")
	hasLine(t, lines, "* SEARCH")
	lines = tc.transactf("ok", "search charset utf-8 or from bob subject HELLO")
	hasLine(t, lines, "* SEARCH 1 2 3")
	lines = tc.transactf("ok", "search not (from alice larger 10) body bar")
	hasLine(t, lines, "* SEARCH")
	lines = tc.transactf("ok", "uid search 2:* since 1-Jan-2000 header subject files")
	hasLine(t, lines, "* SEARCH 2")
	lines = tc.transactf("ok", "search return (min max count all) all")
	hasLine(t, lines, `") MIN 1 MAX 3 COUNT 3 ALL 1:3`)
	lines = tc.transactf("ok", "uid search return () seen")
	hasLine(t, lines, `") UID ALL 2`)
	lines = tc.transactf("ok", "search return (count) keyword $nothing")
	hasLine(t, lines, `") COUNT 0`)
	// SEARCHRES.
	lines = tc.transactf("ok", "search return (save) from alice")
	if len(lines) != 0 {
		t.Fatal(lines)
	}
	lines = tc.transactf("ok", "fetch $ uid")
	if len(lines) != 2 {
		t.Fatal(lines)
	}
	lines = tc.transactf("ok", "search uid $")
	hasLine(t, lines, "* SEARCH 1 3")
	tc.transactf("no", "search charset koi8-r all")
	if tc.taggedCode() != "BADCHARSET" {
		t.Fatal(tc.lastTagged)
	}
	tc.transactf("bad", "search bogus")
	tc.transactf("bad", "search since notadate")
	tc.transactf("ok", "enable imap4rev2")
	lines = tc.transactf("ok", "search deleted")
	hasLine(t, lines, `* ESEARCH (TAG "`)
}

func TestStoreCopyMoveExpunge(t *testing.T) {
	ts := startTestServer(t)
	for range 4 {
		ts.deliver("", simpleMsg)
	}
	tc := ts.login()
	tc.transactf("ok", "select inbox")
	lines := tc.transactf("ok", `store 1:2 flags (\Seen $Work)`)
	hasLine(t, lines, `* 1 FETCH (FLAGS ($Work \Seen \Recent))`)
	lines = tc.transactf("ok", `store 1 -flags $work`)
	hasLine(t, lines, `* 1 FETCH (FLAGS (\Seen \Recent))`)
	lines = tc.transactf("ok", `uid store 2 +flags.silent (\Answered)`)
	if len(lines) != 0 {
		t.Fatal(lines)
	}
	tc.transactf("bad", `store 1 flags (\Bogus)`)
	tc.transactf("bad", `store 9 flags (\Seen)`)
	tc.transactf("bad", `store 1 frobnicate (\Seen)`)

	tc.transactf("ok", "copy 1:2 Archive")
	if a := tc.tagged().codeArgs(); tc.taggedCode() != "COPYUID" || len(a) != 3 || a[1] != "1:2" || a[2] != "1:2" {
		t.Fatal(tc.lastTagged)
	}
	tc.transactf("no", "copy 1 nosuch")
	if tc.taggedCode() != "TRYCREATE" {
		t.Fatal(tc.lastTagged)
	}
	lines = tc.transactf("ok", "uid move 3 Trash")
	hasLine(t, lines, "* OK [COPYUID ")
	hasLine(t, lines, "* 3 EXPUNGE")
	lines = tc.transactf("ok", "move 1 Trash")
	hasLine(t, lines, "* 1 EXPUNGE")
	// Now UIDs 2 and 4 remain as 1 and 2.
	tc.transactf("ok", `store 1:2 +flags (\Deleted)`)
	lines = tc.transactf("ok", "uid expunge 4")
	hasLine(t, lines, "* 2 EXPUNGE")
	lines = tc.transactf("ok", "expunge")
	hasLine(t, lines, "* 1 EXPUNGE")
	lines = tc.transactf("ok", "status Trash (messages)")
	hasLine(t, lines, "MESSAGES 2")

	tc.transactf("ok", "select Archive")
	tc.transactf("ok", `store 1 +flags (\Deleted)`)
	tc.transactf("ok", "close")
	tc.transactf("bad", "fetch 1 flags") // not selected
	tc.transactf("ok", "examine Archive")
	lines = tc.transactf("ok", "fetch 1:* flags")
	if len(lines) != 1 {
		t.Fatal(lines)
	}
	tc.transactf("no", `store 1 +flags (\Deleted)`)
	tc.transactf("no", "expunge")
}

func TestCommandLoopRobustness(t *testing.T) {
	ts := startTestServer(t, func(c *Config) { c.MaxLineLength = 200 })
	tc := ts.dial()
	// Long line: BAD, connection survives.
	tc.transactf("bad", "noop %s", strings.Repeat("x", 500))
	// Syntax error with a non-synchronizing literal in the rest of the line.
	tc.transactf("bad", "login {3+}\r\nabc bogus {4+}\r\nabcd")
	// Missing tag, empty line.
	tc.writeLine("")
	tc.writeLine("*")
	if r := tc.readResponse(); !strings.HasPrefix(r, "* BAD") {
		t.Fatal(r)
	}
	// The dot tag a person types.
	tc.writeLine(". noop")
	tc.readUntilTagged(".", "ok")
	tc.transactf("bad", "uid frob")
	tc.transactf("bad", "starttls")
	tc.transactf("ok", "login %s %s", testUser, testPass)
	tc.transactf("bad", "login %s %s", testUser, testPass)
	tc.transactf("bad", "fetch 1 flags")
	tc.transactf("ok", "select inbox")
	tc.transactf("bad", "fetch")
	tc.transactf("bad", "fetch 1:x flags")
	tc.transactf("ok", "check")
	tc.writeLine("z logout")
	lines := tc.readUntilTagged("z", "ok")
	hasLine(t, lines, "* BYE")
}
