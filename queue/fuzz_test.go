package queue

import (
	"testing"
	"time"

	"github.com/mailroom/mailroom/message"
	"github.com/mailroom/mailroom/store"
)

// Whatever the remote server said and whatever the original headers
// hold, the DSN is a well-formed three-part multipart/report.
func FuzzDSN(f *testing.F) {
	f.Add("mx.remote.test said: 550 5.1.1 no such user (in reply to RCPT TO)", []byte(testMsg))
	f.Add("gave up after 3 attempts: connect: refused", []byte("Subject: x"))
	f.Add("said: 4", []byte("\r\n\r\n--x--\r\n"))
	f.Fuzz(func(t *testing.T, lastErr string, original []byte) {
		it := store.QueueItem{ID: 7, From: "alice@example.org", Created: time.Unix(0, 0)}
		failed := []store.QueueRecipient{{Addr: "bob@remote.test", Status: store.RcptFailed, LastError: lastErr}}
		d := buildDSN("mail.example.org", time.Unix(100, 0), it, failed, original)
		p := message.Parse(d)
		if p.MediaType != "multipart" || p.MediaSubtype != "report" || len(p.Parts) != 3 {
			t.Fatalf("DSN structure %s/%s with %d parts:\n%s", p.MediaType, p.MediaSubtype, len(p.Parts), d)
		}
		if s := p.Parts[1]; s.MediaType != "message" || s.MediaSubtype != "delivery-status" {
			t.Fatalf("second part %s/%s", s.MediaType, s.MediaSubtype)
		}
		if st := statusOf(lastErr); len(st) < 5 || (st[0] != '4' && st[0] != '5') {
			t.Fatalf("status %q", st)
		}
	})
}

func FuzzHasExtension(f *testing.F) {
	f.Add("mx greets you\nPIPELINING\nSTARTTLS\n8BITMIME")
	f.Add("")
	f.Fuzz(func(t *testing.T, ehlo string) {
		_ = hasExtension(ehlo, "STARTTLS")
		_ = replyCode(ehlo)
	})
}
