package pop3server

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/mailroom/mailroom/message"
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
	ts.store.Expunge(t.Context(), ts.store.inboxes[ts.acct.ID].mb.Ref(), []uint32{uid}, false)
	c.expect("RETR 1", "-ERR [SYS/TEMP] message no longer available")
	c.expect("STAT", fmt.Sprintf("+OK 2 %d", len(msgShort)+len(msgFirst)))
	c.expect("RETR 2", fmt.Sprintf("+OK %d octets", len(msgFirst)))
	c.data()
}

// unstuff undoes the dot-stuffing of multi-line data as read by
// client.data: what the client gets as the message.
func unstuff(data string) string {
	var b strings.Builder
	for line := range strings.SplitAfterSeq(data, "\r\n") {
		b.WriteString(strings.TrimPrefix(line, "."))
	}
	return b.String()
}

// TestStatListNoBodyReads: STAT, LIST and UIDL answer from the metadata
// (the size the store counted at delivery) without reading a body, and
// agree with what RETR then sends.
func TestStatListNoBodyReads(t *testing.T) {
	ts := newTestServer(t, nil)
	raws := []string{"Subject: lf\n\n.dot\nline\n", "Subject: eol\r\n\r\nno final newline", "Subject: cr\r\n\r\na\rb\n"}
	total := 0
	for _, raw := range raws {
		ts.store.addMessage(ts.acct.ID, raw)
		total += int(message.CRLFSize([]byte(raw)))
	}
	c := ts.login(t)
	c.expect("STAT", fmt.Sprintf("+OK 3 %d", total))
	c.expect("LIST", fmt.Sprintf("+OK 3 messages (%d octets)", total))
	sizes := c.lines()
	c.expect("LIST 2", "+OK "+sizes[1])
	c.expect("UIDL", "+OK unique-id listing follows")
	c.lines()
	c.expect("DELE 1", "+OK message 1 deleted")
	c.expect("RSET", fmt.Sprintf("+OK maildrop has 3 messages (%d octets)", total))
	if n := ts.store.reads(); n != 0 {
		t.Fatalf("STAT/LIST/UIDL/RSET read %d bodies", n)
	}
	for i := range raws {
		var n, sz int
		fmt.Sscanf(sizes[i], "%d %d", &n, &sz)
		c.expect(fmt.Sprintf("RETR %d", i+1), fmt.Sprintf("+OK %d octets", sz))
		if got := unstuff(c.data()); len(got) != sz {
			t.Errorf("message %d: LIST says %d octets, RETR sent %d (%q)", i+1, sz, len(got), got)
		}
	}
}

// TestStatLegacySizes: a message whose WireSize the store does not know
// (written by an older program) is sized from its body.
func TestStatLegacySizes(t *testing.T) {
	ts := newTestServer(t, nil)
	bare := "Subject: lf\n\nline\n"
	ts.store.addLegacyMessage(ts.acct.ID, bare)
	ts.store.addMessage(ts.acct.ID, bare)
	c := ts.login(t)
	want := 2 * len("Subject: lf\r\n\r\nline\r\n")
	c.expect("STAT", fmt.Sprintf("+OK 2 %d", want))
	c.expect("LIST 1", fmt.Sprintf("+OK 1 %d", want/2))
	if n := ts.store.reads(); n != 1 {
		t.Fatalf("%d body reads, want 1 batch", n)
	}
}

// FuzzRetrSize: the size STAT and LIST report (message.CRLFSize) is the
// octet count of what RETR sends once the client undoes dot-stuffing.
func FuzzRetrSize(f *testing.F) {
	for _, s := range []string{"", "\n", "\r", "\r\n", ".", ".\r\n..\n", "a\nb\r\nc", "a\r\r\n", "\n\r\n.\r"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var b bytes.Buffer
		w := bufio.NewWriter(&b)
		writeMessage(w, raw, -1)
		w.Flush()
		out, ok := strings.CutSuffix(b.String(), ".\r\n")
		if !ok {
			t.Fatalf("no terminator in %q", b.String())
		}
		if got, want := int64(len(unstuff(out))), message.CRLFSize(raw); got != want {
			t.Fatalf("RETR of %q sends %d octets, CRLFSize says %d", raw, got, want)
		}
	})
}

// FuzzWriteWhole: RETR's one-pass writer sends exactly what writing the
// message line by line (each line's ending as CRLF, a leading "."
// doubled) sends, and counts the same lines.
func FuzzWriteWhole(f *testing.F) {
	for _, s := range []string{"", "\n", "\r", "\r\n", ".", "..", ".\r\n..\n", "a\nb\r\nc", "a\r\r\n", "\n\r\n.\r", "x\n.\n.", "\r\n\r\n.\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var got, want bytes.Buffer
		gw, ww := bufio.NewWriterSize(&got, 16), bufio.NewWriter(&want)
		n := writeWhole(gw, raw)
		gw.Flush()
		lines := 0
		eachLine(raw, func(line []byte) bool {
			writeDataLine(ww, line)
			lines++
			return true
		})
		ww.WriteString(".\r\n")
		ww.Flush()
		if got.String() != want.String() || n != lines {
			t.Fatalf("writeWhole(%q) = %q, %d lines; line by line %q, %d", raw, got.String(), n, want.String(), lines)
		}
	})
}
