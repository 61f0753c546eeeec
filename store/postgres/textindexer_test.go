package postgres

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mailroom/mailroom/message"
	"github.com/mailroom/mailroom/store"
	"github.com/mailroom/mailroom/store/internal/sqlcore"
	"github.com/mailroom/mailroom/store/storetest"
)

// pendingMetrics records what the indexer reports.
type pendingMetrics struct {
	nopMetrics
	storetest.PendingGauge
}

func (m *pendingMetrics) TextIndexPending(n int64) { m.PendingGauge.TextIndexPending(n) }

// openNoIndexer opens a node on dsn that runs no text indexer.
func openNoIndexer(t *testing.T, dsn string) *Store {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	s, err := openConfig(context.Background(), cfg, testLogger(t), openOptions{noTextIndexer: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// indexedBlobs counts the blobs with a full-text entry.
func indexedBlobs(t *testing.T, s *Store) int64 {
	t.Helper()
	var n int64
	if err := s.pool.QueryRow(context.Background(), "SELECT count(*) FROM blob_text").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// deliverCorpus delivers storetest.TextCorpus to a new account's INBOX.
func deliverCorpus(t *testing.T, s *Store, email string) (store.MailboxRef, []uint32) {
	t.Helper()
	ctx := context.Background()
	a, err := s.CreateAccount(ctx, email, "h")
	if err != nil {
		t.Fatal(err)
	}
	inbox, err := s.MailboxByName(ctx, a.ID, store.Inbox)
	if err != nil {
		t.Fatal(err)
	}
	var uids []uint32
	for _, raw := range storetest.TextCorpus() {
		d, err := s.Deliver(ctx, []store.Target{{AccountID: a.ID}}, store.NewMessage{Raw: []byte(raw), Part: message.Parse([]byte(raw))})
		if err != nil {
			t.Fatal(err)
		}
		uids = append(uids, d[0].UID)
	}
	return inbox.Ref(), uids
}

// TestTextIndexPendingNodes: a delivery commits without its full-text
// entry (the trigram index is off the delivery path); SEARCH finds it all
// the same before any indexer ran (the node that delivered died before
// indexing), and another node's indexer writes the entries the pending
// rows ask for. The mark of blobs older nodes left unindexed does not
// move for pending blobs.
func TestTextIndexPendingNodes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := testDSN(t)
	crashed := openNoIndexer(t, dsn)
	inbox, uids := deliverCorpus(t, crashed, "a@example.org")
	// An expunged message takes its pending row along.
	gone := []byte("Subject: gone\r\n\r\nexpunged before indexing\r\n")
	_, gu, err := crashed.Append(ctx, inbox, []store.NewMessage{{Raw: gone, Part: message.Parse(gone)}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := crashed.Expunge(ctx, inbox, gu, false); err != nil {
		t.Fatal(err)
	}
	n, err := crashed.TextPending(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(len(uids)) || indexedBlobs(t, crashed) != 0 {
		t.Fatalf("before indexing: %d pending, %d indexed; want %d, 0", n, indexedBlobs(t, crashed), len(uids))
	}
	var below int64
	if err := crashed.pool.QueryRow(ctx, "SELECT unindexed_below FROM text_index_state").Scan(&below); err != nil || below > 1 {
		t.Fatalf("unindexed_below = %d (%v): pending blobs taken for unindexed ones", below, err)
	}
	storetest.CheckSearchText(t, crashed, inbox, uids, true)

	m := &pendingMetrics{}
	s := openDSN(t, dsn).WithMetrics(m)
	storetest.WaitTextIndexed(t, s)
	if got := indexedBlobs(t, s); got != int64(len(uids)) {
		t.Fatalf("after another node indexed: %d blobs indexed, want %d", got, len(uids))
	}
	storetest.CheckSearchText(t, s, inbox, uids, true)

	// A delivery now: found at once and after the indexer ran.
	late := []byte("Subject: late\r\n\r\nlatecomer text\r\n")
	d, err := s.Deliver(ctx, []store.Target{{AccountID: inbox.AccountID}}, store.NewMessage{Raw: late, Part: message.Parse(late)})
	if err != nil {
		t.Fatal(err)
	}
	search := func(when string) {
		t.Helper()
		hits, ok, err := s.SearchText(ctx, inbox, store.TextQuery{Needle: "LATECOMER"})
		got := hits.All()
		if err != nil || !ok || len(got) != 1 || got[0] != d[0].UID {
			t.Fatalf("%s: SearchText = %v, %v, %v; want [%d]", when, got, ok, err, d[0].UID)
		}
	}
	search("just delivered")
	storetest.WaitTextIndexed(t, s)
	if got := indexedBlobs(t, s); got != int64(len(uids))+1 {
		t.Fatalf("%d blobs indexed, want %d", got, len(uids)+1)
	}
	search("indexed")
	m.CheckDrained(t)
}

// TestTextIndexConcurrentIndexers: two nodes indexing the same pending
// blobs at once write one entry per blob, and neither fails.
func TestTextIndexConcurrentIndexers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := testDSN(t)
	nodes := []*Store{openNoIndexer(t, dsn), openNoIndexer(t, dsn)}
	var total int
	for i := range 4 {
		_, uids := deliverCorpus(t, nodes[0], string(rune('a'+i))+"@example.org")
		total += len(uids)
	}
	var wg sync.WaitGroup
	taken := make([]int, len(nodes))
	errs := make([]error, len(nodes))
	for i, s := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			write := func(ctx context.Context, fn func(sqlcore.Tx) error) error {
				return s.writeAlone(ctx, func(tx *wtx) error { return fn(tx) })
			}
			for {
				n, err := s.IndexPending(ctx, write, 3, 1<<20)
				if err != nil || n == 0 {
					errs[i] = err
					return
				}
				taken[i] += n
			}
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("node %d: %v", i, err)
		}
	}
	if n, err := nodes[0].TextPending(ctx); err != nil || n != 0 {
		t.Fatalf("%d pending (%v), want 0", n, err)
	}
	if got := indexedBlobs(t, nodes[0]); got != int64(total) {
		t.Fatalf("%d blobs indexed, want %d (nodes read %v)", got, total, taken)
	}
	if taken[0]+taken[1] != total {
		t.Fatalf("nodes took %v pending blobs, want %d in all: a blob read by both", taken, total)
	}
}

// TestTextIndexClaimSkipsLocked: an indexer passes over the pending rows
// another node's indexer holds, without waiting for it, and they stay
// pending until that one is done.
func TestTextIndexClaimSkipsLocked(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	dsn := testDSN(t)
	s := openNoIndexer(t, dsn)
	_, uids := deliverCorpus(t, s, "a@example.org")
	const held = 2
	// The other node's indexer, mid-batch: the two oldest rows locked.
	other, err := s.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Rollback(ctx)
	if _, err := other.Exec(ctx, "SELECT seq FROM text_pending ORDER BY seq LIMIT $1 FOR UPDATE", held); err != nil {
		t.Fatal(err)
	}
	write := func(ctx context.Context, fn func(sqlcore.Tx) error) error {
		return s.writeAlone(ctx, func(tx *wtx) error { return fn(tx) })
	}
	n, err := s.IndexPending(ctx, write, 1000, 1<<30)
	if err != nil || n != len(uids)-held {
		t.Fatalf("IndexPending beside a held batch = %d, %v; want %d", n, err, len(uids)-held)
	}
	if p, err := s.TextPending(ctx); err != nil || p != held {
		t.Fatalf("%d pending (%v), want the %d held", p, err, held)
	}
	if err := other.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	// One byte's worth takes one blob: the bound holds for a claim too.
	if n, err := s.IndexPending(ctx, write, 1000, 1); err != nil || n != 1 {
		t.Fatalf("IndexPending of 1 byte = %d, %v; want 1", n, err)
	}
	if n, err := s.IndexPending(ctx, write, 1000, 1<<30); err != nil || n != held-1 {
		t.Fatalf("IndexPending after = %d, %v; want %d", n, err, held-1)
	}
	if got := indexedBlobs(t, s); got != int64(len(uids)) {
		t.Fatalf("%d blobs indexed, want %d", got, len(uids))
	}
}
