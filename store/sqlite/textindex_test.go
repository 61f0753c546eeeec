package sqlite

import (
	"context"
	"slices"
	"testing"

	"github.com/mailroom/mailroom/message"
	"github.com/mailroom/mailroom/store"
	"github.com/mailroom/mailroom/store/storetest"
)

// TestReindexText: messages stored before migration 15 are searched by
// reading them until ReindexText indexes them.
func TestReindexText(t *testing.T) {
	t.Parallel()
	s := openTest(t)
	storetest.CheckReindex(t, s, func(t *testing.T) {
		// The background indexer first, so that nothing it writes later
		// indexes a message the test needs unindexed.
		storetest.WaitTextIndexed(t, s)
		err := s.write(context.Background(), func(tx *wtx) error {
			// Nothing pending either: migration 22 starts text_pending
			// empty.
			_, err := tx.Exec("DELETE FROM blob_text")
			if err == nil {
				_, err = tx.Exec("DELETE FROM text_pending")
			}
			if err == nil {
				_, err = tx.Exec("UPDATE text_index_state SET unindexed_below = (SELECT max(id) + 1 FROM blobs)")
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzSearchText: for any body and needle, the index never misses a
// message the scan matches (storetest.ScanMatches), and names none as an
// exact hit that the scan does not match.
func FuzzSearchText(f *testing.F) {
	for _, seed := range [][2]string{
		{"The QUICK brown fox", "quick b"},
		{"Grüße aus Köln, straße", "STRASSE"},
		{"50%_off \"quoted\" words", "%_o"},
		{"ΣΊΣΥΦΟΣ", "σίσυφος"},
		{"a\x00bcd", "bcd"},
		{"a\x00bcd", "a bcd"},
		{"zebra brafi afish", "zebrafish"},
	} {
		f.Add(seed[0], seed[1], false)
	}
	s := openTest(f)
	ctx := context.Background()
	a, err := s.CreateAccount(ctx, "fuzz@example.org", "h")
	if err != nil {
		f.Fatal(err)
	}
	inbox, err := s.MailboxByName(ctx, a.ID, store.Inbox)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body, needle string, bodyOnly bool) {
		raw := []byte("Subject: fuzz\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + body)
		_, uids, err := s.Append(ctx, inbox.Ref(), []store.NewMessage{{Raw: raw, Part: message.Parse(raw)}})
		if err != nil {
			t.Fatal(err)
		}
		got, ok, err := s.SearchText(ctx, inbox.Ref(), store.TextQuery{Needle: needle, BodyOnly: bodyOnly})
		if err != nil {
			t.Fatal(err)
		}
		match := storetest.ScanMatches(raw, needle, bodyOnly)
		if ok && match && !slices.Contains(got.All(), uids[0]) {
			t.Fatalf("SearchText(%q, body %v) misses %q", needle, bodyOnly, body)
		}
		if !match && slices.Contains(got.Exact, uids[0]) {
			t.Fatalf("SearchText(%q, body %v): %q an exact hit", needle, bodyOnly, body)
		}
	})
}
