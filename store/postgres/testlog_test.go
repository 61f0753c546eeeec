package postgres

import (
	"bytes"
	"log/slog"
	"sync"
	"testing"
)

// testLogger returns a logger that keeps what the store logs (every
// level) and prints it if t fails, after the cleanups registered after
// it (the store's Close) ran: a background worker's errors (the text
// indexer, LISTEN) explain a hang guard that fired.
func testLogger(t testing.TB) *slog.Logger {
	t.Helper()
	l := &recordedLog{}
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.dropped > 0 {
			t.Logf("store log: %d earlier bytes dropped", l.dropped)
		}
		t.Logf("store log:\n%s", l.buf.Bytes())
	})
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// recordedLog keeps the last maxRecordedLog bytes written to it.
type recordedLog struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	dropped int
}

const maxRecordedLog = 64 << 10

func (l *recordedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	if over := l.buf.Len() - maxRecordedLog; over > 0 {
		l.buf.Next(over)
		l.dropped += over
	}
	return len(p), nil
}
