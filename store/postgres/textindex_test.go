package postgres

import (
	"context"
	"testing"

	"github.com/mailroom/mailroom/store/storetest"
)

// TestReindexText: messages stored before migration 13 are searched by
// reading them until ReindexText indexes them.
func TestReindexText(t *testing.T) {
	t.Parallel()
	s := openTest(t)
	storetest.CheckReindex(t, s, func(t *testing.T) {
		if _, err := s.pool.Exec(context.Background(), "DELETE FROM blob_text; UPDATE text_index_state SET unindexed_below = (SELECT max(id) + 1 FROM blobs)"); err != nil {
			t.Fatal(err)
		}
	})
}
