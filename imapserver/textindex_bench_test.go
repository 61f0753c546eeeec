package imapserver

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/mailroom/mailroom/store"
	"github.com/mailroom/mailroom/store/storetest"
)

// BenchmarkSearchTextLarge measures SEARCH TEXT over IMAP on a mailbox of
// 20,000 messages of 1-4 KB (as mrbench's large scenario builds: one in
// ten has "zebrafish"), with the full-text index and by reading every
// message (scan), for a word in 10% of the messages, a rare one and a
// two-letter needle the index cannot answer.
// MAILROOM_SEARCH_BENCH_N sets the number of messages (issue 15 measures
// 100,000); above 20,000 the scan server is left out (it alone would take
// seconds a search).
// Run: go test -run '^$' -bench SearchTextLarge -benchtime 5x ./imapserver
func BenchmarkSearchTextLarge(b *testing.B) {
	n := 20_000
	if v, err := strconv.Atoi(os.Getenv("MAILROOM_SEARCH_BENCH_N")); err == nil && v > 0 {
		n = v
	}
	idx := startTestServer(b)
	servers := []*testServer{idx}
	var scan *testServer
	if n <= 20_000 {
		scan = startTestServer(b, func(c *Config) { c.Store = scanOnlyStore{realFeed{c.Store}} })
		servers = append(servers, scan)
	}
	err := storetest.LargeMailbox(n, func(batch []store.NewMessage) error {
		for _, ts := range servers {
			if _, _, err := ts.st.Append(context.Background(), mustInbox(b, ts), batch); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	// Measure the index, not the background indexer's backlog.
	for {
		left, err := idx.st.TextPending(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		if left == 0 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, srv := range []struct {
		name string
		ts   *testServer
	}{{"index", idx}, {"scan", scan}} {
		if srv.ts == nil {
			continue
		}
		tc := srv.ts.login()
		tc.transactf("ok", "select INBOX")
		for _, q := range []struct {
			needle string
			hits   int
		}{{"zebrafish", n / 10}, {"okapi", 1}, {"ok", -1}} {
			b.Run(srv.name+"/"+q.needle, func(b *testing.B) {
				for b.Loop() {
					s := find(parseResps(b, tc.transactf("ok", "search text %s", q.needle)), "SEARCH")
					if len(s) != 1 {
						b.Fatalf("SEARCH responses: %v", s)
					}
					if got := strs(s[0].items); q.hits >= 0 && len(got) != q.hits {
						b.Fatalf("SEARCH TEXT %s: %d hits, want %d", q.needle, len(got), q.hits)
					}
				}
			})
		}
	}
}
