package smtpserver

import (
	"fmt"
	"io"
	"log/slog"
	"testing"

	"github.com/mailroom/mailroom/store"
)

// TestReplyNoSpace: a full store is 452 4.3.1 (temporary: the sender
// retries), not 451 4.3.0 Internal error. Issue 11, item 16.
func TestReplyNoSpace(t *testing.T) {
	r := replyFor(slog.New(slog.NewTextHandler(io.Discard, nil)), fmt.Errorf("deliver: %w", store.ErrNoSpace))
	if r.Code != 452 || r.EnhancedCode != [3]int{4, 3, 1} {
		t.Fatalf("got %d %v, want 452 4.3.1", r.Code, r.EnhancedCode)
	}
}
