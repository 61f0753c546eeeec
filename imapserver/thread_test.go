package imapserver

import (
	"fmt"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// threadMailbox delivers a discussion with a reply to a message that was
// never received, a reply by subject only, and an unrelated message.
func threadMailbox(ts *testServer) {
	for _, m := range []struct{ id, refs, inReplyTo, subject, date string }{
		{"<a@x>", "", "", "Plan", "01"},
		{"<b@x>", "<a@x>", "<a@x>", "Re: Plan", "02"},
		{"<c@x>", "", "", "Other", "03"},
		{"<d@x>", "<a@x> <b@x>", "<b@x>", "Re: Plan", "04"},
		{"<e@x>", "", "<a@x>", "Re: Plan", "05"}, // In-Reply-To only
		{"<f@x>", "<gone@x>", "", "Re: Lost", "06"},
		{"<g@x>", "<gone@x>", "", "Re: Lost", "07"},
		{"<h@x>", "", "", "Re: Other", "08"}, // subject only
	} {
		raw := fmt.Sprintf("Message-ID: %s\nSubject: %s\nDate: %s Nov 2026 10:00:00 +0000\n", m.id, m.subject, m.date)
		if m.refs != "" {
			raw += "References: " + m.refs + "\n"
		}
		if m.inReplyTo != "" {
			raw += "In-Reply-To: " + m.inReplyTo + "\n"
		}
		ts.deliver("", raw+"\nbody\n")
	}
}

func TestThreadTranscript(t *testing.T) {
	ts := startTestServer(t)
	threadMailbox(ts)
	tc := ts.login()
	hasLine(t, tc.transactf("ok", "capability"), " THREAD=ORDEREDSUBJECT THREAD=REFERENCES")
	tc.transactf("ok", "select INBOX")
	for _, tt := range []struct{ cmd, want string }{
		{"thread references utf-8 all", "* THREAD (1 (2 4)(5))(3 8)((6)(7))"},
		{"uid thread references us-ascii all", "* THREAD (1 (2 4)(5))(3 8)((6)(7))"},
		{"thread references utf-8 not 1", "* THREAD ((2 4)(5))(3 8)((6)(7))"},
		{"thread orderedsubject utf-8 all", "* THREAD (1 (2)(4)(5))(3 8)(6 7)"},
		{"thread references utf-8 subject nothing", "* THREAD"},
	} {
		lines := tc.transactf("ok", "%s", tt.cmd)
		if len(lines) != 1 || lines[0] != tt.want {
			t.Errorf("%s: %q, want %q", tt.cmd, lines, tt.want)
		}
	}
	tc.transactf("bad", "thread jwz utf-8 all")
	tc.transactf("bad", "thread references utf-8")
	tc.transactf("no", "thread references latin1 all")
}

func TestThreadGoIMAP(t *testing.T) {
	ts := startTestServer(t)
	threadMailbox(ts)
	c := ts.goimapInbox()
	threads, err := c.UIDThread(&imapclient.ThreadOptions{
		Algorithm:      imap.ThreadReferences,
		SearchCriteria: &imap.SearchCriteria{},
	}).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(threads); got != "[{[1] [{[2 4] []} {[5] []}]} {[3 8] []} {[] [{[6] []} {[7] []}]}]" {
		t.Fatalf("UID THREAD REFERENCES: %s", got)
	}
}

// TestSortThreadReadHeadersOnly: SORT by a header key reads the trees
// stored at delivery (their root Envelope) and THREAD the messages'
// stored headers, not their bodies, unless the search criteria need the
// bodies; a SORT whose criteria read the header takes the Envelope from
// that header rather than reading the trees too.
func TestSortThreadReadHeadersOnly(t *testing.T) {
	hs, tc := threadMailboxCounted(t)
	hasLine(t, tc.transactf("ok", "sort (subject date) utf-8 all"), "* SORT 6 7 3 8 1 2 4 5")
	if tr, h := hs.trees.Load(), hs.headers.Load(); tr != 1 || h != 0 {
		t.Errorf("SORT: %d ListParts, %d ListHeaders; want 1 ListParts only", tr, h)
	}
	hasLine(t, tc.transactf("ok", "sort (subject date) utf-8 not header x-none \"\""), "* SORT 6 7 3 8 1 2 4 5")
	if tr, h := hs.trees.Load(), hs.headers.Load(); tr != 1 || h != 1 {
		t.Errorf("SORT with a header key: %d ListParts, %d ListHeaders; want still 1 and 1", tr, h)
	}
	hasLine(t, tc.transactf("ok", "thread references utf-8 all"), "* THREAD (1 (2 4)(5))(3 8)((6)(7))")
	if b, l, p, h := hs.bodies.Load(), hs.lists.Load(), hs.parts.Load(), hs.headers.Load(); b+l+p != 0 || h != 2 {
		t.Errorf("SORT+THREAD: %d MessageBody, %d ListBodies, %d MessagePart, %d ListHeaders; want only 2 ListHeaders", b, l, p, h)
	}
	// A body criterion the full-text index answers exactly reads only
	// the headers of its hits.
	hasLine(t, tc.transactf("ok", "thread references utf-8 body body"), "* THREAD (1 (2 4)(5))(3 8)((6)(7))")
	if hs.lists.Load() != 0 || hs.headers.Load() != 3 {
		t.Errorf("THREAD with BODY: %d ListBodies, %d ListHeaders; want 0 and 3", hs.lists.Load(), hs.headers.Load())
	}
	// One it cannot look up (too short) reads bodies, which carry the
	// header too.
	hasLine(t, tc.transactf("ok", "thread references utf-8 body bo"), "* THREAD (1 (2 4)(5))(3 8)((6)(7))")
	if hs.lists.Load() != 1 || hs.headers.Load() != 3 {
		t.Errorf("THREAD with BODY bo: %d ListBodies, %d ListHeaders; want 1 and still 3", hs.lists.Load(), hs.headers.Load())
	}
}

// TestSearchHeaderKeysReadHeadersOnly: SEARCH on header fields and the
// sent date reads the stored headers, not the bodies.
func TestSearchHeaderKeysReadHeadersOnly(t *testing.T) {
	hs, tc := threadMailboxCounted(t)
	hasLine(t, tc.transactf("ok", "search subject lost"), "* SEARCH 6 7")
	hasLine(t, tc.transactf("ok", "search header references <gone@x>"), "* SEARCH 6 7")
	hasLine(t, tc.transactf("ok", "search sentbefore 3-Nov-2026 not subject other"), "* SEARCH 1 2")
	if b, l, p, h := hs.bodies.Load(), hs.lists.Load(), hs.parts.Load(), hs.headers.Load(); b+l+p != 0 || h != 3 {
		t.Errorf("header searches: %d MessageBody, %d ListBodies, %d MessagePart, %d ListHeaders; want only 3 ListHeaders", b, l, p, h)
	}
}

// threadMailboxCounted serves threadMailbox through a store that counts
// byte reads, with INBOX selected and the counts at zero.
func threadMailboxCounted(t *testing.T) (*headerReadStore, *testConn) {
	hs := &headerReadStore{}
	ts := startTestServer(t, func(c *Config) { hs.Store = c.Store; c.Store = hs })
	threadMailbox(ts)
	tc := ts.login()
	tc.transactf("ok", "select INBOX")
	hs.lists.Store(0)
	hs.bodies.Store(0)
	hs.parts.Store(0)
	hs.headers.Store(0)
	return hs, tc
}
