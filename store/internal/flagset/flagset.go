// Package flagset is the storage encoding of message flags shared by the
// store backends: system flags as bits of an integer column, keywords as a
// space-separated text column.
package flagset

import (
	"fmt"
	"math/bits"
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
	if sys == 0 && keywords == "" {
		return []string{} // no allocation: the common case of a new message
	}
	n := bits.OnesCount64(uint64(sys & sysMask))
	if keywords != "" {
		n += strings.Count(keywords, " ") + 1
	}
	flags := make([]string, 0, n)
	for _, s := range sysFlagsSorted {
		if sys&s.bit != 0 {
			flags = append(flags, s.name)
		}
	}
	if keywords == "" {
		return flags // already sorted
	}
	for kw := range strings.SplitSeq(keywords, " ") {
		flags = append(flags, kw)
	}
	slices.Sort(flags)
	return flags
}

// sysFlagsSorted is sysFlagBits in the order Decode returns names.
var sysFlagsSorted = func() []struct {
	name string
	bit  int64
} {
	s := slices.Clone(sysFlagBits)
	slices.SortFunc(s, func(a, b struct {
		name string
		bit  int64
	}) int {
		return strings.Compare(a.name, b.name)
	})
	return s
}()

const sysMask = BitSeen | BitAnswered | BitFlagged | BitDeleted | BitDraft

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

// Change is a validated flag operation of store.Store.UpdateFlags.
type Change struct {
	op  store.FlagOp
	sys int64
	kw  []string
}

// NewChange validates op and flags for UpdateFlags.
func NewChange(op store.FlagOp, flags []string) (Change, error) {
	if op != store.FlagsReplace && op != store.FlagsAdd && op != store.FlagsRemove {
		return Change{}, fmt.Errorf("%w: flag operation %d", store.ErrInvalid, op)
	}
	if err := Check(flags); err != nil {
		return Change{}, err
	}
	sys, kw := Encode(flags)
	return Change{op: op, sys: sys, kw: SplitKeywords(kw)}, nil
}

// Update is the new stored state of one message.
type Update struct {
	ID       int64
	Sys      int64
	Keywords string
	ModSeq   uint64
}

// Plan computes what the change does to metas (the messages in UID order)
// in a mailbox whose HIGHESTMODSEQ is highest: a message modified after
// unchangedSince (when > 0) fails (CONDSTORE); a message whose flags would
// not change is left alone; every other one gets the next modseq. It
// returns the rows to write, the messages' new metadata, and the failed
// UIDs. The caller writes the updates and sets HIGHESTMODSEQ to the last
// update's modseq.
func (c Change) Plan(metas []store.MessageMeta, unchangedSince, highest uint64) (updates []Update, changed []store.MessageMeta, failed []uint32) {
	modseq := highest
	for _, m := range metas {
		if unchangedSince > 0 && m.ModSeq > unchangedSince {
			failed = append(failed, m.UID)
			continue
		}
		oldSys, oldKw := Encode(m.Flags)
		newSys, newKw := Apply(oldSys, oldKw, c.op, c.sys, c.kw)
		if newSys == oldSys && SameKeywords(newKw, oldKw) {
			continue
		}
		modseq++
		updates = append(updates, Update{ID: m.ID, Sys: newSys, Keywords: newKw, ModSeq: modseq})
		m.ModSeq = modseq
		m.Flags = Decode(newSys, newKw)
		changed = append(changed, m)
	}
	return updates, changed, failed
}
