package flagset

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
		if Check(flags) != nil {
			return
		}
		sys, kw := Encode(flags)
		got := Decode(sys, kw)
		want := store.CanonicalFlags(flags)
		if len(want) == 0 {
			want = []string{}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("round trip of %q: %q, want %q", flags, got, want)
		}
		// Applying the same flags again is a no-op.
		s2, k2 := Apply(sys, kw, store.FlagsAdd, sys, SplitKeywords(kw))
		if s2 != sys || !SameKeywords(k2, kw) {
			t.Fatalf("re-adding %q changed flags to %d %q", flags, s2, k2)
		}
	})
}
