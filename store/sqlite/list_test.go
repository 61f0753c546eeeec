package sqlite

import (
	"context"
	"slices"
	"testing"

	"github.com/mailroom/mailroom/store"
	"github.com/mailroom/mailroom/store/storetest"
)

// TestListMessagesUIDSubsets covers both read plans of ListMessages: dense
// UID lists (range scan filtered in Go) and sparse ones (json_each), with
// holes in the mailbox, UIDs that do not exist and duplicates.
func TestListMessagesUIDSubsets(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	a, err := s.CreateAccount(ctx, "list@example.org", "h")
	if err != nil {
		t.Fatal(err)
	}
	inbox, err := s.MailboxByName(ctx, a.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	batch := make([]store.NewMessage, 1200)
	for i := range batch {
		batch[i] = newMsg("x")
	}
	if _, _, err := s.Append(ctx, inbox.Ref(), batch); err != nil {
		t.Fatal(err)
	}
	// Holes: every 7th message expunged.
	var gone []uint32
	for u := uint32(7); u <= 1200; u += 7 {
		gone = append(gone, u)
	}
	if _, _, err := s.Expunge(ctx, inbox.Ref(), gone, false); err != nil {
		t.Fatal(err)
	}
	exists := func(u uint32) bool { return u >= 1 && u <= 1200 && u%7 != 0 }
	dense := []uint32{}
	for u := uint32(1); u <= 1300; u++ { // runs past the last UID
		dense = append(dense, u)
	}
	sparse := []uint32{3, 50, 51, 400, 999, 1199, 5000}
	dups := []uint32{5, 5, 6, 6, 8}
	unsorted := []uint32{900, 2, 901, 1}
	for name, uids := range map[string][]uint32{"dense": dense, "sparse": sparse, "dups": dups, "unsorted": unsorted} {
		var want []uint32
		for _, u := range slices.Compact(slices.Sorted(slices.Values(uids))) {
			if exists(u) {
				want = append(want, u)
			}
		}
		var got []uint32
		err := s.ListMessages(ctx, inbox.Ref(), uids, func(m store.MessageMeta) error {
			got = append(got, m.UID)
			return nil
		})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: got %d UIDs %v..., want %d", name, len(got), got[:min(len(got), 10)], len(want))
		}
	}
}

// BenchmarkListMessagesUIDs100k is FETCH 1:* as imapserver asks for it: an
// explicit list of every UID.
func BenchmarkListMessagesUIDs100k(b *testing.B) {
	s := openTest(b)
	id := fill(b, s, 100_000)
	uids, err := storetest.UIDs(context.Background(), s, id)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		n := 0
		err := s.ListMessages(context.Background(), id, uids, func(store.MessageMeta) error { n++; return nil })
		if err != nil || n != 100_000 {
			b.Fatalf("%d messages, %v", n, err)
		}
	}
}
