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
		"RETURN (PARTIAL -1:-5 COUNT) ALL", "SAVEDBEFORE 1-Feb-2001 OR SAVEDATESUPPORTED SAVEDON 3-Mar-2020", "RETURN (PARTIAL 4294967295:1) 1:*",
		"ALL", "BODY[", "((((((((((((ALL))))))))))))", "YOUNGER 300 OLDER 0 NOT OLDER 99999999999999999999",
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
		} {
			br := bufio.NewReaderSize(strings.NewReader(s+"\r\n"), 4096)
			c := &conn{br: br, dec: imapwire.NewDecoder(br), sel: &view{}, qresync: true}
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
		"c getquotaroot inbox\r\nd getquota \"\"\r\ne setquota \"\" (storage 1)\r\nf copy 1:* Trash\r\ng status inbox (deleted-storage)\r\n",
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
			for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
				ts.srv.mu.Lock()
				_, live := ts.srv.conns[c]
				ts.srv.mu.Unlock()
				if !live {
					return
				}
			}
			t.Fatal("connection did not end")
		}()
		nc.SetDeadline(time.Now().Add(10 * time.Second))
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
