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
