package sqlite

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"github.com/mailroom/mailroom/message"
	"github.com/mailroom/mailroom/store"
	"github.com/mailroom/mailroom/store/storetest"
)

// pendingMetrics records what the indexer reports.
type pendingMetrics struct {
	nopMetrics
	storetest.PendingGauge
}

func (m *pendingMetrics) TextIndexPending(n int64) { m.PendingGauge.TextIndexPending(n) }

// indexedBlobs counts the blobs with a full-text entry.
func indexedBlobs(t *testing.T, s *Store) int64 {
	t.Helper()
	var n int64
	if err := s.rdb.QueryRow("SELECT count(*) FROM blobs b WHERE EXISTS (SELECT 1 FROM blob_text WHERE rowid = b.id)").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestTextIndexPendingRestart: a delivery commits without its full-text
// entry; SEARCH finds it all the same, before the indexer ran (here: a
// process that died before indexing, never closed) and after a restart
// whose indexer wrote the entries the pending rows asked for.
func TestTextIndexPendingRestart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "mail.db")
	crashed, err := OpenWith(ctx, path, nil, Options{noTextIndexer: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { crashed.Close() })
	a, err := crashed.CreateAccount(ctx, "a@example.org", "h")
	if err != nil {
		t.Fatal(err)
	}
	inbox, err := crashed.MailboxByName(ctx, a.ID, store.Inbox)
	if err != nil {
		t.Fatal(err)
	}
	var uids []uint32
	for _, raw := range storetest.TextCorpus() {
		d, err := crashed.Deliver(ctx, []store.Target{{AccountID: a.ID}}, store.NewMessage{Raw: []byte(raw), Part: message.Parse([]byte(raw))})
		if err != nil {
			t.Fatal(err)
		}
		uids = append(uids, d[0].UID)
	}
	// An expunged message takes its pending row along.
	gone := []byte("Subject: gone\r\n\r\nexpunged before indexing\r\n")
	_, gu, err := crashed.Append(ctx, inbox.Ref(), []store.NewMessage{{Raw: gone, Part: message.Parse(gone)}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := crashed.Expunge(ctx, inbox.Ref(), gu, false); err != nil {
		t.Fatal(err)
	}
	n, err := crashed.TextPending(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(len(uids)) || indexedBlobs(t, crashed) != 0 {
		t.Fatalf("before indexing: %d pending, %d indexed; want %d, 0", n, indexedBlobs(t, crashed), len(uids))
	}
	storetest.CheckSearchText(t, crashed, inbox.Ref(), uids, true)

	m := &pendingMetrics{}
	s, err := OpenWith(ctx, path, nil, Options{Metrics: m})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	storetest.WaitTextIndexed(t, s)
	if got := indexedBlobs(t, s); got != int64(len(uids)) {
		t.Fatalf("after restart: %d blobs indexed, want %d", got, len(uids))
	}
	m.CheckDrained(t)
	storetest.CheckSearchText(t, s, inbox.Ref(), uids, true)

	// A delivery now: found at once and after the indexer ran.
	late := []byte("Subject: late\r\n\r\nlatecomer text\r\n")
	d, err := s.Deliver(ctx, []store.Target{{AccountID: a.ID}}, store.NewMessage{Raw: late, Part: message.Parse(late)})
	if err != nil {
		t.Fatal(err)
	}
	search := func(when string) {
		t.Helper()
		got, ok, err := s.SearchText(ctx, inbox.Ref(), store.TextQuery{Needle: "LATECOMER"})
		if err != nil || !ok || !slices.Equal(got.Exact, []uint32{d[0].UID}) || len(got.Candidates) != 0 {
			t.Fatalf("%s: SearchText = %+v, %v, %v; want exact [%d]", when, got, ok, err, d[0].UID)
		}
	}
	search("just delivered")
	storetest.WaitTextIndexed(t, s)
	if got := indexedBlobs(t, s); got != int64(len(uids))+1 {
		t.Fatalf("%d blobs indexed, want %d", got, len(uids)+1)
	}
	search("indexed")
}

// TestReindexTextPending: "mailroom reindex" over all accounts also
// writes the entries a serve that is not running left pending.
func TestReindexTextPending(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, err := OpenWith(ctx, filepath.Join(t.TempDir(), "mail.db"), nil, Options{noTextIndexer: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	a, err := s.CreateAccount(ctx, "a@example.org", "h")
	if err != nil {
		t.Fatal(err)
	}
	corpus := storetest.TextCorpus()
	for _, raw := range corpus {
		if _, err := s.Deliver(ctx, []store.Target{{AccountID: a.ID}}, store.NewMessage{Raw: []byte(raw)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.ReindexText(ctx, 0, nil); err != nil {
		t.Fatal(err)
	}
	n, err := s.TextPending(ctx)
	if err != nil || n != 0 || indexedBlobs(t, s) != int64(len(corpus)) {
		t.Fatalf("after ReindexText: %d pending (%v), %d indexed, want 0, %d", n, err, indexedBlobs(t, s), len(corpus))
	}
}
