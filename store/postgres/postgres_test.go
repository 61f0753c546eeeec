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
