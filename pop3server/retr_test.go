package pop3server

import (
	"fmt"
	"strings"
	"testing"
)

func TestRetrMultipartAttachment(t *testing.T) {
	ts := newTestServer(t, nil)
	ts.store.addMessage(ts.acct.ID, msgMultipart)
	c := ts.login(t)
	c.expect("RETR 1", fmt.Sprintf("+OK %d octets", len(msgMultipart)))
	got := c.data()
	if got != msgMultipart {
		t.Fatalf("RETR: got\n%q\nwant\n%q", got, msgMultipart)
	}
	if !strings.Contains(got, "filename=\"foo.txt\"\r\nContent-Transfer-Encoding: base64\r\n\r\nYmFy\r\n") {
		t.Fatal("attachment missing")
	}
}

func TestRetrDotStuffing(t *testing.T) {
	ts := newTestServer(t, nil)
	raw := "Subject: dots\r\n\r\n.\r\n..two\r\n.leading\r\nmid.dle\r\n.\r\n"
	ts.store.addMessage(ts.acct.ID, raw)
	c := ts.login(t)
	// The size is that of the message, not of the dot-stuffed transmission.
	c.expect("LIST 1", fmt.Sprintf("+OK 1 %d", len(raw)))
	c.expect("RETR 1", fmt.Sprintf("+OK %d octets", len(raw)))
	want := "Subject: dots\r\n\r\n..\r\n...two\r\n..leading\r\nmid.dle\r\n..\r\n"
	if got := c.data(); got != want {
		t.Fatalf("RETR: got %q, want %q", got, want)
	}
	c.expect("TOP 1 2", "+OK top of message follows")
	if got := c.data(); got != "Subject: dots\r\n\r\n..\r\n...two\r\n" {
		t.Fatalf("TOP: got %q", got)
	}
}

// TestRetrLineEndings: stored bare LFs go out as CRLF, a missing final line
// ending is added, and STAT/LIST/RETR report the octets actually sent.
func TestRetrLineEndings(t *testing.T) {
	ts := newTestServer(t, nil)
	bare := "Subject: lf\n\nline one\nline two\n"
	noEOL := "Subject: eol\r\n\r\nno final newline"
	ts.store.addMessage(ts.acct.ID, bare)
	ts.store.addMessage(ts.acct.ID, noEOL)
	wantBare := "Subject: lf\r\n\r\nline one\r\nline two\r\n"
	wantNoEOL := noEOL + "\r\n"
	c := ts.login(t)
	c.expect("STAT", fmt.Sprintf("+OK 2 %d", len(wantBare)+len(wantNoEOL)))
	c.expect("LIST 1", fmt.Sprintf("+OK 1 %d", len(wantBare)))
	c.expect("RETR 1", fmt.Sprintf("+OK %d octets", len(wantBare)))
	if got := c.data(); got != wantBare {
		t.Fatalf("RETR 1: got %q, want %q", got, wantBare)
	}
	c.expect("RETR 2", fmt.Sprintf("+OK %d octets", len(wantNoEOL)))
	if got := c.data(); got != wantNoEOL {
		t.Fatalf("RETR 2: got %q, want %q", got, wantNoEOL)
	}
}

func TestTop(t *testing.T) {
	ts := newTestServer(t, nil)
	raw := "From: a@example.com\r\nSubject: top\r\n\r\nl1\r\nl2\r\nl3\r\nl4\r\nl5\r\n"
	ts.store.addMessage(ts.acct.ID, raw)
	ts.store.addMessage(ts.acct.ID, "Subject: header only\r\n")
	c := ts.login(t)

	c.expect("TOP 1 0", "+OK top of message follows")
	if got := c.data(); got != "From: a@example.com\r\nSubject: top\r\n\r\n" {
		t.Fatalf("TOP 1 0: %q", got)
	}
	c.expect("TOP 1 3", "+OK top of message follows")
	if got := c.data(); got != "From: a@example.com\r\nSubject: top\r\n\r\nl1\r\nl2\r\nl3\r\n" {
		t.Fatalf("TOP 1 3: %q", got)
	}
	c.expect("TOP 1 100", "+OK top of message follows")
	if got := c.data(); got != raw {
		t.Fatalf("TOP 1 100: %q", got)
	}
	c.expect("TOP 2 1", "+OK top of message follows")
	if got := c.data(); got != "Subject: header only\r\n" {
		t.Fatalf("TOP 2 1: %q", got)
	}
	c.expect("TOP 3 1", "-ERR no such message")
	c.expect("TOP 1", "-ERR invalid arguments")
	c.expect("TOP 1 -1", "-ERR invalid arguments")
	c.expect("TOP 1 x", "-ERR invalid arguments")
	// TOP marks nothing: the whole message is still there.
	c.expect("RETR 1", fmt.Sprintf("+OK %d octets", len(raw)))
	if got := c.data(); got != raw {
		t.Fatalf("RETR 1: %q", got)
	}
}

func TestRetrOfMessageExpungedElsewhere(t *testing.T) {
	ts := newTestServer(t, nil)
	uid := ts.store.addMessage(ts.acct.ID, msgShort)
	ts.store.addMessage(ts.acct.ID, msgFirst)
	c := ts.login(t)
	// An IMAP client expunges message 1 during the POP3 session.
	ts.store.Expunge(t.Context(), ts.store.inboxes[ts.acct.ID].mb.ID, []uint32{uid}, false)
	c.expect("RETR 1", "-ERR [SYS/TEMP] message no longer available")
	c.expect("STAT", fmt.Sprintf("+OK 2 %d", len(msgShort)+len(msgFirst)))
	c.expect("RETR 2", fmt.Sprintf("+OK %d octets", len(msgFirst)))
	c.data()
}

func TestWireSize(t *testing.T) {
	for _, tc := range []struct {
		raw  string
		want int64
	}{
		{"", 0},
		{"\r\n", 2},
		{"\n", 2},
		{"a", 3},
		{"a\nb", 6},
		{"a\r\nb\r\n", 6},
		{"a\r\r\n", 4}, // only one CR belongs to the line ending
	} {
		if got := wireSize([]byte(tc.raw)); got != tc.want {
			t.Errorf("wireSize(%q) = %d, want %d", tc.raw, got, tc.want)
		}
	}
}
