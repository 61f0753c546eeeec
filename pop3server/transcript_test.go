package pop3server

import (
	"fmt"
	"strings"
	"testing"
)

const (
	msgFirst = "From: alice@example.com\r\nTo: user@example.com\r\nSubject: first\r\n\r\nHello, world.\r\n"
	msgShort = "Subject: x\r\n\r\nbody\r\n" // 20 octets
	// msgMultipart carries a base64 attachment foo.txt containing "bar".
	msgMultipart = "From: bob@example.com\r\n" +
		"To: user@example.com\r\n" +
		"Subject: attachment\r\n" +
		"MIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=\"XXXX\"\r\n" +
		"\r\n" +
		"--XXXX\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n" +
		"\r\n" +
		"See the attachment.\r\n" +
		"--XXXX\r\n" +
		"Content-Type: text/plain\r\n" +
		"Content-Disposition: attachment; filename=\"foo.txt\"\r\n" +
		"Content-Transfer-Encoding: base64\r\n" +
		"\r\n" +
		"YmFy\r\n" +
		"--XXXX--\r\n"
)

// TestClassicWalkthrough follows the example session of RFC 1939 §10 and
// checks every reply exactly.
func TestClassicWalkthrough(t *testing.T) {
	ts := newTestServer(t, nil)
	msgs := []string{msgFirst, msgShort, msgMultipart}
	for _, m := range msgs {
		ts.store.addMessage(ts.acct.ID, m)
	}
	if len(msgShort) != 20 {
		t.Fatalf("msgShort is %d octets", len(msgShort))
	}
	total := len(msgFirst) + len(msgShort) + len(msgMultipart)

	c := ts.dial(t)
	c.expect("USER "+testUser, "+OK send PASS")
	c.expect("PASS "+testPass, "+OK maildrop locked and ready")
	c.expect("STAT", fmt.Sprintf("+OK 3 %d", total))
	c.expect("LIST", fmt.Sprintf("+OK 3 messages (%d octets)", total))
	want := []string{
		fmt.Sprintf("1 %d", len(msgFirst)),
		"2 20",
		fmt.Sprintf("3 %d", len(msgMultipart)),
	}
	if got := c.lines(); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("LIST: got %q, want %q", got, want)
	}
	c.expect("RETR 2", "+OK 20 octets")
	if got := c.data(); got != msgShort {
		t.Fatalf("RETR 2: got %q", got)
	}
	c.expect("DELE 1", "+OK message 1 deleted")
	c.expect("RETR 3", fmt.Sprintf("+OK %d octets", len(msgMultipart)))
	if got := c.data(); got != msgMultipart {
		t.Fatalf("RETR 3: got %q, want %q", got, msgMultipart)
	}
	c.expect("DELE 2", "+OK message 2 deleted")
	c.expect("QUIT", "+OK pop.example.com POP3 server signing off")
	c.closed()

	if got := ts.store.uids(ts.acct.ID); len(got) != 1 || got[0] != 3 {
		t.Fatalf("after QUIT the INBOX holds UIDs %v, want [3]", got)
	}
}

func TestCommandsCaseInsensitive(t *testing.T) {
	ts := newTestServer(t, nil)
	ts.store.addMessage(ts.acct.ID, msgShort)
	c := ts.dial(t)
	c.expect("user "+testUser, "+OK send PASS")
	c.expect("pAsS "+testPass, "+OK maildrop locked and ready")
	c.expect("stat", "+OK 1 20")
	c.expect("noop", "+OK")
	c.expect("List 1", "+OK 1 20")
	c.expect("quit", "+OK pop.example.com POP3 server signing off")
	c.closed()
}

func TestQuitInAuthorization(t *testing.T) {
	ts := newTestServer(t, nil)
	c := ts.dial(t)
	c.expect("QUIT", "+OK pop.example.com POP3 server signing off")
	c.closed()
}

func TestWrongState(t *testing.T) {
	ts := newTestServer(t, nil)
	ts.store.addMessage(ts.acct.ID, msgShort)
	c := ts.dial(t)
	for _, cmd := range []string{"STAT", "LIST", "RETR 1", "DELE 1", "UIDL", "TOP 1 1", "RSET", "NOOP"} {
		c.expect(cmd, "-ERR command not valid in this state")
	}
	c.expect("PASS x", "-ERR USER first")
	c.expect("USER "+testUser, "+OK send PASS")
	c.expect("PASS "+testPass, "+OK maildrop locked and ready")
	c.expect("USER x", "-ERR command not valid in this state")
	c.expect("PASS x", "-ERR command not valid in this state")
	c.expect("AUTH PLAIN", "-ERR command not valid in this state")
	c.expect("STAT", "+OK 1 20")
}

func TestListAndUidl(t *testing.T) {
	ts := newTestServer(t, nil)
	u1 := ts.store.addMessage(ts.acct.ID, msgFirst)
	u2 := ts.store.addMessage(ts.acct.ID, msgShort)
	u3 := ts.store.addMessage(ts.acct.ID, msgMultipart)
	v := ts.store.inboxes[ts.acct.ID].mb.UIDValidity
	c := ts.login(t)

	c.expect("LIST 2", "+OK 2 20")
	c.expect("LIST 4", "-ERR no such message")
	c.expect("LIST 0", "-ERR no such message")
	c.expect("LIST x", "-ERR invalid arguments")
	c.expect("LIST -1", "-ERR invalid arguments")
	c.expect("LIST 1 2", "-ERR invalid arguments")
	c.expect("UIDL 3", fmt.Sprintf("+OK 3 %d.%d", v, u3))
	c.expect("UIDL 9", "-ERR no such message")
	c.expect("UIDL", "+OK unique-id listing follows")
	want := []string{fmt.Sprintf("1 %d.%d", v, u1), fmt.Sprintf("2 %d.%d", v, u2), fmt.Sprintf("3 %d.%d", v, u3)}
	if got := c.lines(); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("UIDL: got %q, want %q", got, want)
	}

	// Deleted messages disappear from every listing.
	c.expect("DELE 2", "+OK message 2 deleted")
	c.expect("DELE 2", "-ERR message 2 already deleted")
	c.expect("LIST 2", "-ERR message 2 already deleted")
	c.expect("UIDL 2", "-ERR message 2 already deleted")
	c.expect("RETR 2", "-ERR message 2 already deleted")
	c.expect("TOP 2 0", "-ERR message 2 already deleted")
	total := len(msgFirst) + len(msgMultipart)
	c.expect("STAT", fmt.Sprintf("+OK 2 %d", total))
	c.expect("LIST", fmt.Sprintf("+OK 2 messages (%d octets)", total))
	if got := c.lines(); len(got) != 2 || got[0] != fmt.Sprintf("1 %d", len(msgFirst)) || got[1] != fmt.Sprintf("3 %d", len(msgMultipart)) {
		t.Fatalf("LIST after DELE: %q", got)
	}
	c.expect("UIDL", "+OK unique-id listing follows")
	if got := c.lines(); len(got) != 2 || got[0] != want[0] || got[1] != want[2] {
		t.Fatalf("UIDL after DELE: %q", got)
	}
}

func TestCapa(t *testing.T) {
	ts := newTestServer(t, nil)
	c := ts.dial(t)
	c.expect("CAPA", "+OK Capability list follows")
	want := "TOP|UIDL|USER|SASL PLAIN LOGIN SCRAM-SHA-256|RESP-CODES|PIPELINING|AUTH-RESP-CODE|IMPLEMENTATION mailroom"
	if got := strings.Join(c.lines(), "|"); got != want {
		t.Fatalf("CAPA: got %q, want %q", got, want)
	}
	c.expect("USER "+testUser, "+OK send PASS")
	c.expect("PASS "+testPass, "+OK maildrop locked and ready")
	c.expect("CAPA", "+OK Capability list follows")
	want = "TOP|UIDL|RESP-CODES|PIPELINING|AUTH-RESP-CODE|IMPLEMENTATION mailroom"
	if got := strings.Join(c.lines(), "|"); got != want {
		t.Fatalf("CAPA in TRANSACTION: got %q, want %q", got, want)
	}
}

func TestEmptyMaildrop(t *testing.T) {
	ts := newTestServer(t, nil)
	c := ts.login(t)
	c.expect("STAT", "+OK 0 0")
	c.expect("LIST", "+OK 0 messages (0 octets)")
	if got := c.lines(); got != nil {
		t.Fatalf("LIST: %q", got)
	}
	c.expect("RETR 1", "-ERR no such message")
	c.expect("QUIT", "+OK pop.example.com POP3 server signing off")
}
