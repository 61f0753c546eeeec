package imapserver

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/mailroom/mailroom/message"
	"github.com/mailroom/mailroom/store"
)

// BenchmarkMixCommands times, one client alone, the per-command steps of
// the IMAP session mix in bench/ (mrbench -scenario imap) on a
// 500-message INBOX of 2-200 KB multipart messages, so that a command's
// own cost can be told apart from waiting for the CPU behind other
// clients' logins.
// Run: go test -run '^$' -bench MixCommands -benchmem ./imapserver
func BenchmarkMixCommands(b *testing.B) {
	ts := startTestServer(b)
	ctx := context.Background()
	inbox, err := ts.st.MailboxByName(ctx, ts.acct.ID, store.Inbox)
	if err != nil {
		b.Fatal(err)
	}
	var msgs []store.NewMessage
	for i := range 500 {
		size := 2<<10 + (i*7919)%(198<<10)
		raw := []byte(fmt.Sprintf("From: Alice <a@example.org>\r\nTo: b@example.org\r\nSubject: message %d\r\nDate: Thu, 26 Nov 2026 09:00:00 +0000\r\nMessage-ID: <%d@example.org>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n--XX\r\nContent-Type: text/plain\r\n\r\nhello\r\n--XX\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n%s\r\n--XX--\r\n",
			i, i, strings.Repeat(strings.Repeat("QUJD", 19)+"\r\n", size/78)))
		msgs = append(msgs, store.NewMessage{Raw: raw, Part: message.Parse(raw)})
	}
	if _, _, err := ts.st.Append(ctx, inbox.Ref(), msgs); err != nil {
		b.Fatal(err)
	}
	tc := ts.login()
	tc.transactf("ok", "select INBOX")
	for _, cmd := range []string{
		"FETCH 1:* (UID FLAGS RFC822.SIZE)",
		"FETCH 491:* (UID BODY.PEEK[HEADER.FIELDS (FROM TO SUBJECT DATE MESSAGE-ID)])",
		"FETCH 17 BODY.PEEK[]",
		"STORE 17,33 +FLAGS (\\Seen)",
		"STORE 17 -FLAGS (\\Seen)",
		"SEARCH UNSEEN",
		"NOOP",
	} {
		name := strings.Fields(cmd)
		b.Run(strings.Join(name[:min(2, len(name))], "-"), func(b *testing.B) {
			for b.Loop() {
				tc.transactf("ok", "%s", cmd)
			}
		})
	}
	// FETCH BODY[] of an unseen message, as the mix's FETCH BODY[] often
	// is: the implicit \Seen is a flag write before the response.
	b.Run("FETCH-BODY[]-unseen", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			tc.transactf("ok", "STORE 17 -FLAGS.SILENT (\\Seen)")
			b.StartTimer()
			tc.transactf("ok", "FETCH 17 BODY[]")
		}
	})
}
