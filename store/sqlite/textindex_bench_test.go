package sqlite

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/mailroom/mailroom/store"
	"github.com/mailroom/mailroom/store/storetest"
)

// BenchmarkDeliverParallelText is BenchmarkDeliverParallel with messages
// of realistic size and text, whose full-text index entries cost most.
func BenchmarkDeliverParallelText(b *testing.B) {
	storetest.BenchDeliverParallelText(b, openTest(b))
}

// BenchmarkSearchTextLarge is SearchText on a mailbox of 100,000
// messages (storetest.LargeMailbox), for a word in 10% of them and a rare
// one, in a database kept under the temp dir between runs (filled once per
// schema version, indexed before measuring): MAILROOM_SEARCH_BENCH_DB
// names another file. It reports the hits and the size of the index.
// Run: go test -run '^$' -bench SearchTextLarge -benchtime 20x ./store/sqlite
func BenchmarkSearchTextLarge(b *testing.B) {
	const n = 100_000
	ctx := context.Background()
	path := os.Getenv("MAILROOM_SEARCH_BENCH_DB")
	if path == "" {
		path = filepath.Join(os.TempDir(), fmt.Sprintf("mailroom-searchbench-%d-v%d.db", n, schemaVersion))
	}
	s, err := OpenWith(ctx, path, nil, Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	a, err := s.AccountByEmail(ctx, "big@example.org")
	if errors.Is(err, store.ErrNotFound) {
		if a, err = s.CreateAccount(ctx, "big@example.org", "h"); err == nil {
			var inbox store.Mailbox
			if inbox, err = s.MailboxByName(ctx, a.ID, store.Inbox); err == nil {
				err = storetest.LargeMailbox(n, func(batch []store.NewMessage) error {
					_, _, err := s.Append(ctx, inbox.Ref(), batch)
					return err
				})
			}
		}
	}
	if err != nil {
		b.Fatal(err)
	}
	inbox, err := s.MailboxByName(ctx, a.ID, store.Inbox)
	if err != nil {
		b.Fatal(err)
	}
	if err := s.ReindexText(ctx, 0, nil); err != nil { // pending too
		b.Fatal(err)
	}
	var ftsBytes int64
	if err := s.rdb.QueryRow("SELECT sum(pgsize) FROM dbstat WHERE name LIKE 'blob_text%'").Scan(&ftsBytes); err != nil {
		b.Logf("index size: %v", err)
	}
	for _, needle := range []string{"zebrafish", "okapi"} {
		b.Run(needle, func(b *testing.B) {
			var hits store.TextHits
			for b.Loop() {
				if hits, _, err = s.SearchText(ctx, inbox.Ref(), store.TextQuery{Needle: needle}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(hits.Exact)), "exact")
			b.ReportMetric(float64(len(hits.Candidates)), "candidates")
			b.ReportMetric(float64(ftsBytes)/(1<<20), "index-MiB")
		})
	}
}
