package imapserver

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestListMatcher(t *testing.T) {
	for _, tt := range []struct {
		pat, name string
		want      bool
	}{
		{"*", "", true},
		{"*", "a/b/c", true},
		{"%", "a", true},
		{"%", "a/b", false},
		{"%", "", true},
		{"a/%", "a/b", true},
		{"a/%", "a/b/c", false},
		{"a/*", "a/b/c", true},
		{"a*c", "abbbc", true},
		{"a*c", "abbbcd", false},
		{"a%c", "ab/c", false},
		{"%/%", "a/b", true},
		{"INBOX", "INBOX", true},
		{"INBOX", "INBOX/x", false},
		{"*%", "a/b", true},
		{"%*", "a/b", true},
		{"%%", "a/b", false},
		{"", "", true},
		{"", "a", false},
		{"a%", "a", true},
		{"*b*b*b", "bbb", true},
		{"*b*b*b", "bb", false},
		{"Caf\xc3\xa9/%", "Caf\xc3\xa9/x", true},
	} {
		if got := compileListPattern(tt.pat).match(tt.name); got != tt.want {
			t.Errorf("match(%q, %q) = %v, want %v", tt.pat, tt.name, got, tt.want)
		}
		if got := matchListPatternRef(tt.pat, tt.name); got != tt.want {
			t.Errorf("ref(%q, %q) = %v, want %v", tt.pat, tt.name, got, tt.want)
		}
	}
	// More than 64 states: the carry between words.
	long := strings.Repeat("ab", 100)
	if !compileListPattern(long[:150]+"*").match(long) || compileListPattern(long+"x").match(long) {
		t.Error("long pattern")
	}
}

// TestListMatcherWorstCase: patterns built to make a backtracking matcher
// or a regexp blow up cost linear time (issue 11, item 10: a 2M-character
// "*" pattern took 20 s and 1.1 GB with regexp, "*%"×2000 ran on and on).
// The worst cases are timed against the same number of matches of a plain
// literal pattern as long (linear for any matcher), best of three rounds
// each: a ratio, not a wall-clock bound, so a slow or loaded machine under
// -race slows both sides alike (an absolute 2 s bound took 1.1 s here).
func TestListMatcherWorstCase(t *testing.T) {
	name := strings.Repeat("a/", maxMailboxName/2-1) + "b"
	worst := []string{
		strings.Repeat("*%", maxMailboxName/2),
		strings.Repeat("*a", maxMailboxName/2),
		strings.Repeat("%a", maxMailboxName/2),
		strings.Repeat("a*", maxMailboxName/2-1) + "c",
	}
	literal := []string{name, name, name, name} // matches all the way
	run := func(patterns []string) time.Duration {
		best := time.Duration(1<<63 - 1)
		for range 3 {
			start := time.Now()
			for _, p := range patterns {
				m := compileListPattern(p)
				for range 20 {
					m.match(name)
				}
			}
			best = min(best, time.Since(start))
		}
		return best
	}
	base := run(literal)
	if d := run(worst); d > 10*base {
		t.Fatalf("80 worst-case matches took %v, 80 literal ones %v", d, base)
	} else {
		t.Logf("80 worst-case matches took %v, 80 literal ones %v", d, base)
	}
}

// FuzzListMatcher compares the compiled matcher with the obvious
// recursive one.
func FuzzListMatcher(f *testing.F) {
	for _, s := range [][2]string{{"*", "a/b"}, {"%/%", "a/b"}, {"a*%b", "a/xb"}, {"%%*", ""}, {"*b*b", "bab/b"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pat, name string) {
		if len(pat) > 12 || len(name) > 24 || strings.Count(pat, "*")+strings.Count(pat, "%") > 6 {
			return // the reference is exponential
		}
		if got, want := compileListPattern(pat).match(name), matchListPatternRef(pat, name); got != want {
			t.Fatalf("match(%q, %q) = %v, reference %v", pat, name, got, want)
		}
	})
}

// TestListMatcherCorpus keeps the seed corpus directory in step with the
// fuzz target (go test runs its files as part of FuzzListMatcher).
func TestListMatcherCorpus(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "fuzz", "FuzzListMatcher", "*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no seed corpus for FuzzListMatcher: %v", err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil || !strings.HasPrefix(string(b), "go test fuzz v1\n") {
			t.Fatalf("%s: not a corpus file: %v", f, fmt.Sprint(err))
		}
	}
}
