package imapserver

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/mailroom/mailroom/imapserver/imapmsg"
	"github.com/mailroom/mailroom/message"
)

// storedTreeRaws is a varied corpus of MIME structures: FETCH answers
// from the trees stored at delivery must be those of a fresh parse.
var storedTreeRaws = append([]string{
	"From: \"Alice A.\" <a@example.org>\r\nTo: undisclosed-recipients:;\r\nCc: Team: b@example.org, \"C\" <c@example.org>;, d@example.org\r\nSubject: =?utf-8?q?caf=C3=A9?=\r\nDate: Thu, 26 Nov 2026 09:00:00 +0000\r\nMessage-ID: <1@example.org>\r\nIn-Reply-To: <0@example.org>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\npreamble\r\n--b1\r\nContent-Type: multipart/alternative; boundary=b2\r\n\r\n--b2\r\nContent-Type: text/plain; charset=utf-8; format=flowed\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\ncaf=C3=A9\r\n--b2\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>caf\xc3\xa9</p>\r\n--b2--\r\n--b1\r\nContent-Type: application/pdf; name*0=\"long \"; name*1=\"name.pdf\"\r\nContent-Disposition: attachment; filename*=utf-8''%E2%82%AC.pdf; size=3\r\nContent-Transfer-Encoding: base64\r\nContent-ID: <pdf@example.org>\r\nContent-Description: a PDF\r\nContent-Language: en, de\r\nContent-Location: http://example.org/a.pdf\r\nContent-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==\r\n\r\nQUJD\r\n--b1\r\nContent-Type: message/rfc822\r\n\r\nFrom: inner@example.net\r\nSubject: inner\r\nContent-Type: multipart/related; boundary=r\r\n\r\n--r\r\nContent-Type: text/plain\r\n\r\ninner text\r\n--r\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n--r--\r\n--b1--\r\nepilogue\r\n",
	"Subject: bare LF\nContent-Type: multipart/digest; boundary=d\n\n--d\n\nSubject: digest 1\n\none\n--d\nContent-Type: text/plain\n\ntwo\n--d--\n",
	"Subject: forwarded in base64\r\nContent-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\nU3ViamVjdDogeA0KDQp4DQo=\r\n",
	"Subject: global\r\nContent-Type: message/global\r\n\r\nSubject: =?utf-8?b?w6k=?=\r\n\r\nbody\r\n",
	"Subject: no boundary\r\nContent-Type: multipart/mixed\r\n\r\ntext\r\n",
	"Subject: unterminated\r\nContent-Type: multipart/mixed; boundary=u\r\n\r\n--u\r\n\r\nfirst\r\n--u\r\nContent-Type: text/x-other; charset=\"ISO-8859-1\"\r\n\r\nsecond, never closed\r\n",
	"Subject: bad type\r\nContent-Type: /;;;\r\n\r\nbody",
	"\r\nno header at all\r\n",
	"not a header line\r\nSubject: x\r\n\r\nbody\r\n",
	"",
	"Subject: nul \x00 bytes\r\nContent-Type: application/octet-stream\r\n\r\n\x00\x01\x02",
	"From: a@example.org\r\nSubject: mixed endings\r\nContent-Type: multipart/mixed; boundary=m\r\n\r\n--m\n\nlf part\n--m\r\n\r\ncrlf part\r\n--m--",
	"Subject: folded\r\n header\r\nFrom: =?iso-8859-1?q?J=F6rg?= <j@example.org>\r\nReply-To: <r@example.org>\r\nSender: s@example.org\r\nBcc: hidden@example.org\r\n\r\nbody\r\n",
	deepMultipart(60),
}, strings.Repeat("large body line\r\n", 1), "Subject: large\r\nContent-Type: multipart/mixed; boundary=L\r\n\r\n--L\r\nContent-Type: text/plain\r\n\r\n"+strings.Repeat("0123456789abcdef\r\n", 70000)+"--L\r\nContent-Type: application/zip\r\nContent-Transfer-Encoding: base64\r\n\r\nUEsDBA==\r\n--L--\r\n")

// deepMultipart nests n multiparts, past message.MaxDepth.
func deepMultipart(n int) string {
	var b strings.Builder
	b.WriteString("Subject: deep\r\n")
	for i := range n {
		fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=d%d\r\n\r\n--d%d\r\n", i, i)
	}
	b.WriteString("Content-Type: text/plain\r\n\r\ninnermost\r\n")
	for i := n - 1; i >= 0; i-- {
		fmt.Fprintf(&b, "--d%d--\r\n", i)
	}
	return b.String()
}

// TestStoredTreeAnswers: FETCH of BODYSTRUCTURE, BODY and ENVELOPE (read
// from the stored trees alone), and of sections and MIME headers of
// parts (bytes and stored trees), answer byte for byte what imapmsg
// renders from message.Parse of the bytes, on a varied corpus.
func TestStoredTreeAnswers(t *testing.T) {
	t.Parallel()
	ts := startTestServer(t)
	for _, raw := range storedTreeRaws {
		deliverAsIs(t, ts, raw)
	}
	tc := ts.login()
	tc.transactf("ok", "select INBOX")
	literal := func(b []byte) string { return "{" + strconv.Itoa(len(b)) + "}\r\n" + string(b) }
	sections := []string{"1", "1.MIME", "2", "1.2", "2.1", "3.1", "TEXT", "HEADER", "3.HEADER", "3.TEXT"}
	for _, q := range []struct {
		items string
		want  func(raw []byte, p *message.Part) string
	}{
		{"BODYSTRUCTURE ENVELOPE BODY", func(_ []byte, p *message.Part) string {
			return "BODYSTRUCTURE " + string(imapmsg.AppendBodyStructure(nil, p, true)) +
				" ENVELOPE " + string(imapmsg.AppendEnvelope(nil, p.Envelope)) +
				" BODY " + string(imapmsg.AppendBodyStructure(nil, p, false))
		}},
		{"ENVELOPE", func(_ []byte, p *message.Part) string {
			return "ENVELOPE " + string(imapmsg.AppendEnvelope(nil, p.Envelope))
		}},
		{"BODYSTRUCTURE BODY.PEEK[" + strings.Join(sections, "] BODY.PEEK[") + "]", func(raw []byte, p *message.Part) string {
			out := "BODYSTRUCTURE " + string(imapmsg.AppendBodyStructure(nil, p, true))
			for _, s := range sections {
				sec, err := imapmsg.ParseSection(s)
				if err != nil {
					t.Fatal(err)
				}
				b, err := imapmsg.SectionBytes(raw, p, sec)
				if errors.Is(err, imapmsg.ErrNoSuchPart) {
					b, err = []byte{}, nil
				}
				if err != nil {
					t.Fatal(err)
				}
				out += " BODY[" + s + "] " + literal(b)
			}
			return out
		}},
		{"ENVELOPE BODY.PEEK[HEADER.FIELDS (SUBJECT)]", func(raw []byte, p *message.Part) string {
			b, _ := imapmsg.SectionBytes(raw, p, imapmsg.Section{Specifier: imapmsg.SpecHeaderFields, Fields: []string{"SUBJECT"}})
			return "ENVELOPE " + string(imapmsg.AppendEnvelope(nil, p.Envelope)) + " BODY[HEADER.FIELDS (SUBJECT)] " + literal(b)
		}},
	} {
		lines := tc.transactf("ok", "uid fetch 1:* (%s)", q.items)
		if len(lines) != len(storedTreeRaws) {
			t.Fatalf("FETCH (%s): %d responses, want %d", q.items, len(lines), len(storedTreeRaws))
		}
		for i, raw := range storedTreeRaws {
			want := fmt.Sprintf("* %d FETCH (UID %d %s)", i+1, i+1, q.want([]byte(raw), message.Parse([]byte(raw))))
			if lines[i] != want {
				t.Errorf("FETCH (%s) of message %d:\n got %q\nwant %q", q.items, i+1, lines[i], want)
			}
		}
	}
}
