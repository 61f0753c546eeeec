package imapserver

import (
	"context"
	"strings"
	"testing"

	"github.com/mailroom/mailroom/message"
	"github.com/mailroom/mailroom/store"
)

// BenchmarkSearchPartSource compares the ways SEARCH can get a message's
// part tree once ListBodies has handed it the bytes: a store read of the
// tree stored at delivery (MessagePart, one message; ListParts/64, the
// per-message cost of a batch of 64, which SEARCH and FETCH use), or
// parsing the bytes already in hand (message.Parse).
// Run: go test -run '^$' -bench SearchPartSource ./imapserver
func BenchmarkSearchPartSource(b *testing.B) {
	small := "From: a@example.org\nTo: b@example.org\nSubject: message 7\n\nbody of message 7 with the word needle7\n"
	multipart := "From: a@example.org\nTo: b@example.org\nSubject: report\nMIME-Version: 1.0\n" +
		"Content-Type: multipart/mixed; boundary=b1\n\n--b1\nContent-Type: text/plain; charset=utf-8\n\n" +
		strings.Repeat("some text of the report, line after line\n", 100) +
		"--b1\nContent-Type: text/html; charset=utf-8\n\n<p>" + strings.Repeat("html text ", 200) + "</p>\n" +
		"--b1\nContent-Type: application/pdf\nContent-Transfer-Encoding: base64\n\n" +
		strings.Repeat(strings.Repeat("QUJD", 19)+"\n", 400) + "--b1--\n"
	big := strings.Replace(multipart, strings.Repeat(strings.Repeat("QUJD", 19)+"\n", 400), strings.Repeat(strings.Repeat("QUJD", 19)+"\n", 13000), 1)
	for _, tc := range []struct{ name, raw string }{{"small", small}, {"multipart-40KB", multipart}, {"multipart-1MB", big}} {
		ts := startTestServer(b)
		ts.deliver("", tc.raw)
		ctx := context.Background()
		var id int64
		var raw []byte
		err := ts.st.ListBodies(ctx, mustInbox(b, ts), nil, func(m store.MessageMeta, r []byte) error {
			id, raw = m.ID, r
			return nil
		})
		if err != nil || raw == nil {
			b.Fatal(err, raw == nil)
		}
		b.Run(tc.name+"/MessagePart", func(b *testing.B) {
			for b.Loop() {
				if _, err := ts.st.MessagePart(ctx, mustInbox(b, ts), id); err != nil {
					b.Fatal(err)
				}
			}
		})
		for range 63 {
			ts.deliver("", tc.raw)
		}
		b.Run(tc.name+"/ListParts/64", func(b *testing.B) {
			for b.Loop() {
				n := 0
				if err := ts.st.ListParts(ctx, mustInbox(b, ts), nil, func(store.MessageMeta, *message.Part) error { n++; return nil }); err != nil || n != 64 {
					b.Fatal(n, err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/64, "ns/message")
		})
		b.Run(tc.name+"/Parse", func(b *testing.B) {
			for b.Loop() {
				message.Parse(raw)
			}
		})
	}
}
