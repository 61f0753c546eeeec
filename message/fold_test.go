package message

import (
	"testing"

	"golang.org/x/text/cases"
)

var foldSeeds = []string{
	"", "plain ascii", "MiXeD CaSe", "Straße", "ΣΊΣΥΦΟΣ and ASCII", "K Kelvin",
	"ǅungla İstanbul", "ﬁle ﬂow", "bad \xff\xfe utf8 ABC", "日本語 TEXT 日本",
	"\u0130\u0049", "abc\u0301DEF",
}

// TestFoldMatchesCaser pins the ASCII fast path to x/text's full case
// folding of the whole string.
func TestFoldMatchesCaser(t *testing.T) {
	for _, s := range foldSeeds {
		if got, want := Fold(s), cases.Fold().String(s); got != want {
			t.Errorf("Fold(%q) = %q, want %q", s, got, want)
		}
	}
}

func FuzzFold(f *testing.F) {
	for _, s := range foldSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := Fold(s), cases.Fold().String(s); got != want {
			t.Errorf("Fold(%q) = %q, want %q", s, got, want)
		}
	})
}

func BenchmarkFoldASCII(b *testing.B) {
	s := ""
	for len(s) < 64<<10 {
		s += "Budget MEETING report for the Quarter, see attached. "
	}
	b.SetBytes(int64(len(s)))
	for b.Loop() {
		Fold(s)
	}
}
