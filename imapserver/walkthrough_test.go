package imapserver

import (
	"net"
	"strings"
	"testing"
)

// TestTelnetWalkthrough is the session a person types with telnet.
func TestTelnetWalkthrough(t *testing.T) {
	ts := startTestServer(t)
	ts.deliver("", simpleMsg)
	tc := ts.dial()
	tc.writeLine(". login %s %s", testUser, testPass)
	tc.readUntilTagged(".", "ok")
	if c := tc.tagged().codeArgs(); tc.taggedCode() != "CAPABILITY" || len(c) < 2 || c[0] != "IMAP4rev1" || c[1] != "IMAP4rev2" {
		t.Fatalf("login OK without capabilities: %q", tc.lastTagged)
	}
	tc.writeLine(`. list "" "*"`)
	lines := tc.readUntilTagged(".", "ok")
	hasLine(t, lines, `* LIST (\HasNoChildren) "/" INBOX`)
	hasLine(t, lines, `* LIST (\HasNoChildren \Trash) "/" Trash`)
	tc.writeLine(". status INBOX (messages)")
	lines = tc.readUntilTagged(".", "ok")
	hasLine(t, lines, "* STATUS INBOX (MESSAGES 1)")
	tc.writeLine(". select INBOX")
	lines = tc.readUntilTagged(".", "ok")
	hasLine(t, lines, "* 1 EXISTS")
	hasLine(t, lines, "* OK [UIDVALIDITY ")
	hasLine(t, lines, "* OK [UIDNEXT 2]")
	hasLine(t, lines, `* OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft \*)]`)
	if tc.taggedCode() != "READ-WRITE" {
		t.Fatalf("select: %q", tc.lastTagged)
	}
	tc.writeLine(". fetch 1 rfc822")
	lines = tc.readUntilTagged(".", "ok")
	raw := strings.ReplaceAll(simpleMsg, "\n", "\r\n")
	hasLine(t, lines, "* 1 FETCH (FLAGS (\\Seen \\Recent) RFC822 {"+itoa(len(raw))+"}\r\n"+raw+")")
	tc.writeLine(". fetch 1 rfc822.header")
	lines = tc.readUntilTagged(".", "ok")
	hdr := raw[:strings.Index(raw, "\r\n\r\n")+4]
	hasLine(t, lines, "* 1 FETCH (RFC822.HEADER {"+itoa(len(hdr))+"}\r\n"+hdr+")")
	tc.writeLine(". logout")
	lines = tc.readUntilTagged(".", "ok")
	hasLine(t, lines, "* BYE")
}

func itoa(n int) string { return uitoa(uint32(n)) }

func TestCapabilityAndNoop(t *testing.T) {
	ts := startTestServer(t)
	tc := ts.dial()
	if !strings.Contains(tc.greet, "AUTH=PLAIN") || strings.Contains(tc.greet, "STARTTLS") {
		t.Fatalf("greeting %q", tc.greet)
	}
	lines := tc.transactf("ok", "CAPABILITY")
	hasLine(t, lines, "* CAPABILITY IMAP4rev1 IMAP4rev2 IDLE")
	tc.transactf("ok", "noop")
	tc.transactf("bad", "select inbox") // not authenticated
	tc.transactf("bad", "frobnicate")
	tc.transactf("bad", "login onlyuser")
	tc.transactf("no", "login %s wrong", testUser)
	if tc.taggedCode() != "AUTHENTICATIONFAILED" {
		t.Fatal(tc.lastTagged)
	}
	tc.transactf("ok", "LoGiN %s %s", testUser, testPass)
	lines = tc.transactf("ok", "capability")
	// No AUTH= mechanism once authenticated (URLAUTH=BINARY is no mechanism).
	for _, c := range atomsUpper(parseResp(t, lines[0]).items) {
		if strings.HasPrefix(c, "AUTH=") {
			t.Fatalf("%s advertised after login: %q", c, lines[0])
		}
	}
	lines = tc.transactf("ok", "id nil")
	hasLine(t, lines, `* ID ("name" "mailroom")`)
	tc.transactf("ok", `id ("name" "test" "version" NIL)`)
	lines = tc.transactf("ok", "enable condstore imap4rev2 utf8=accept")
	hasLine(t, lines, "* ENABLED CONDSTORE IMAP4rev2")
	lines = tc.transactf("ok", "namespace")
	hasLine(t, lines, `* NAMESPACE (("" "/")) (("shared/" "/")) NIL`)
}

func TestPrivacyRequired(t *testing.T) {
	ts := startTestServer(t, func(c *Config) { c.AllowPlaintextAuth = func(net.Addr) bool { return false } })
	tc := ts.dial()
	if !strings.Contains(tc.greet, "LOGINDISABLED") || strings.Contains(tc.greet, "AUTH=PLAIN") {
		t.Fatalf("greeting %q", tc.greet)
	}
	tc.transactf("no", "login %s %s", testUser, testPass)
	if tc.taggedCode() != "PRIVACYREQUIRED" {
		t.Fatal(tc.lastTagged)
	}
	tc.transactf("no", "authenticate plain AG1qbEBleGFtcGxlLm9yZwB0ZXN0dGVzdA==")
}
