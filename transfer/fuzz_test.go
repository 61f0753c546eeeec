package transfer

import (
	"bufio"
	"bytes"
	"io"
	"testing"
	"time"

	"github.com/mailroom/mailroom/store"
)

// FuzzMboxRoundTrip: any message written by the mboxrd writer reads back
// byte for byte with its flags, and the reader never returns more than
// its bound, whatever the input.
func FuzzMboxRoundTrip(f *testing.F) {
	f.Add([]byte("From: a@b\nSubject: x\n\nFrom here\n>From there\n>>From far\n"), true)
	f.Add([]byte("Subject: crlf\r\n\r\nline\r\nFrom x\r\n"), false)
	f.Add([]byte("From: a@b\n\n\n\n"), true)
	f.Fuzz(func(t *testing.T, raw []byte, seen bool) {
		const max = 1 << 16
		// Any input: bounded, no panic.
		r := newMboxReader(bytes.NewReader(raw), MboxRD, 64)
		if r.start() == nil {
			for i := 0; i < 1000; i++ {
				m, err := r.Next()
				if err != nil {
					break
				}
				if len(m.raw) > 64 {
					t.Fatalf("message of %d bytes over the bound", len(m.raw))
				}
			}
		}
		// Round trip of a message our importer would store.
		if len(raw) > max || malformed(raw) != "" || raw[len(raw)-1] != '\n' {
			return
		}
		if out, _, _ := mboxFlags(raw); !bytes.Equal(out, raw) {
			return // carries mbox state fields, which import removes
		}
		var flags []string
		if seen {
			flags = []string{store.FlagSeen, "kw"}
		}
		var buf bytes.Buffer
		w := bufio.NewWriter(&buf)
		date := time.Date(2024, 2, 3, 4, 5, 6, 0, time.UTC)
		if err := writeMboxMessage(w, store.MessageMeta{Flags: flags, InternalDate: date}, raw); err != nil {
			t.Fatal(err)
		}
		w.Flush()
		rd := newMboxReader(&buf, MboxRD, max*2)
		if err := rd.start(); err != nil {
			t.Fatalf("start: %v\n%q", err, buf.String())
		}
		m, err := rd.Next()
		if err != nil || m.skip != "" {
			t.Fatalf("next: %v %q", err, m.skip)
		}
		got, gotFlags, _ := mboxFlags(m.raw)
		if !bytes.Equal(got, raw) {
			t.Fatalf("round trip\n%q\nwant\n%q\nmbox\n%q", got, raw, buf.String())
		}
		if !sameSet(gotFlags, flags) || !fromLineDate(m.from).Equal(date) {
			t.Fatalf("flags %v date %v", gotFlags, fromLineDate(m.from))
		}
		if _, err := rd.Next(); err != io.EOF {
			t.Fatalf("more than one message: %v", err)
		}
	})
}
