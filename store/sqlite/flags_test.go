package sqlite

import (
	"slices"
	"strings"
	"testing"

	"github.com/mailroom/mailroom/store"
)

// FuzzFlagsRoundTrip checks that storing flags as bitmask + keywords and
// reading them back gives store.CanonicalFlags of the input.
func FuzzFlagsRoundTrip(f *testing.F) {
	f.Add(`\seen $Label \Recent \SEEN Custom`)
	f.Add(`\Deleted \Draft \Answered \Flagged`)
	f.Add(`a A b`)
	f.Fuzz(func(t *testing.T, in string) {
		flags := strings.Fields(in)
		if checkFlags(flags) != nil {
			return
		}
		sys, kw := encodeFlags(flags)
		got := decodeFlags(sys, kw)
		want := store.CanonicalFlags(flags)
		if len(want) == 0 {
			want = []string{}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("round trip of %q: %q, want %q", flags, got, want)
		}
		// Applying the same flags again is a no-op.
		s2, k2 := applyFlags(sys, kw, store.FlagsAdd, sys, splitKeywords(kw))
		if s2 != sys || !sameKeywords(k2, kw) {
			t.Fatalf("re-adding %q changed flags to %d %q", flags, s2, k2)
		}
	})
}
