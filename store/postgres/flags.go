package postgres

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/mailroom/mailroom/store"
)

// System flags are stored as bits of messages.sysflags.
const (
	bitSeen int64 = 1 << iota
	bitAnswered
	bitFlagged
	bitDeleted
	bitDraft
)

var sysFlagBits = []struct {
	name string
	bit  int64
}{
	{store.FlagSeen, bitSeen},
	{store.FlagAnswered, bitAnswered},
	{store.FlagFlagged, bitFlagged},
	{store.FlagDeleted, bitDeleted},
	{store.FlagDraft, bitDraft},
}

// checkFlags rejects flags the keywords column cannot hold (and IMAP
// cannot express): empty or containing spaces or control characters.
func checkFlags(flags []string) error {
	for _, f := range flags {
		if f == "" || strings.ContainsFunc(f, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
			return fmt.Errorf("%w: flag %q", store.ErrInvalid, f)
		}
	}
	return nil
}

// encodeFlags splits canonical flags into the sysflags bitmask and the
// keywords column.
func encodeFlags(flags []string) (sys int64, keywords string) {
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

// decodeFlags is the inverse of encodeFlags: the sorted flag list of a
// MessageMeta.
func decodeFlags(sys int64, keywords string) []string {
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

// applyFlags computes the new flags of a message for UpdateFlags.
func applyFlags(sys int64, keywords string, op store.FlagOp, opSys int64, opKw []string) (int64, string) {
	switch op {
	case store.FlagsReplace:
		return opSys, strings.Join(opKw, " ")
	case store.FlagsAdd:
		kw := splitKeywords(keywords)
		for _, k := range opKw {
			if !containsFold(kw, k) {
				kw = append(kw, k)
			}
		}
		sort.Strings(kw)
		return sys | opSys, strings.Join(kw, " ")
	default: // FlagsRemove
		var kw []string
		for _, k := range splitKeywords(keywords) {
			if !containsFold(opKw, k) {
				kw = append(kw, k)
			}
		}
		return sys &^ opSys, strings.Join(kw, " ")
	}
}

// sameKeywords reports whether two keyword lists name the same keywords;
// keywords compare case-insensitively.
func sameKeywords(a, b string) bool {
	if a == b {
		return true
	}
	ka, kb := splitKeywords(strings.ToLower(a)), splitKeywords(strings.ToLower(b))
	sort.Strings(ka)
	sort.Strings(kb)
	return slices.Equal(ka, kb)
}

func splitKeywords(s string) []string {
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

// uidArray converts uids for a bigint[] parameter.
func uidArray(uids []uint32) []int64 {
	out := make([]int64, len(uids))
	for i, u := range uids {
		out[i] = int64(u)
	}
	return out
}

func nowNano() int64 { return time.Now().UnixNano() }

// encodeTime stores t as unix nanoseconds plus its zone offset, so that
// INTERNALDATE comes back in the zone it was given in.
func encodeTime(t time.Time) (nano int64, offset int64) {
	_, off := t.Zone()
	return t.UnixNano(), int64(off)
}

func decodeTime(nano, offset int64) time.Time {
	return time.Unix(0, nano).In(time.FixedZone("", int(offset)))
}
