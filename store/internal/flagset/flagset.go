// Package flagset is the storage encoding of message flags shared by the
// store backends: system flags as bits of an integer column, keywords as a
// space-separated text column.
package flagset

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/mailroom/mailroom/store"
)

// System flags are stored as bits of the messages.sysflags column.
const (
	BitSeen int64 = 1 << iota
	BitAnswered
	BitFlagged
	BitDeleted
	BitDraft
)

var sysFlagBits = []struct {
	name string
	bit  int64
}{
	{store.FlagSeen, BitSeen},
	{store.FlagAnswered, BitAnswered},
	{store.FlagFlagged, BitFlagged},
	{store.FlagDeleted, BitDeleted},
	{store.FlagDraft, BitDraft},
}

// Check rejects flags the keywords column cannot hold (and IMAP
// cannot express): empty or containing spaces or control characters.
func Check(flags []string) error {
	for _, f := range flags {
		if f == "" || strings.ContainsFunc(f, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
			return fmt.Errorf("%w: flag %q", store.ErrInvalid, f)
		}
	}
	return nil
}

// Encode splits canonical flags into the sysflags bitmask and the
// keywords column.
func Encode(flags []string) (sys int64, keywords string) {
	var kw []string
	for _, f := range store.CanonicalFlags(flags) {
		if b := sysBit(f); b != 0 {
			sys |= b
		} else {
			kw = append(kw, f)
		}
	}
	sort.Strings(kw)
	return sys, strings.Join(kw, " ")
}

func sysBit(f string) int64 {
	for _, s := range sysFlagBits {
		if strings.EqualFold(s.name, f) {
			return s.bit
		}
	}
	return 0
}

// Decode is the inverse of Encode: the sorted flag list of a
// MessageMeta.
func Decode(sys int64, keywords string) []string {
	flags := []string{}
	for _, s := range sysFlagBits {
		if sys&s.bit != 0 {
			flags = append(flags, s.name)
		}
	}
	if keywords != "" {
		flags = append(flags, strings.Split(keywords, " ")...)
	}
	sort.Strings(flags)
	return flags
}

// Apply computes the new flags of a message for UpdateFlags.
func Apply(sys int64, keywords string, op store.FlagOp, opSys int64, opKw []string) (int64, string) {
	switch op {
	case store.FlagsReplace:
		return opSys, strings.Join(opKw, " ")
	case store.FlagsAdd:
		kw := SplitKeywords(keywords)
		for _, k := range opKw {
			if !containsFold(kw, k) {
				kw = append(kw, k)
			}
		}
		sort.Strings(kw)
		return sys | opSys, strings.Join(kw, " ")
	default: // FlagsRemove
		var kw []string
		for _, k := range SplitKeywords(keywords) {
			if !containsFold(opKw, k) {
				kw = append(kw, k)
			}
		}
		return sys &^ opSys, strings.Join(kw, " ")
	}
}

// SameKeywords reports whether two keyword lists name the same keywords;
// keywords compare case-insensitively.
func SameKeywords(a, b string) bool {
	if a == b {
		return true
	}
	ka, kb := SplitKeywords(strings.ToLower(a)), SplitKeywords(strings.ToLower(b))
	sort.Strings(ka)
	sort.Strings(kb)
	return slices.Equal(ka, kb)
}

func SplitKeywords(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, " ")
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}
