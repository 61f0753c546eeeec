package imapserver

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"
)

// sortMailbox delivers four messages whose orders differ by every key.
func sortMailbox(ts *testServer) {
	ts.deliver("", "From: Zed <zed@example.org>\nTo: carol@example.org\nCc: y@example.org\nDate: Tue, 3 Nov 2026 10:00:00 +0000\nSubject: Re: beta\n\nshort\n")
	ts.deliver("", "From: amy@example.org\nTo: Bob <bob@example.org>\nDate: Sun, 1 Nov 2026 10:00:00 +0000\nSubject: alpha\n\n"+
		"a longer body, longer than the others by a good margin\n")
	ts.deliver("", "From: =?UTF-8?Q?=C3=89mile?= <emile@example.org>\nTo: alice@example.org\nCc: x@example.org\nDate: Mon, 2 Nov 2026 10:00:00 +0000\nSubject: [list] Fwd: Beta\n\nmid size body\n")
	ts.deliver("", "From: bob@example.org\nSubject: gamma\n\nno date, no To\n")
}

// TestSortTranscript: SORT and UID SORT per RFC 5256, with SEARCH criteria,
// REVERSE, several keys and errors.
func TestSortTranscript(t *testing.T) {
	ts := startTestServer(t)
	sortMailbox(ts)
	tc := ts.login()
	hasLine(t, tc.transactf("ok", "capability"), " MULTIAPPEND SORT SORT=DISPLAY THREAD=ORDEREDSUBJECT THREAD=REFERENCES WITHIN ")
	tc.transactf("ok", "select INBOX")
	for _, tt := range []struct{ cmd, want string }{
		{"sort (arrival) utf-8 all", "* SORT 1 2 3 4"},
		{"sort (reverse arrival) utf-8 all", "* SORT 4 3 2 1"},
		// 4 has no Date: it sorts by its arrival, the latest.
		{"sort (date) us-ascii all", "* SORT 2 3 1 4"},
		{"sort (subject) utf-8 all", "* SORT 2 1 3 4"},
		{"sort (subject reverse date) utf-8 all", "* SORT 2 1 3 4"},
		{"sort (reverse subject date) utf-8 all", "* SORT 4 3 1 2"},
		{"sort (from) utf-8 all", "* SORT 2 4 3 1"},
		{"sort (displayfrom) utf-8 all", "* SORT 2 4 1 3"},
		{"sort (to) utf-8 all", "* SORT 4 3 2 1"},
		{"sort (displayto) utf-8 all", "* SORT 4 3 2 1"},
		{"sort (cc) utf-8 all", "* SORT 2 4 3 1"},
		{"sort (size) utf-8 all", "* SORT 4 1 2 3"},
		{"sort (subject) utf-8 not from bob", "* SORT 2 1 3"},
		{"sort (date) utf-8 2:3", "* SORT 2 3"},
		{"uid sort (reverse size) utf-8 all", "* SORT 3 2 1 4"},
		{"sort (arrival) utf-8 subject nothing-matches", "* SORT"},
	} {
		lines := tc.transactf("ok", "%s", tt.cmd)
		if len(lines) != 1 || lines[0] != tt.want {
			t.Errorf("%s: %q, want %q", tt.cmd, lines, tt.want)
		}
	}
	tc.transactf("bad", "sort () utf-8 all")
	tc.transactf("bad", "sort (reverse) utf-8 all")
	tc.transactf("bad", "sort (colour) utf-8 all")
	tc.transactf("bad", "sort (date) utf-8")
	tc.transactf("no", "sort (date) koi8-r all")
	if got := tc.lastTagged; !strings.Contains(got, "[BADCHARSET") {
		t.Errorf("bad charset: %q", got)
	}
}

// TestSortGoIMAP: an independent client's SORT.
func TestSortGoIMAP(t *testing.T) {
	ts := startTestServer(t)
	sortMailbox(ts)
	c := ts.goimapInbox()
	nums, err := c.UIDSort(&imapclient.SortOptions{
		SearchCriteria: &imap.SearchCriteria{NotFlag: []imap.Flag{imap.FlagDeleted}},
		SortCriteria:   []imapclient.SortCriterion{{Key: imapclient.SortKeySubject}, {Key: imapclient.SortKeyDate, Reverse: true}},
	}).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if want := []uint32{2, 1, 3, 4}; !slices.Equal(nums, want) {
		t.Fatalf("UID SORT (SUBJECT REVERSE DATE): %v, want %v", nums, want)
	}
}

// goimapInbox logs in with go-imap's client and selects INBOX.
func (ts *testServer) goimapInbox() *imapclient.Client {
	t := ts.t
	t.Helper()
	c, err := imapclient.DialInsecure(ts.addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Authenticate(sasl.NewPlainClient("", testUser, testPass)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestSortEnvelopeParity: SORT by header fields reads the Envelope of the
// trees stored at delivery; its order is the one parsing the header gives
// (the path taken when the search criteria read the header anyway, here
// NOT HEADER of a field no message has), on messages with encoded, folded,
// missing and repeated fields, groups, comments and bad dates.
func TestSortEnvelopeParity(t *testing.T) {
	t.Parallel()
	ts := startTestServer(t)
	for _, raw := range []string{
		"From: =?UTF-8?B?w4lsaWU=?= <elie@example.org>\r\nTo: team: a@example.org, b@example.org;\r\nSubject: =?UTF-8?Q?Re=3A_caf=C3=A9?=\r\nDate: Tue, 1 Dec 2026 10:00:00 +0100\r\n\r\nx\r\n",
		"From: \"Zed\" <z@example.org> (the boss)\r\nCc: undisclosed-recipients:;\r\nSubject: Fwd: [list] Hello (fwd)\r\nDate: 1 Dec 2026 08:00:00 -0500\r\n\r\nx\r\n",
		"Subject: no from, no date\r\n\r\nx\r\n",
		"From: b@example.org\r\nFrom: a@example.org\r\nTo: Bob <bob@example.org>, carol@example.org\r\nSubject: hello\r\n\tfolded\r\nDate: not a date\r\n\r\nx\r\n",
		"From: localuser\r\nTo: =?ISO-8859-1?Q?Andr=E9?= <andre@example.org>\r\nSubject: RE: re: Hello\r\nDate: Mon, 30 Nov 2026 23:59:59 +0000\r\n\r\nx\r\n",
		"From: Émile <emile@example.org>\r\nSubject: Ünïcode raw\r\nDate: Wed, 2 Dec 2026 00:00:00 GMT\r\n\r\nx\r\n",
		multipartMsg,
		"\r\nno header at all\r\n",
	} {
		ts.deliver("", raw)
	}
	tc := ts.login()
	tc.transactf("ok", "select inbox")
	sortOf := func(lines []string) string {
		s := find(parseResps(t, lines), "SORT")
		if len(s) != 1 {
			t.Fatalf("want one SORT: %q", lines)
		}
		return fmt.Sprint(s[0].items)
	}
	for _, crit := range []string{"subject", "date", "from", "to", "cc", "displayfrom", "displayto", "arrival",
		"reverse subject from", "cc reverse date", "displayto reverse displayfrom size"} {
		trees := sortOf(tc.transactf("ok", "uid sort (%s) utf-8 all", crit))
		headers := sortOf(tc.transactf("ok", `uid sort (%s) utf-8 not header x-no-such-field ""`, crit))
		if trees != headers {
			t.Errorf("SORT (%s): %s from stored envelopes, %s from parsed headers", crit, trees, headers)
		}
	}
}
