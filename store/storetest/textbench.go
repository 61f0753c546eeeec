package storetest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/mailroom/mailroom/message"
	"github.com/mailroom/mailroom/store"
)

// TextMessages returns n distinct messages of about 3 KB as mail is: a
// multipart/alternative of quoted-printable text and HTML, varied words.
func TextMessages(n int) []store.NewMessage {
	words := strings.Fields("the quarterly report shows revenue growth across regions while costs remain stable meeting agenda budget review schedule café naïve déjà vu")
	msgs := make([]store.NewMessage, n)
	for i := range msgs {
		var sb strings.Builder
		for j := 0; j < 220; j++ {
			sb.WriteString(words[(i*7+j*13)%len(words)])
			if j%11 == 10 {
				fmt.Fprintf(&sb, " #%d-%d\r\n", i, j)
			} else {
				sb.WriteByte(' ')
			}
		}
		text := sb.String()
		raw := fmt.Sprintf("From: Sender %d <s%d@example.org>\r\nTo: r@example.com\r\nSubject: Report %d about things\r\n"+
			"Message-ID: <%d@example.org>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n"+
			"--b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n%s\r\n"+
			"--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>%s</p>\r\n--b--\r\n", i, i, i, i, text, text[:len(text)/2])
		msgs[i] = store.NewMessage{Raw: []byte(raw), Part: message.Parse([]byte(raw))}
	}
	return msgs
}

// LargeMailbox calls fn with n messages of 1-4 KB in batches of 1,000, as
// mrbench's large scenario builds them: one in ten has "zebrafish", the
// middle one "okapi"; the same messages every time.
func LargeMailbox(n int, fn func(batch []store.NewMessage) error) error {
	words := strings.Fields("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa quebec romeo sierra tango uniform victor whiskey xray yankee zulu report meeting budget")
	rng := rand.New(rand.NewPCG(1, 5))
	batch := make([]store.NewMessage, 0, 1000)
	for i := 0; i < n; i++ {
		var sb strings.Builder
		fmt.Fprintf(&sb, "From: Sender %d <sender%d@example.net>\r\nTo: <big@example.org>\r\nSubject: %s %s %d\r\nMessage-ID: <bench-%d@example.net>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n",
			i%50, i%50, words[rng.IntN(len(words))], words[rng.IntN(len(words))], i, i)
		if i%10 == 0 {
			sb.WriteString("zebrafish ")
		}
		if i == n/2 {
			sb.WriteString("okapi ")
		}
		size := 1024 + rng.IntN(3072)
		for col := 0; sb.Len() < size; {
			w := words[rng.IntN(len(words))]
			sb.WriteString(w)
			if col += len(w) + 1; col > 70 {
				sb.WriteString("\r\n")
				col = 0
			} else {
				sb.WriteByte(' ')
			}
		}
		sb.WriteString("\r\n")
		raw := []byte(sb.String())
		batch = append(batch, store.NewMessage{Raw: raw, Part: message.Parse(raw)})
		if len(batch) == cap(batch) || i == n-1 {
			if err := fn(batch); err != nil {
				return err
			}
			batch = batch[:0]
		}
	}
	return nil
}

// BenchDeliverParallelText delivers TextMessages from 8 goroutines to 16
// accounts: the backends' BenchmarkDeliverParallelText, messages of
// realistic size and text, whose full-text index entries cost most.
func BenchDeliverParallelText(b *testing.B, s store.Store) {
	ctx := context.Background()
	var ids []int64
	for i := 0; i < 16; i++ {
		a, err := s.CreateAccount(ctx, fmt.Sprintf("u%d@example.org", i), "h")
		if err != nil {
			b.Fatal(err)
		}
		ids = append(ids, a.ID)
	}
	msgs := TextMessages(1000)
	var n atomic.Int64
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			if _, err := s.Deliver(ctx, []store.Target{{AccountID: ids[i%int64(len(ids))]}}, msgs[i%int64(len(msgs))]); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
