package imapserver

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"
)

// TestGoIMAPClient drives the server with an independent client.
func TestGoIMAPClient(t *testing.T) {
	ts := startTestServer(t)
	ts.deliver("", multipartMsg)
	ts.deliver("", simpleMsg)
	exists := make(chan uint32, 10)
	c, err := imapclient.DialInsecure(ts.addr, &imapclient.Options{
		UnilateralDataHandler: &imapclient.UnilateralDataHandler{
			Mailbox: func(d *imapclient.UnilateralDataMailbox) {
				if d.NumMessages != nil {
					exists <- *d.NumMessages
				}
			},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Authenticate(sasl.NewPlainClient("", testUser, testPass)); err != nil {
		t.Fatalf("authenticate: %v", err)
	}
	if !c.Caps().Has(imap.CapIMAP4rev2) || !c.Caps().Has(imap.CapMove) {
		t.Fatalf("caps %v", c.Caps())
	}
	mboxes, err := c.List("", "*", &imap.ListOptions{ReturnStatus: &imap.StatusOptions{NumMessages: true}}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	if len(mboxes) != 6 || mboxes[0].Mailbox != "Archive" {
		t.Fatalf("list: %+v", mboxes)
	}
	for _, m := range mboxes {
		if m.Mailbox == "INBOX" && (m.Status == nil || *m.Status.NumMessages != 2) {
			t.Fatalf("list-status: %+v", m)
		}
	}
	sel, err := c.Select("INBOX", nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if sel.NumMessages != 2 || sel.UIDNext != 3 {
		t.Fatalf("select: %+v", sel)
	}

	sect := &imap.FetchItemBodySection{Part: []int{2}, Peek: true}
	bin := &imap.FetchItemBinarySection{Part: []int{2}, Peek: true}
	hdr := &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, HeaderFields: []string{"Subject"}, Peek: true}
	msgs, err := c.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{
		UID: true, Flags: true, Envelope: true, BodyStructure: &imap.FetchItemBodyStructure{Extended: true},
		BodySection: []*imap.FetchItemBodySection{sect, hdr}, BinarySection: []*imap.FetchItemBinarySection{bin},
		RFC822Size: true, InternalDate: true,
	}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	m := msgs[0]
	if m.Envelope == nil || m.Envelope.Subject != "files" || m.Envelope.From[0].Host != "example.org" {
		t.Fatalf("envelope %+v", m.Envelope)
	}
	mp, ok := m.BodyStructure.(*imap.BodyStructureMultiPart)
	if !ok || !strings.EqualFold(mp.Subtype, "mixed") || len(mp.Children) != 2 {
		t.Fatalf("bodystructure %#v", m.BodyStructure)
	}
	if sp := mp.Children[1].(*imap.BodyStructureSinglePart); !strings.EqualFold(sp.Encoding, "base64") || sp.Filename() != "foo.txt" {
		t.Fatalf("part 2 %#v", sp)
	}
	if got := m.FindBodySection(sect); string(got) != "YmFy" {
		t.Fatalf("BODY[2] %q", got)
	}
	if got := m.FindBinarySection(bin); string(got) != "bar" {
		t.Fatalf("BINARY[2] %q", got)
	}
	if got := m.FindBodySection(hdr); !bytes.Contains(got, []byte("Subject: files")) {
		t.Fatalf("header %q", got)
	}

	if err := c.Store(imap.SeqSetNum(2), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagFlagged}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	sr, err := c.UIDSearch(&imap.SearchCriteria{Flag: []imap.Flag{imap.FlagFlagged}}, nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if uids := sr.AllUIDs(); len(uids) != 1 || uids[0] != 2 {
		t.Fatalf("search %+v", sr)
	}
	sr, err = c.Search(&imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "Subject", Value: "hello"}}}, nil).Wait()
	if err != nil || len(sr.AllSeqNums()) != 1 || sr.AllSeqNums()[0] != 2 {
		t.Fatalf("search subject %+v %v", sr, err)
	}

	md, err := c.Move(imap.SeqSetNum(1), "Archive").Wait()
	if err != nil {
		t.Fatal(err)
	}
	if md.UIDValidity == 0 || md.DestUIDs.String() != "1" {
		t.Fatalf("move %+v", md)
	}
	st, err := c.Status("Archive", &imap.StatusOptions{NumMessages: true, UIDNext: true}).Wait()
	if err != nil || *st.NumMessages != 1 {
		t.Fatalf("status %+v %v", st, err)
	}

	idle, err := c.Idle()
	if err != nil {
		t.Fatal(err)
	}
	for len(exists) > 0 {
		<-exists
	}
	ts.deliver("", simpleMsg)
	select {
	case n := <-exists:
		if n != 2 {
			t.Fatalf("EXISTS %d", n)
		}
	case <-time.After(30 * time.Second): // a hang guard
		t.Fatal("no EXISTS during IDLE")
	}
	if err := idle.Close(); err != nil {
		t.Fatal(err)
	}
	if err := idle.Wait(); err != nil {
		t.Fatal(err)
	}
	if err := c.Logout().Wait(); err != nil {
		t.Fatal(err)
	}
}
