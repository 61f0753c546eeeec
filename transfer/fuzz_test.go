package transfer

import (
	"bufio"
	"bytes"
	"io"
	"math"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mailroom/mailroom/message"
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

// FuzzParseIMAPURL: any accepted URL names a user and a host:port that
// net.SplitHostPort takes, and never carries a password.
func FuzzParseIMAPURL(f *testing.F) {
	f.Add("imaps://alice@mail.example.org")
	f.Add("imap://bob%40example.org@[::1]:1143")
	f.Add("imaps://a:b@h")
	f.Add("imaps://@h:99999")
	f.Fuzz(func(t *testing.T, s string) {
		src, err := ParseIMAPURL(s)
		if err != nil {
			return
		}
		if src.User == "" || src.Password != "" {
			t.Fatalf("%q: %+v", s, src)
		}
		if host, port, err := net.SplitHostPort(src.Addr); err != nil || host == "" || port == "" {
			t.Fatalf("%q: address %q: %v", s, src.Addr, err)
		}
	})
}

// FuzzUIDList: any dovecot-uidlist reads without panic, every UID it
// returns fits 32 bits, and a version 3 header's V is the UIDVALIDITY.
func FuzzUIDList(f *testing.F) {
	f.Add("3 V1234 N10\n5 :zzz.M3P1.host\n7 W200 :1500000000.M2P1.host\n")
	f.Add("1 1234 10\n5 zzz\n")
	f.Add("3 V99999999999 N1\n")
	f.Add("3 N5 V7\n\n \n:x\n")
	f.Fuzz(func(t *testing.T, data string) {
		if len(data) > 1<<16 {
			return
		}
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "dovecot-uidlist"), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		order, v := readUIDOrder(dir)
		for name, uid := range order {
			if uid > math.MaxUint32 {
				t.Fatalf("UID %d of %q beyond 32 bits", uid, name)
			}
		}
		header, _, _ := strings.Cut(data, "\n")
		if v != uidlistValidity(header) {
			t.Fatalf("UIDVALIDITY %d, header says %d", v, uidlistValidity(header))
		}
	})
}

// FuzzHasField: hasField (malformed's one-pass check) agrees with
// message.HeaderValues on every header.
func FuzzHasField(f *testing.F) {
	for _, s := range []string{
		"From: a@b\r\n\r\n", "X: y\r\n to: folded\r\n\r\n", "Subject : x\n", "no colon\nDate:x\n",
		" From: continuation\n\n", "Message-id:<x>\r\n", "Fro m: x\r\n", "X: a\r\n\r\nFrom: in body\r\n", "\r\nFrom: x\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, h []byte) {
		want := false
		for _, n := range messageFields {
			if len(message.HeaderValues(h, string(n))) > 0 {
				want = true
			}
		}
		if got := hasField(h, messageFields); got != want {
			t.Fatalf("hasField(%q) = %v, HeaderValues says %v", h, got, want)
		}
	})
}
