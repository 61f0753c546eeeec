package sieve

import (
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// matcher is a validated match type (RFC 5228 §2.7.1, RFC 5231, regex
// draft) with its comparator (RFC 4790 via RFC 5228 §2.7.3).
type matcher struct {
	typ        string // is, contains, matches, regex, count, value
	rel        string // gt ge lt le eq ne for count/value
	comparator string // i;octet, i;ascii-casemap, i;ascii-numeric
}

// compare orders a and b under the comparator: -1, 0, 1.
func compare(comparator, a, b string) int {
	switch comparator {
	case "i;octet":
		return strings.Compare(a, b)
	case "i;ascii-numeric":
		return compareNumeric(a, b)
	}
	return strings.Compare(asciiUpper(a), asciiUpper(b))
}

func asciiUpper(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'a' && c <= 'z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if b[j] >= 'a' && b[j] <= 'z' {
					b[j] -= 32
				}
			}
			return string(b)
		}
	}
	return s
}

// compareNumeric implements i;ascii-numeric (RFC 4790 §9.1): the leading
// digits are the value; a string not starting with a digit is positive
// infinity. Arbitrary length numbers compare without overflow.
func compareNumeric(a, b string) int {
	na, okA := numPrefix(a)
	nb, okB := numPrefix(b)
	switch {
	case !okA && !okB:
		return 0
	case !okA:
		return 1
	case !okB:
		return -1
	}
	if len(na) != len(nb) {
		if len(na) < len(nb) {
			return -1
		}
		return 1
	}
	return strings.Compare(na, nb)
}

func numPrefix(s string) (string, bool) {
	i := 0
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	if i == 0 {
		return "", false
	}
	d := strings.TrimLeft(s[:i], "0")
	return d, true
}

func relHolds(rel string, c int) bool {
	switch rel {
	case "gt":
		return c > 0
	case "ge":
		return c >= 0
	case "lt":
		return c < 0
	case "le":
		return c <= 0
	case "eq":
		return c == 0
	}
	return c != 0 // ne
}

func foldEq(comparator string, a, b rune) bool {
	if a == b {
		return true
	}
	if comparator == "i;ascii-casemap" {
		if a >= 'a' && a <= 'z' {
			a -= 32
		}
		if b >= 'a' && b <= 'z' {
			b -= 32
		}
		return a == b
	}
	return false
}

func containsFold(comparator, s, sub string) bool {
	if comparator == "i;ascii-casemap" {
		return strings.Contains(asciiUpper(s), asciiUpper(sub))
	}
	return strings.Contains(s, sub)
}

type globTok struct {
	wild byte // 0 literal, '*' or '?'
	r    rune
}

func compileGlob(p string) []globTok {
	var out []globTok
	for i := 0; i < len(p); {
		c := p[i]
		switch c {
		case '*', '?':
			out = append(out, globTok{wild: c})
			i++
			continue
		case '\\':
			if i+1 < len(p) {
				i++
			}
		}
		r, n := utf8.DecodeRuneInString(p[i:])
		out = append(out, globTok{r: r})
		i += n
	}
	return out
}

// globMatch matches s against a :matches pattern (RFC 5228 §2.7.1) and
// returns the text each wildcard matched (RFC 5229 §3.2: each "*" matches
// as little as possible, leftmost first). It backtracks only to the last
// "*", so it runs in O(len(s)*len(pattern)); steps counts the work and the
// match gives up (false) once steps exceeds max.
func globMatch(comparator, s, pattern string, steps *int, max int) ([]string, bool) {
	pt := compileGlob(pattern)
	rs := []rune(s)
	// starts[k] is where the k-th wildcard's capture begins; lens its length.
	type capt struct{ start, end int }
	var caps []capt
	pi, si := 0, 0
	starPi, starSi, starCaps := -1, 0, 0
	for {
		*steps++
		if *steps > max {
			return nil, false
		}
		if pi < len(pt) {
			t := pt[pi]
			switch {
			case t.wild == '*':
				caps = append(caps, capt{si, si})
				starPi, starSi, starCaps = pi, si, len(caps)
				pi++
				continue
			case si < len(rs) && t.wild == '?':
				caps = append(caps, capt{si, si + 1})
				pi++
				si++
				continue
			case si < len(rs) && t.wild == 0 && foldEq(comparator, t.r, rs[si]):
				pi++
				si++
				continue
			}
		} else if si == len(rs) {
			out := make([]string, len(caps))
			for i, c := range caps {
				out[i] = string(rs[c.start:c.end])
			}
			return out, true
		}
		if starPi < 0 || starSi >= len(rs) {
			return nil, false
		}
		// Extend the last "*" by one character and retry after it.
		starSi++
		caps = caps[:starCaps]
		caps[starCaps-1].end = starSi
		pi, si = starPi+1, starSi
	}
}

func compileRegex(p, comparator string) (*regexp.Regexp, error) {
	if comparator == "i;ascii-casemap" {
		p = "(?i)" + p
	}
	return regexp.Compile(p)
}

// quoteWildcard escapes :matches wildcards (RFC 5229 §4.1 :quotewildcard).
func quoteWildcard(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r == '*' || r == '?' || r == '\\' {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

func itoa(n int) string { return strconv.Itoa(n) }
