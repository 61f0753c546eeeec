package sqlite

import (
	"context"
	"fmt"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/mailroom/mailroom/store"
	"github.com/mailroom/mailroom/store/storetest"
)

// BenchmarkDeliverParallel measures concurrent deliveries to several
// accounts; group commit shares one fsync among the waiting ones.
func BenchmarkDeliverParallel(b *testing.B) {
	ctx := context.Background()
	s := openTest(b)
	var ids []int64
	for i := 0; i < 16; i++ {
		a, err := s.CreateAccount(ctx, fmt.Sprintf("u%d@example.org", i), "h")
		if err != nil {
			b.Fatal(err)
		}
		ids = append(ids, a.ID)
	}
	msg := newMsg("benchmark body\r\n")
	var n atomic.Int64
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id := ids[n.Add(1)%int64(len(ids))]
			if _, err := s.Deliver(ctx, []store.Target{{AccountID: id}}, msg); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkDeliverSerial is the baseline: one delivery at a time, one
// fsync each.
func BenchmarkDeliverSerial(b *testing.B) {
	ctx := context.Background()
	s := openTest(b)
	a, err := s.CreateAccount(ctx, "u@example.org", "h")
	if err != nil {
		b.Fatal(err)
	}
	msg := newMsg("benchmark body\r\n")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.Deliver(ctx, []store.Target{{AccountID: a.ID}}, msg); err != nil {
			b.Fatal(err)
		}
	}
}

func fill(b *testing.B, s *Store, n int) store.MailboxRef {
	ctx := context.Background()
	a, err := s.CreateAccount(ctx, "big@example.org", "h")
	if err != nil {
		b.Fatal(err)
	}
	inbox, err := s.MailboxByName(ctx, a.ID, "INBOX")
	if err != nil {
		b.Fatal(err)
	}
	batch := make([]store.NewMessage, 1000)
	for i := range batch {
		batch[i] = newMsg("x")
	}
	for i := 0; i < n; i += len(batch) {
		if _, _, err := s.Append(ctx, inbox.Ref(), batch); err != nil {
			b.Fatal(err)
		}
	}
	return inbox.Ref()
}

// BenchmarkListMessages100k streams the metadata of a 100,000-message
// mailbox.
func BenchmarkListMessages100k(b *testing.B) {
	s := openTest(b)
	id := fill(b, s, 100_000)
	b.ResetTimer()
	defer reportCPU(b)()
	for i := 0; i < b.N; i++ {
		n := 0
		err := s.ListMessages(context.Background(), id, nil, func(store.MessageMeta) error { n++; return nil })
		if err != nil || n != 100_000 {
			b.Fatalf("%d messages, %v", n, err)
		}
	}
}

// BenchmarkListMessages100kChunks reads a 100,000-message mailbox the way
// IMAP FETCH 1:* does: by UID list, 256 UIDs per call.
func BenchmarkListMessages100kChunks(b *testing.B) {
	s := openTest(b)
	id := fill(b, s, 100_000)
	uids, err := storetest.UIDs(context.Background(), s, id)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	defer reportCPU(b)()
	for i := 0; i < b.N; i++ {
		n := 0
		for start := 0; start < len(uids); start += 256 {
			err := s.ListMessages(context.Background(), id, uids[start:min(start+256, len(uids))], func(store.MessageMeta) error { n++; return nil })
			if err != nil {
				b.Fatal(err)
			}
		}
		if n != 100_000 {
			b.Fatalf("%d messages", n)
		}
	}
}

// reportCPU reports the process CPU time (user+system) per op: on a
// shared machine it varies far less than wall time.
func reportCPU(b *testing.B) func() {
	start := cpuTime()
	return func() { b.ReportMetric(float64(cpuTime()-start)/1e6/float64(b.N), "cpu-ms/op") }
}

func cpuTime() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}
