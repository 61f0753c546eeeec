package postgres

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mailroom/mailroom/store"
	"github.com/mailroom/mailroom/store/storetest"
)

func openDSN(t testing.TB, dsn string) *Store {
	t.Helper()
	s, err := Open(context.Background(), dsn, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

func openTest(t testing.TB) *Store { return openDSN(t, testDSN(t)) }

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openTest(t) })
}

// TestConformanceRecipients runs the suite on the store delivery reads
// (Recipients: lookups from the node's cache): every write's own
// invalidation makes its change visible when the write returns.
func TestConformanceRecipients(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openTest(t).Recipients() })
}

// Ids are never reused (issue 11 items 1 and 21): every id a session,
// client or log holds comes from an identity column, whose sequence only
// moves forward (a rolled-back or deleted row's id is never handed out
// again). storetest's IDsNotReused checks the behaviour; this pins the
// schema that guarantees it.
func TestIDsFromIdentityColumns(t *testing.T) {
	s := openTest(t)
	for _, table := range []string{"accounts", "mailboxes", "messages", "queue"} {
		var identity, generation string
		err := s.pool.QueryRow(context.Background(), `SELECT is_identity, coalesce(identity_generation, '')
			FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1 AND column_name = 'id'`, table).Scan(&identity, &generation)
		if err != nil {
			t.Fatalf("%s.id: %v", table, err)
		}
		if identity != "YES" {
			t.Errorf("%s.id is not an identity column (is_identity %q): its ids could be reused", table, identity)
		}
	}
}

type countingMetrics struct {
	nopMetrics
	writes, batches, batched atomic.Int64
}

func (m *countingMetrics) StoreBatch(n int) {
	m.batches.Add(1)
	m.batched.Add(int64(n))
}

func (m *countingMetrics) StoreWrite(d time.Duration) {
	if d > 0 {
		m.writes.Add(1)
	}
}

// Every write is reported with its latency (mailroom_store_write_duration_seconds
// on PostgreSQL as on SQLite); reads are not.
func TestWriteMetrics(t *testing.T) {
	s := openTest(t)
	m := &countingMetrics{}
	s.WithMetrics(m)
	ctx := context.Background()
	if _, err := s.CreateAccount(ctx, "metrics@example.org", "pw"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AccountByEmail(ctx, "metrics@example.org"); err != nil {
		t.Fatal(err)
	}
	if n := m.writes.Load(); n < 1 {
		t.Fatalf("%d writes reported after CreateAccount", n)
	}
	before := m.writes.Load()
	if _, err := s.AddDomain(ctx, "metrics.example"); err != nil {
		t.Fatal(err)
	}
	if got := m.writes.Load() - before; got != 1 {
		t.Errorf("AddDomain reported %d writes, want 1", got)
	}
}

// Message bytes and index text are compressed with lz4 (migration 20):
// pglz_compress was a fifth of the server's CPU time per delivery. A
// server built without lz4 keeps pglz.
func TestBlobsCompressedWithLZ4(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	var lz4 bool
	if err := s.pool.QueryRow(ctx, "SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'").Scan(&lz4); err != nil {
		t.Fatal(err)
	}
	a, err := s.CreateAccount(ctx, "lz4@example.org", "pw")
	if err != nil {
		t.Fatal(err)
	}
	// Large enough to be compressed, compressible enough to be kept so.
	body := strings.Repeat("all work and no play makes a dull message\r\n", 200)
	if _, err := s.Deliver(ctx, []store.Target{{AccountID: a.ID}}, store.NewMessage{Raw: []byte("Subject: lz4\r\n\r\n" + body)}); err != nil {
		t.Fatal(err)
	}
	storetest.WaitTextIndexed(t, s) // the entry is written in the background
	want := "pglz"
	if lz4 {
		want = "lz4"
	}
	for _, col := range []string{"b.raw", "t.body"} {
		var method *string
		err := s.pool.QueryRow(ctx, "SELECT pg_column_compression("+col+") FROM blobs b JOIN blob_text t ON t.blob_id = b.id ORDER BY b.id DESC LIMIT 1").Scan(&method)
		if err != nil {
			t.Fatal(err)
		}
		if method == nil || *method != want {
			t.Errorf("%s of a new message compressed with %v, want %s", col, method, want)
		}
	}
}
