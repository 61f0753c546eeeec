package batch

import (
	"slices"
	"testing"

	"github.com/mailroom/mailroom/store"
)

// fakeMailbox answers the two queries from a sorted UID list, counting calls.
type fakeMailbox struct {
	uids    []uint32
	queries int
}

func (f *fakeMailbox) queriesFor() Queries {
	return Queries{
		After: func(last uint32, n int) ([]Row, error) {
			f.queries++
			var out []Row
			for _, u := range f.uids {
				if u > last && len(out) < n {
					out = append(out, Row{Meta: store.MessageMeta{UID: u}})
				}
			}
			return out, nil
		},
		In: func(uids []uint32) ([]Row, error) {
			f.queries++
			var out []Row
			for _, u := range f.uids {
				if slices.Contains(uids, u) {
					out = append(out, Row{Meta: store.MessageMeta{UID: u}})
				}
			}
			return out, nil
		},
	}
}

func collect(t *testing.T, f *fakeMailbox, uids []uint32, n int) []uint32 {
	t.Helper()
	var got []uint32
	if err := Each(uids, n, f.queriesFor(), func(m store.MessageMeta, _ []byte) error {
		got = append(got, m.UID)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return got
}

func TestEachWholeMailboxChunkBoundaries(t *testing.T) {
	f := &fakeMailbox{uids: []uint32{1, 2, 3, 5, 8, 9}}
	if got := collect(t, f, nil, 3); !slices.Equal(got, f.uids) {
		t.Fatalf("got %v", got)
	}
	// 6 messages in chunks of 3: two full chunks and one empty read.
	if f.queries != 3 {
		t.Errorf("%d queries, want 3", f.queries)
	}
}

func TestEachUIDSetSortedChunkedAndSkipsMissing(t *testing.T) {
	f := &fakeMailbox{uids: []uint32{1, 2, 3, 5, 8, 9}}
	got := collect(t, f, []uint32{9, 4, 1, 5, 2}, 2)
	if want := []uint32{1, 2, 5, 9}; !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v (sorted, missing UID 4 skipped)", got, want)
	}
	if f.queries != 3 {
		t.Errorf("%d queries for 5 UIDs in chunks of 2, want 3", f.queries)
	}
	if got := collect(t, f, []uint32{}, 2); len(got) != 0 {
		t.Errorf("empty set returned %v", got)
	}
}
