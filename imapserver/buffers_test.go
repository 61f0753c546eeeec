package imapserver

import (
	"testing"

	"github.com/mailroom/mailroom/store"
)

// TestMetasLentUpToN: the metadata slice FETCH and SEARCH borrow has room
// for the n entries asked for and no more (an append past it reallocates
// and leaves the pooled buffer alone), and putMetas leaves no entry with
// flags behind, though it clears only those n.
func TestMetasLentUpToN(t *testing.T) {
	c := &conn{srv: &Server{}}
	b, metas := c.getMetas(3)
	if len(metas) != 0 || cap(metas) != 3 {
		t.Fatalf("getMetas(3): len %d cap %d, want 0 and 3", len(metas), cap(metas))
	}
	for i := range 4 {
		metas = append(metas, store.MessageMeta{ID: int64(i + 1), UID: uint32(i + 1), Flags: []string{store.FlagSeen}})
	}
	if b.all[3].ID != 0 || b.all[2].ID != 3 {
		t.Fatalf("pooled buffer after 4 appends: entry 3 has ID %d (want 0: past n), entry 2 ID %d (want 3)", b.all[3].ID, b.all[2].ID)
	}
	c.putMetas(b)
	for i := range b.all {
		if b.all[i].ID != 0 || b.all[i].Flags != nil {
			t.Fatalf("entry %d kept after putMetas: %+v", i, b.all[i])
		}
	}
	if _, big := c.getMetas(fetchChunk + 10); cap(big) != fetchChunk {
		t.Fatalf("getMetas(fetchChunk+10): cap %d, want %d", cap(big), fetchChunk)
	}
}
