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
func TestListMatcherWorstCase(t *testing.T) {
	name := strings.Repeat("a/", maxMailboxName/2-1) + "b"
	start := time.Now()
	for _, p := range []string{
		strings.Repeat("*%", maxMailboxName/2),
		strings.Repeat("*a", maxMailboxName/2),
		strings.Repeat("%a", maxMailboxName/2),
		strings.Repeat("a*", maxMailboxName/2-1) + "c",
	} {
		m := compileListPattern(p)
		for range 100 {
			m.match(name)
		}
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("400 worst-case matches took %v", d)
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
