package main

import (
	"io"
	"log/slog"
	"testing"

	"github.com/mailroom/mailroom/internal/config"
)

// serve's Deliverer must commit local copies and the outbound queue
// entry in one store transaction (issue 13 point 2): a store wrapper or
// a wiring change that lost DeliverAndEnqueue would fail New, and one
// that slipped a Committer in would not be Transactional.
func TestServeDelivererIsTransactional(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := openStore(t.Context(), cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	q := newQueue(cfg, st, nil, nil, log)
	d, err := newDeliverer(cfg, newLive(cfg), st, q, nil, nil, log)
	if err != nil {
		t.Fatal(err)
	}
	if !d.Transactional() || !d.Outbound() {
		t.Fatalf("Transactional %v, Outbound %v; want both", d.Transactional(), d.Outbound())
	}
}
