package sqlite

import (
	"context"
	"testing"

	"github.com/mailroom/mailroom/store"
)

// BenchmarkDeliverLargeMailbox compares delivery into an empty INBOX with
// delivery into one of 100,000 messages, alone and followed by the STATUS a
// poller would issue (issue 7: the cost should not grow with the mailbox).
func BenchmarkDeliverLargeMailbox(b *testing.B) {
	for _, size := range []struct {
		name string
		n    int
	}{{"empty", 0}, {"100k", 100_000}} {
		b.Run(size.name, func(b *testing.B) {
			ctx := context.Background()
			s := openTest(b)
			var inbox store.MailboxRef
			if size.n > 0 {
				inbox = fill(b, s, size.n)
			} else {
				a, err := s.CreateAccount(ctx, "big@example.org", "h")
				if err != nil {
					b.Fatal(err)
				}
				m, err := s.MailboxByName(ctx, a.ID, store.Inbox)
				if err != nil {
					b.Fatal(err)
				}
				inbox = m.Ref()
			}
			mb, err := s.MailboxByID(ctx, inbox)
			if err != nil {
				b.Fatal(err)
			}
			msg := newMsg("benchmark body\r\n")
			for _, withStatus := range []bool{false, true} {
				name := "deliver"
				if withStatus {
					name = "deliver+status"
				}
				b.Run(name, func(b *testing.B) {
					for b.Loop() {
						if _, err := s.Deliver(ctx, []store.Target{{AccountID: mb.AccountID}}, msg); err != nil {
							b.Fatal(err)
						}
						if !withStatus {
							continue
						}
						if _, err := s.MailboxStatus(ctx, inbox); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		})
	}
}

// BenchmarkMailboxStatus reads STATUS of an empty and a 100,000-message
// mailbox: one row either way.
func BenchmarkMailboxStatus(b *testing.B) {
	for _, size := range []struct {
		name string
		n    int
	}{{"1k", 1000}, {"100k", 100_000}} {
		b.Run(size.name, func(b *testing.B) {
			ctx := context.Background()
			s := openTest(b)
			inbox := fill(b, s, size.n)
			b.ResetTimer()
			for b.Loop() {
				if _, err := s.MailboxStatus(ctx, inbox); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkExpungeNothingDeleted100k is EXPUNGE/CLOSE on a 100,000-message
// mailbox with no \Deleted message: the n_deleted counter answers it.
func BenchmarkExpungeNothingDeleted100k(b *testing.B) {
	ctx := context.Background()
	s := openTest(b)
	inbox := fill(b, s, 100_000)
	b.ResetTimer()
	for b.Loop() {
		if _, _, err := s.Expunge(ctx, inbox, nil, true); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkChangesNothingNew is the question every IMAP session asks after
// each command and the mailbox index before each FETCH/SEARCH: what
// changed since the modseq I know? Usually nothing.
func BenchmarkChangesNothingNew(b *testing.B) {
	ctx := context.Background()
	s := openTest(b)
	inbox := fill(b, s, 1000)
	mb, err := s.MailboxByID(ctx, inbox)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		changed, vanished, _, err := s.Changes(ctx, inbox, mb.HighestModSeq)
		if err != nil || len(changed) != 0 || len(vanished) != 0 {
			b.Fatal(err, len(changed), len(vanished))
		}
	}
}
