package imapmsg

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// ParseNumSet parses an IMAP sequence-set (RFC 9051 §9): comma-separated
// numbers and ranges "a:b", where "*" stands for the largest number in use,
// or the lone "$" of SEARCHRES (RFC 5182 §2.1). Ranges are kept as given
// (a range may run downwards: "5:2" means 2:5).
func ParseNumSet(s string) (NumSet, error) {
	if s == "$" {
		return NumSet{Saved: true}, nil
	}
	if s == "" {
		return NumSet{}, fmt.Errorf("%w: empty sequence set", ErrSyntax)
	}
	var set NumSet
	for item := range strings.SplitSeq(s, ",") {
		a, b, isRange := strings.Cut(item, ":")
		start, err := parseSeqNumber(a)
		if err != nil {
			return NumSet{}, err
		}
		stop := start
		if isRange {
			if stop, err = parseSeqNumber(b); err != nil {
				return NumSet{}, err
			}
		}
		set.Ranges = append(set.Ranges, NumRange{start, stop})
	}
	return set, nil
}

// parseSeqNumber parses seq-number = nz-number / "*"; "*" is returned as 0.
func parseSeqNumber(s string) (uint32, error) {
	if s == "*" {
		return 0, nil
	}
	if s == "" || s[0] < '1' || s[0] > '9' {
		return 0, fmt.Errorf("%w: bad number %q in sequence set", ErrSyntax, s)
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, fmt.Errorf("%w: bad number %q in sequence set", ErrSyntax, s)
		}
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("%w: number %q out of range", ErrSyntax, s)
	}
	return uint32(n), nil
}

// String formats s as a sequence-set: "$", or the ranges in order with
// single numbers written alone ("1:3,5,7:*"). The empty set formats as "".
func (s NumSet) String() string {
	if s.Saved {
		return "$"
	}
	b := make([]byte, 0, 8*len(s.Ranges))
	for i, r := range s.Ranges {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendSeqNumber(b, r.Start)
		if r.Stop != r.Start {
			b = append(b, ':')
			b = appendSeqNumber(b, r.Stop)
		}
	}
	return string(b)
}

func appendSeqNumber(b []byte, n uint32) []byte {
	if n == 0 {
		return append(b, '*')
	}
	return strconv.AppendUint(b, uint64(n), 10)
}

// Dynamic reports whether s uses "*" and so depends on the mailbox size.
func (s NumSet) Dynamic() bool {
	for _, r := range s.Ranges {
		if r.Start == 0 || r.Stop == 0 {
			return true
		}
	}
	return false
}

// bounds resolves r against max ("*" = max) and orders the ends. ok is
// false when nothing is left (a lone "*" in an empty mailbox).
func (r NumRange) bounds(max uint32) (lo, hi uint32, ok bool) {
	lo, hi = r.Start, r.Stop
	if lo == 0 {
		lo = max
	}
	if hi == 0 {
		hi = max
	}
	if lo > hi {
		lo, hi = hi, lo
	}
	if hi == 0 {
		return 0, 0, false
	}
	if lo == 0 {
		lo = 1
	}
	return lo, hi, true
}

// Contains reports whether n is in s, with "*" standing for max (the number
// of messages for sequence sets, the largest UID for UID sets). As RFC 9051
// §6.4.1 requires, "n:*" with n > max still contains max. A saved set ("$")
// contains nothing: the caller substitutes the saved result first.
func (s NumSet) Contains(n, max uint32) bool {
	if n == 0 {
		return false
	}
	for _, r := range s.Ranges {
		if lo, hi, ok := r.bounds(max); ok && lo <= n && n <= hi {
			return true
		}
	}
	return false
}

// Resolve returns the ranges of s with "*" replaced by last, each with
// Start <= Stop, sorted and merged. Numbers above last are kept (UID sets
// may name UIDs that do not exist); the caller clips or rejects them. A
// saved set ("$") resolves to nothing.
func (s NumSet) Resolve(last uint32) []NumRange {
	var out []NumRange
	for _, r := range s.Ranges {
		if lo, hi, ok := r.bounds(last); ok {
			out = append(out, NumRange{lo, hi})
		}
	}
	slices.SortFunc(out, func(a, b NumRange) int {
		switch {
		case a.Start < b.Start:
			return -1
		case a.Start > b.Start:
			return 1
		}
		return 0
	})
	merged := out[:0]
	for _, r := range out {
		if n := len(merged); n > 0 && uint64(r.Start) <= uint64(merged[n-1].Stop)+1 {
			merged[n-1].Stop = max(merged[n-1].Stop, r.Stop)
			continue
		}
		merged = append(merged, r)
	}
	return merged
}

// NumSetFromNums returns the compact set of nums (any order, duplicates and
// zeros ignored): 1,2,3,5 becomes 1:3,5. It is what COPYUID, ESEARCH ALL and
// VANISHED report.
func NumSetFromNums(nums []uint32) NumSet {
	sorted := slices.Clone(nums)
	slices.Sort(sorted)
	var set NumSet
	for _, n := range sorted {
		if n == 0 {
			continue
		}
		if k := len(set.Ranges); k > 0 && (set.Ranges[k-1].Stop == n || set.Ranges[k-1].Stop+1 == n) {
			set.Ranges[k-1].Stop = n
			continue
		}
		set.Ranges = append(set.Ranges, NumRange{n, n})
	}
	return set
}

// Nums returns the numbers of s resolved against max, ascending and without
// those above max. It is meant for small sets; iterate Resolve otherwise.
func (s NumSet) Nums(max uint32) []uint32 {
	var out []uint32
	for _, r := range s.Resolve(max) {
		for n := r.Start; n <= r.Stop && n <= max; n++ {
			out = append(out, n)
			if n == ^uint32(0) {
				break
			}
		}
	}
	return out
}
