package store

import (
	"sort"
	"strings"
)

func equalFold(a, b string) bool { return strings.EqualFold(a, b) }

// IsSystemFlag reports whether f is one of the RFC 9051 system flags.
func IsSystemFlag(f string) bool {
	switch strings.ToLower(f) {
	case `\seen`, `\answered`, `\flagged`, `\deleted`, `\draft`:
		return true
	}
	return false
}

// CanonicalFlags returns flags with system flags in canonical case, duplicates
// removed (case-insensitively) and sorted. \Recent is dropped: it is a
// session property, never stored.
func CanonicalFlags(flags []string) []string {
	out := make([]string, 0, len(flags))
	seen := make(map[string]bool, len(flags))
	for _, f := range flags {
		switch strings.ToLower(f) {
		case `\seen`:
			f = FlagSeen
		case `\answered`:
			f = FlagAnswered
		case `\flagged`:
			f = FlagFlagged
		case `\deleted`:
			f = FlagDeleted
		case `\draft`:
			f = FlagDraft
		case `\recent`, "":
			continue
		}
		k := strings.ToLower(f)
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}

// CanonicalMailboxName returns name with INBOX (any case, also as the first
// level of a hierarchical name) spelled "INBOX" and a trailing delimiter
// removed.
func CanonicalMailboxName(name string) string {
	name = strings.TrimSuffix(name, string(Delimiter))
	if strings.EqualFold(name, Inbox) {
		return Inbox
	}
	if len(name) > len(Inbox) && name[len(Inbox)] == byte(Delimiter) && strings.EqualFold(name[:len(Inbox)], Inbox) {
		return Inbox + name[len(Inbox):]
	}
	return name
}
