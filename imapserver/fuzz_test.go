package imapserver

import (
	"bufio"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/mailroom/mailroom/imapserver/imapwire"
)

// FuzzCommandParse feeds arbitrary bytes to the argument parsers of FETCH,
// SEARCH, STORE-style flag lists and LIST/SELECT parameters.
func FuzzCommandParse(f *testing.F) {
	for _, s := range []string{
		"(FLAGS BODY.PEEK[1.HEADER.FIELDS (From To)]<0.10> BINARY[2] MODSEQ)",
		"RETURN (MIN SAVE) CHARSET UTF-8 OR (FROM a TO b) NOT HEADER x {1+}\r\ny",
		"MODSEQ \"/flags/\\\\seen\" all 5 UID 1:*,$ SINCE 1-Feb-1994",
		"(\\Seen $Label)", "(CONDSTORE) (QRESYNC (1 2 1:5 (1 2)))",
		"RETURN (PARTIAL -1:-5 COUNT) ALL", "RETURN (UPDATE CONTEXT PARTIAL 1:5 UPDATE) UNSEEN", "RETURN (CONTEXT COUNT UPDATE) 1:2", "SAVEDBEFORE 1-Feb-2001 OR SAVEDATESUPPORTED SAVEDON 3-Mar-2020", "RETURN (PARTIAL 4294967295:1) 1:*",
		"ALL", "BODY[", "((((((((((((ALL))))))))))))", "YOUNGER 300 OLDER 0 NOT OLDER 99999999999999999999",
		" (MAXSIZE 10 DEPTH infinity) \"\" (/private/a /shared/B)", " INBOX (depth 1) /private/x", "/private/a/b",
		"imap://a%40b@h:143/INBOX;UIDVALIDITY=5/;UID=1/;SECTION=1.2/;PARTIAL=0.4;EXPIRE=2030-01-01T00:00:00Z;URLAUTH=user+a%40b:INTERNAL:0123456789abcdef0123456789abcdef",
		" SET STATUS (selected (MessageNew MessageExpunge FlagChange)) (subtree (a b/c) (MessageNew MessageExpunge)) (personal NONE)",
		" SET (selected-delayed (MessageNew (UID BODY.PEEK[HEADER.FIELDS (Subject)]<0.10> RFC822) MessageExpunge)) (inboxes (MailboxMetadataChange ServerMetadataChange))",
		" SET (selected (MessageNew ( MessageExpunge)) (mailboxes x (MessageNew (UID) MessageExpunge))",
		" (\"imap://x@h/a/;uid=1;urlauth=anonymous\" BODYPARTSTRUCTURE BINARY) \"imap://x@h/b/;UID=2;URLAUTH=authuser:internal:00\"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, parse := range []func(c *conn) error{
			func(c *conn) error { _, err := c.fetchAtts(); return err },
			func(c *conn) error {
				var r searchReturn
				first, err := c.searchPrefix(&r)
				if err == nil {
					_, err = c.searchKeys(first)
				}
				return err
			},
			func(c *conn) error { _, err := c.flagList(); return err },
			func(c *conn) error { _, err := c.parseQresync(); return err },
			func(c *conn) error { var o listOpts; return c.listReturn(&o) },
			func(c *conn) error { _, err := c.fetchModifiersArg(&command{uid: true}); return err },
			func(c *conn) error { _, err := c.parseGetMetadata(); return err }, // metadata.go
			func(c *conn) error { _, err := parseEntryName(s, 64, true); return err },
			func(c *conn) error { _, err := parseIMAPURL(s, true); return err }, // urlauth.go
			func(c *conn) error { _, err := parseIMAPURL(s, false); return err },
			func(c *conn) error { _, err := c.parseURLFetch(); return err },
			func(c *conn) error { _, _, err := c.parseNotify(); return err }, // notify.go
		} {
			br := bufio.NewReaderSize(strings.NewReader(s+"\r\n"), 4096)
			c := &conn{br: br, dec: imapwire.NewDecoder(br), sel: &view{}, qresync: true}
			c.lim.normalize()
			c.dec.MaxLiteralSize = 1000
			if err := parse(c); err == nil {
				c.dec.CRLF()
			}
			c.dec.Discard()
		}
	})
}

// FuzzCommandLoop runs arbitrary input through an authenticated session
// with a selected mailbox: the server must neither crash nor hang. The
// session starts logged in (password hashing under fuzz instrumentation is
// too slow to do per input).
func FuzzCommandLoop(f *testing.F) {
	for _, s := range []string{
		"c fetch 1:* (flags body[] binary[1] bodystructure envelope)\r\n",
		"c store 1 +flags (\\Deleted)\r\nd expunge\r\ne search all\r\n",
		"c idle\r\nDONE\r\n", "c append inbox {3+}\r\nabc\r\n", "c uid move 1:* Trash\r\n",
		"c list (subscribed) \"\" * return (status (messages))\r\n", "c select inbox (qresync (1 1))\r\n",
		"c authenticate plain\r\n*\r\n", "{99999999999}\r\n", "c search charset x\r\n",
		"c enable qresync\r\nd create x/y\r\ne rename x z\r\nf delete z/y\r\n",
		"c sort (reverse subject date displayfrom) utf-8 or from a not seen\r\nd uid sort (size) us-ascii 1:*\r\n",
		"c thread references utf-8 all\r\nd uid thread orderedsubject us-ascii younger 60\r\n",
		"c setmetadata inbox (/private/a {2+}\r\nxy /shared/b NIL /private/c ~{1+}\r\n\x00)\r\nd getmetadata (depth infinity maxsize 1) inbox /private\r\n",
		"c genurlauth \"imap://mjl%40example.org@mail.example.org/INBOX/;UID=1;URLAUTH=anonymous\" INTERNAL\r\nd urlfetch (\"imap://x@h/INBOX/;UID=1;URLAUTH=anonymous:INTERNAL:0000\" BINARY)\r\ne resetkey inbox\r\n",
		"c notify set status (selected (MessageNew MessageExpunge)) (personal (MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange))\r\nd create q\r\ne append Archive {1+}\r\nx\r\nf notify none\r\n",
		"c select inbox\r\nd notify set (selected (MessageNew (UID FLAGS BODY[TEXT]) MessageExpunge)) (personal (MailboxMetadataChange ServerMetadataChange))\r\ne append inbox {1+}\r\nx\r\nf setmetadata \"\" (/private/a \"b\")\r\ng notify set (personal (MessageNew MessageExpunge))\r\nh noop\r\n",
		"c getquotaroot inbox\r\nd getquota \"\"\r\ne setquota \"\" (storage 1)\r\nf copy 1:* Trash\r\ng status inbox (deleted-storage)\r\n",
		"c setacl inbox bob@example.org +lrc\r\nd getacl inbox\r\ne deleteacl inbox anyone\r\nf listrights inbox bob@example.org\r\ng myrights inbox\r\n",
		"c list \"\" * return (myrights status (messages))\r\nd setacl inbox \"-x\" \"-d\"\r\n",
		"c search return (update count) unseen\r\nd uid sort return (update partial 1:2) (subject) utf-8 all\r\ne store 1 +flags (\\Seen)\r\nf cancelupdate \"c\" \"d\"\r\ng cancelupdate \"c\"\r\n",
	} {
		f.Add(s)
	}
	ts := startTestServer(f)
	ts.deliver("", multipartMsg)
	ts.deliver("", simpleMsg)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.Fatal(err)
	}
	defer l.Close()
	f.Fuzz(func(t *testing.T, s string) {
		nc, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		sc, err := l.Accept()
		if err != nil {
			t.Fatal(err)
		}
		c := newConn(ts.srv, sc)
		c.loggedIn(ts.acct)
		ts.srv.mu.Lock()
		ts.srv.conns[c] = struct{}{}
		ts.srv.wg.Add(1)
		ts.srv.mu.Unlock()
		go c.serve(nil)
		defer func() { // the connection ends (on whichever goroutine it moved to)
			for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
				ts.srv.mu.Lock()
				_, live := ts.srv.conns[c]
				ts.srv.mu.Unlock()
				if !live {
					return
				}
			}
			t.Fatal("connection did not end")
		}()
		nc.SetDeadline(time.Now().Add(30 * time.Second))
		go func() {
			io.WriteString(nc, "b select inbox\r\n"+s+"\r\nz logout\r\n")
			nc.(*net.TCPConn).CloseWrite()
		}()
		out, err := io.ReadAll(nc)
		if err != nil {
			t.Fatalf("read: %v (after %q)", err, out)
		}
		if !strings.Contains(string(out), "b OK") {
			t.Fatalf("no select: %q", out)
		}
	})
}
