package imapserver

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mailroom/mailroom/message"
	"github.com/mailroom/mailroom/store"
)

// BenchmarkFetchStructure times FETCH BODYSTRUCTURE and ENVELOPE (alone,
// and as a message list asks them with header fields) of 50 messages of
// a 500-message INBOX of 2-200 KB multipart messages (BenchmarkMixCommands'),
// and of one message of 1 MB, reporting the median as p50-µs.
// Run: go test -run '^$' -bench FetchStructure -benchmem ./imapserver
func BenchmarkFetchStructure(b *testing.B) {
	ts := startTestServer(b)
	ctx := context.Background()
	inbox, err := ts.st.MailboxByName(ctx, ts.acct.ID, store.Inbox)
	if err != nil {
		b.Fatal(err)
	}
	var msgs []store.NewMessage
	for i := range 501 {
		size := 2<<10 + (i*7919)%(198<<10)
		if i == 500 {
			size = 1 << 20
		}
		raw := []byte(fmt.Sprintf("From: Alice <a@example.org>\r\nTo: b@example.org, \"Carol C.\" <c@example.org>\r\nSubject: message %d\r\nDate: Thu, 26 Nov 2026 09:00:00 +0000\r\nMessage-ID: <%d@example.org>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n--XX\r\nContent-Type: multipart/alternative; boundary=YY\r\n\r\n--YY\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nhello\r\n--YY\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>hello</p>\r\n--YY--\r\n--XX\r\nContent-Type: application/octet-stream; name=a.bin\r\nContent-Disposition: attachment; filename=a.bin\r\nContent-Transfer-Encoding: base64\r\n\r\n%s\r\n--XX--\r\n",
			i, i, strings.Repeat(strings.Repeat("QUJD", 19)+"\r\n", size/78)))
		msgs = append(msgs, store.NewMessage{Raw: raw, Part: message.Parse(raw)})
	}
	if _, _, err := ts.st.Append(ctx, inbox.Ref(), msgs); err != nil {
		b.Fatal(err)
	}
	tc := ts.login()
	tc.transactf("ok", "select INBOX")
	for _, q := range []struct{ name, cmd string }{
		{"BODYSTRUCTURE-50", "FETCH 401:450 (UID BODYSTRUCTURE)"},
		{"ENVELOPE-50", "FETCH 401:450 (UID ENVELOPE)"},
		{"LIST-50", "FETCH 401:450 (UID FLAGS ENVELOPE BODYSTRUCTURE BODY.PEEK[HEADER.FIELDS (REFERENCES LIST-ID)])"},
		{"BODYSTRUCTURE-1MB", "FETCH 501 (UID BODYSTRUCTURE)"},
		{"BODY[1.1]-50", "FETCH 401:450 (UID BODY.PEEK[1.1])"},
	} {
		b.Run(q.name, func(b *testing.B) {
			var took []time.Duration
			for b.Loop() {
				start := time.Now()
				tc.transactf("ok", "%s", q.cmd)
				took = append(took, time.Since(start))
			}
			slices.Sort(took)
			b.ReportMetric(float64(took[len(took)/2].Microseconds()), "p50-µs")
		})
	}
}
