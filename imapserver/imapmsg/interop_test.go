package imapmsg

import (
	"bufio"
	"net"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/mailroom/mailroom/message"
)

// fetchWithClient serves one FETCH response carrying item over a pipe to
// go-imap's client, as an independent parser of what we render.
func fetchWithClient(t *testing.T, item string, opts *imap.FetchOptions) *imapclient.FetchMessageBuffer {
	t.Helper()
	srv, cli := net.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer srv.Close()
		r := bufio.NewReader(srv)
		if _, err := srv.Write([]byte("* OK [CAPABILITY IMAP4rev1] ready\r\n")); err != nil {
			return
		}
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			tag, rest, _ := strings.Cut(line, " ")
			out := tag + " OK done\r\n"
			if strings.HasPrefix(strings.ToUpper(rest), "FETCH") {
				out = "* 1 FETCH (" + item + ")\r\n" + out
			}
			if _, err := srv.Write([]byte(out)); err != nil {
				return
			}
		}
	}()
	c := imapclient.New(cli, nil)
	defer func() {
		c.Close()
		<-done
	}()
	msgs, err := c.Fetch(imap.SeqSetNum(1), opts).Collect()
	if err != nil {
		t.Fatalf("go-imap client rejects %q: %v", item, err)
	}
	if len(msgs) != 1 {
		t.Fatalf("got %d messages", len(msgs))
	}
	return msgs[0]
}

func TestInteropBodyStructure(t *testing.T) {
	p := message.Parse([]byte(walkthroughMsg))
	item := "BODYSTRUCTURE " + string(AppendBodyStructure(nil, p, true))
	m := fetchWithClient(t, item, &imap.FetchOptions{BodyStructure: &imap.FetchItemBodyStructure{Extended: true}})
	mp, ok := m.BodyStructure.(*imap.BodyStructureMultiPart)
	if !ok || len(mp.Children) != 2 || mp.MediaType() != "multipart/mixed" {
		t.Fatalf("body structure = %#v", m.BodyStructure)
	}
	if mp.Extended == nil || mp.Extended.Params["boundary"] != "------------030709070003020306050102" {
		t.Errorf("multipart extension = %#v", mp.Extended)
	}
	att, ok := mp.Children[1].(*imap.BodyStructureSinglePart)
	if !ok || att.MediaType() != "text/plain" || !strings.EqualFold(att.Encoding, "base64") || att.Size != 4 {
		t.Fatalf("attachment = %#v", mp.Children[1])
	}
	if att.Filename() != "foo.txt" {
		t.Errorf("attachment filename = %q", att.Filename())
	}
}

func TestInteropNested(t *testing.T) {
	raw := strings.Replace(nestedMsg, "Subject: =?UTF-8?B?R3LDvMOfZQ==?= from the team", "Subject: Grüße \"from\" the team", 1)
	p := message.Parse([]byte(raw))
	item := "ENVELOPE " + string(AppendEnvelope(nil, p.Envelope)) + " BODY " + string(AppendBodyStructure(nil, p, false))
	m := fetchWithClient(t, item, &imap.FetchOptions{Envelope: true, BodyStructure: &imap.FetchItemBodyStructure{}})
	if m.Envelope == nil || m.Envelope.Subject != `Grüße "from" the team` {
		t.Fatalf("envelope = %#v", m.Envelope)
	}
	if len(m.Envelope.To) != 4 || m.Envelope.To[1].Mailbox != "ann" || m.Envelope.Sender[0].Host != "example.org" {
		t.Errorf("envelope addresses = %#v / %#v", m.Envelope.To, m.Envelope.Sender)
	}
	mp, ok := m.BodyStructure.(*imap.BodyStructureMultiPart)
	if !ok || len(mp.Children) != 2 {
		t.Fatalf("body = %#v", m.BodyStructure)
	}
	msg, ok := mp.Children[1].(*imap.BodyStructureSinglePart)
	if !ok || msg.MessageRFC822 == nil || msg.MessageRFC822.Envelope.Subject != "inner subject" || msg.MessageRFC822.NumLines != 13 {
		t.Fatalf("embedded message = %#v", mp.Children[1])
	}
	inner, ok := msg.MessageRFC822.BodyStructure.(*imap.BodyStructureMultiPart)
	if !ok || inner.MediaType() != "multipart/alternative" || len(inner.Children) != 2 {
		t.Errorf("embedded body = %#v", msg.MessageRFC822.BodyStructure)
	}
}
