package imapserver

import (
	"slices"
	"sort"

	"github.com/mailroom/mailroom/store"
)

// \Recent (RFC 3501 §2.3.2) for IMAP4rev1 sessions; RFC 9051 dropped it,
// so a session that enabled IMAP4rev2 has none. As in Dovecot, exactly
// one session sees a message as recent: the first to select the mailbox
// read-write after the message arrived, or the session that has it
// selected when it arrives. Store.ClaimRecent hands each UID to one
// claimer in one statement, across nodes. EXAMINE takes nothing: it
// shows as recent what no session has taken yet.

// uidRange is the UIDs [first, next).
type uidRange struct{ first, next uint32 }

// isRecent reports whether uid is \Recent in this session.
func (v *view) isRecent(uid uint32) bool {
	// The ranges ascend and do not overlap: the first ending above uid.
	i := sort.Search(len(v.recent), func(i int) bool { return v.recent[i].next > uid })
	return i < len(v.recent) && uid >= v.recent[i].first
}

// recentCount is the number of messages in the view that are recent.
func (v *view) recentCount() uint32 {
	// The ranges and the UIDs ascend: per range, two binary searches,
	// not a look at every message for every idler a delivery wakes.
	n := 0
	for _, r := range v.recent {
		lo, _ := slices.BinarySearch(v.uids, r.first)
		hi, _ := slices.BinarySearch(v.uids, r.next)
		n += hi - lo
	}
	return uint32(n)
}

// startRecent sets up the selected view's recent ranges at SELECT or
// EXAMINE.
func (c *conn) startRecent() error {
	v := c.sel
	if c.rev2 {
		return nil
	}
	v.recent = []uidRange{}
	if v.readOnly {
		first, _, err := c.srv.cfg.Store.RecentCount(c.ctx, v.mbox.Ref())
		if err != nil {
			return err
		}
		v.recent = append(v.recent, uidRange{max(first, 1), ^uint32(0)})
		return nil
	}
	return c.claimRecent(v.maxUID())
}

// claimRecent takes the messages that arrived since the last claim, for a
// read-write IMAP4rev1 session whose view holds UIDs up to upTo (sync
// claims before it adds the new UIDs to the view).
func (c *conn) claimRecent(upTo uint32) error {
	v := c.sel
	if v.recent == nil || v.readOnly {
		return nil
	}
	// One claim at a time per mailbox in this process: when a delivery
	// wakes many idlers, the first claims and the others then find that
	// another session took every message they can see (the store's
	// pointer only moves on), so a claim would give them nothing: they
	// skip the write.
	// The index's claim mark is the highest "next" a ClaimRecent on the
	// mailbox returned in this process: the store's first recent UID is
	// at least that.
	var first, next uint32
	err := v.index.Claim(func(mark uint32) (uint32, error) {
		if mark > upTo {
			first, next = 0, 0
			return mark, nil
		}
		var err error
		first, next, err = c.srv.cfg.Store.ClaimRecent(c.ctx, v.mbox.Ref())
		return next, err
	})
	if err != nil {
		return err
	}
	if first >= next {
		return nil
	}
	if n := len(v.recent); n > 0 && v.recent[n-1].next == first {
		v.recent[n-1].next = next
		return nil
	}
	v.recent = append(v.recent, uidRange{first, next})
	return nil
}

// firstUnseen is the sequence number of the first message without \Seen
// in the view, 0 when there is none (the UNSEEN code of SELECT, RFC 3501
// §6.3.1).
func (c *conn) firstUnseen() uint32 {
	v := c.sel
	for start := 0; start < len(v.uids); start += fetchChunk {
		metas := v.index.Lookup(nil, v.uids[start:min(start+fetchChunk, len(v.uids))])
		for _, m := range metas {
			if !m.HasFlag(store.FlagSeen) {
				return v.seq(m.UID)
			}
		}
	}
	return 0
}
