package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"net/url"
	"time"

	_ "modernc.org/sqlite" // registers driver "sqlite"
)

// cmdWaitIndexed waits until a running mailroom's background full-text
// indexer has caught up with a SQLite store (no blob left in
// text_pending), as bench/run's Dovecot with fts-xapian has its index
// built (doveadm index) before any scenario: otherwise the indexing of
// the large mailbox's 100,000 messages competes with the first run's
// scenarios. It reads the file read-only beside the server, starting no
// store (and so no indexer) of its own.
func cmdWaitIndexed(args []string) error {
	fs := flag.NewFlagSet("wait-indexed", flag.ExitOnError)
	db := fs.String("db", "", "mailroom.db path")
	timeout := fs.Duration("timeout", 30*time.Minute, "give up after")
	fs.Parse(args)
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	n, waited, err := waitIndexed(ctx, *db, time.Second)
	if err != nil {
		return fmt.Errorf("wait-indexed: %d blobs still pending after %v: %w", n, waited.Round(time.Second), err)
	}
	fmt.Printf("text index caught up after %v\n", waited.Round(time.Second))
	return nil
}

// waitIndexed polls the store at path every poll until text_pending is
// empty; it returns the last count and how long it waited. A deadline
// that ends a count in flight returns the count before it (-1 if none
// completed), not the interrupted query's -1.
func waitIndexed(ctx context.Context, path string, poll time.Duration) (int64, time.Duration, error) {
	start := time.Now()
	u := url.URL{Scheme: "file", Path: path, RawQuery: "mode=ro&_pragma=busy_timeout(5000)"}
	d, err := sql.Open("sqlite", u.String())
	if err != nil {
		return -1, 0, err
	}
	defer d.Close()
	last := int64(-1)
	for {
		var n int64
		if err := d.QueryRowContext(ctx, "SELECT count(*) FROM text_pending").Scan(&n); err != nil {
			if ctx.Err() != nil {
				return last, time.Since(start), ctx.Err()
			}
			return last, time.Since(start), err
		}
		last = n
		if n == 0 {
			return 0, time.Since(start), nil
		}
		select {
		case <-ctx.Done():
			return n, time.Since(start), ctx.Err()
		case <-time.After(poll):
		}
	}
}
