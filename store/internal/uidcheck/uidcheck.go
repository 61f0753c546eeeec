// Package uidcheck holds the check both backends make of the UIDs a
// caller chooses (store.Store.AppendUIDs).
package uidcheck

import (
	"fmt"

	"github.com/mailroom/mailroom/store"
)

// Check checks uids, chosen by the caller for n messages, against mailbox
// m: one per message, strictly ascending, the first not below m.UIDNext,
// none 0 or 2^32-1 (UIDNEXT must stay representable). ErrInvalid
// otherwise.
func Check(m store.Mailbox, n int, uids []uint32) error {
	if len(uids) != n {
		return fmt.Errorf("%w: %d UIDs for %d messages", store.ErrInvalid, len(uids), n)
	}
	for i, u := range uids {
		if i == 0 && u < m.UIDNext {
			return fmt.Errorf("%w: UID %d below UIDNEXT %d of mailbox %q", store.ErrInvalid, u, m.UIDNext, m.Name)
		}
		if i > 0 && u <= uids[i-1] {
			return fmt.Errorf("%w: UIDs not strictly ascending (%d after %d)", store.ErrInvalid, u, uids[i-1])
		}
		if u == 0 || u == ^uint32(0) {
			return fmt.Errorf("%w: UID %d out of range", store.ErrInvalid, u)
		}
	}
	return nil
}
