package sqlite

import (
	"context"
	"testing"

	"github.com/mailroom/mailroom/store/storetest"
)

// TestReindexText: messages stored before migration 15 are searched by
// reading them until ReindexText indexes them.
func TestReindexText(t *testing.T) {
	t.Parallel()
	s := openTest(t)
	storetest.CheckReindex(t, s, func(t *testing.T) {
		err := s.write(context.Background(), func(tx *wtx) error {
			_, err := tx.Exec("DELETE FROM blob_text")
			if err == nil {
				_, err = tx.Exec("UPDATE text_index_state SET unindexed_below = (SELECT max(id) + 1 FROM blobs)")
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}
