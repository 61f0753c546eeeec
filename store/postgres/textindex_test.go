package postgres

import (
	"context"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/mailroom/mailroom/message"
	"github.com/mailroom/mailroom/store"
	"github.com/mailroom/mailroom/store/storetest"
)

// TestReindexText: messages stored before migration 13 are searched by
// reading them until ReindexText indexes them.
func TestReindexText(t *testing.T) {
	t.Parallel()
	s := openTest(t)
	storetest.CheckReindex(t, s, func(t *testing.T) {
		// The background indexer first: an index entry it commits after
		// the DELETE below (its claimed rows make the DELETE wait, not
		// skip) would leave a message indexed that the test needs
		// unindexed, as a migration leaves pre-index messages.
		storetest.WaitTextIndexed(t, s)
		// Nothing pending either: migration 21 starts text_pending empty.
		if _, err := s.pool.Exec(context.Background(), "DELETE FROM blob_text; DELETE FROM text_pending; UPDATE text_index_state SET unindexed_below = (SELECT max(id) + 1 FROM blobs)"); err != nil {
			t.Fatal(err)
		}
	})
}

// TestTextIndexOlderNodes: a blob stored without an index entry (by a node
// still running the code of schema version 12) is searched by reading it,
// and ReindexText indexes it.
func TestTextIndexOlderNodes(t *testing.T) {
	t.Parallel()
	s := openTest(t)
	ctx := context.Background()
	a, err := s.CreateAccount(ctx, "old@example.org", "h")
	if err != nil {
		t.Fatal(err)
	}
	inbox, err := s.MailboxByName(ctx, a.ID, store.Inbox)
	if err != nil {
		t.Fatal(err)
	}
	raw := []byte("Subject: new\r\n\r\nindexed at once\r\n")
	if _, _, err := s.Append(ctx, inbox.Ref(), []store.NewMessage{{Raw: raw, Part: message.Parse(raw)}}); err != nil {
		t.Fatal(err)
	}
	storetest.WaitTextIndexed(t, s) // the background indexer writes its entry
	// What an older node's Append does: blob and message, no entry.
	old := []byte("Subject: old\r\n\r\nwritten by an old node\r\n")
	if _, err := olderNode(t, s).Exec(ctx, `WITH b AS (INSERT INTO blobs(raw, part, size, header) VALUES ($2, '{}', $3, $4) RETURNING id)
		INSERT INTO messages(mailbox_id, uid, modseq, internal_date, size, wire_size, blob_id) SELECT $1, 2, 2, 0, $3, $3, id FROM b`,
		inbox.ID, old, len(old), old[:16]); err != nil {
		t.Fatal(err)
	}
	search := func(needle string) []uint32 {
		got, ok, err := s.SearchText(ctx, inbox.Ref(), store.TextQuery{Needle: needle})
		if err != nil || !ok {
			t.Fatalf("SearchText(%q): %v, %v", needle, ok, err)
		}
		return got.All()
	}
	if got := search("old node"); !slices.Equal(got, []uint32{2}) {
		t.Fatalf("before reindex: %v, want [2] (unindexed)", got)
	}
	if err := s.ReindexText(ctx, 0, nil); err != nil {
		t.Fatal(err)
	}
	if got := search("old node"); !slices.Equal(got, []uint32{2}) {
		t.Fatalf("after reindex: %v, want [2]", got)
	}
	if got := search("nowhere"); len(got) != 0 {
		t.Fatalf("after reindex, nowhere: %v, want none", got)
	}
}

// olderNode connects to s's database as a node older than migration 22
// does: without textPendingParam.
func olderNode(t *testing.T, s *Store) *pgx.Conn {
	t.Helper()
	c, err := pgx.ConnectConfig(context.Background(), s.pool.Config().ConnConfig.Copy())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

// TestTextIndexCheckSkipped: the commit-time check for blobs stored
// without an entry runs for older nodes' sessions only (migration 22):
// a blob this node's session stores without one leaves the mark alone,
// the same insert by an older node raises it past the blob.
func TestTextIndexCheckSkipped(t *testing.T) {
	t.Parallel()
	s := openTest(t)
	ctx := context.Background()
	below := func() int64 {
		t.Helper()
		var n int64
		if err := s.pool.QueryRow(ctx, "SELECT unindexed_below FROM text_index_state").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	insert := func(q interface {
		QueryRow(context.Context, string, ...any) pgx.Row
	}) int64 {
		t.Helper()
		var id int64
		if err := q.QueryRow(ctx, "INSERT INTO blobs(raw, part, size, header) VALUES ('x', '{}', 1, 'x') RETURNING id").Scan(&id); err != nil {
			t.Fatal(err)
		}
		return id
	}
	start := below()
	if id := insert(s.pool); below() != start {
		t.Fatalf("blob %d of this node's session: unindexed_below %d → %d, want unchanged", id, start, below())
	}
	if id := insert(olderNode(t, s)); below() != id+1 {
		t.Fatalf("blob %d of an older node: unindexed_below = %d, want %d", id, below(), id+1)
	}
}
