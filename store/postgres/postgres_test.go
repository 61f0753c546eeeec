package postgres

import (
	"context"
	"testing"

	"github.com/mailroom/mailroom/store"
	"github.com/mailroom/mailroom/store/storetest"
)

func openDSN(t testing.TB, dsn string) *Store {
	t.Helper()
	s, err := Open(context.Background(), dsn, nil)
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
