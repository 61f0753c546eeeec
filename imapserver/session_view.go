package imapserver

import (
	"slices"
	"sort"

	"github.com/mailroom/mailroom/imapserver/imapmsg"
	"github.com/mailroom/mailroom/store"
)

// view is a session's picture of its selected mailbox: the UIDs in sequence
// order and the modseq up to which changes have been taken in. Each session
// has its own; it changes only at the moments the session reports changes.
type view struct {
	mbox     store.Mailbox
	readOnly bool
	// owner is the owner's email when the mailbox is another account's
	// (shared.go), rights this account's rights on it (every right on
	// its own), revoked set once a shared mailbox's "r" right is gone.
	owner    string
	rights   string
	revoked  bool
	index    mailboxIndex // the mailbox's shared metadata (index.go)
	uids     []uint32     // ascending; index+1 is the sequence number
	modseq   uint64       // changes up to here are known
	expunged []uint32     // vanished UIDs still in uids, not yet announced
	saved    []uint32     // SEARCHRES "$" (RFC 5182), as UIDs
	keywords []string     // keywords announced in FLAGS, sorted; only grows
	// sentHighest is the HIGHESTMODSEQ last told the client; owedHighest
	// that CONDSTORE was enabled and the value is still to be sent.
	sentHighest uint64
	owedHighest bool
	// recent holds the UID ranges that are \Recent in this session
	// (IMAP4rev1 only; nil otherwise): recent.go.
	recent []uidRange
	// reported holds flag changes this session already sent during the
	// current command (its own STORE), so sync does not repeat them.
	reported map[uint32]uint64
	// contexts are the live SEARCH/SORT RETURN (UPDATE) results
	// (searchcontext.go); ownChanged the UIDs whose flags the session's
	// own writes changed, taken in without a sync read, which contexts
	// still have to match again.
	contexts   []*searchContext
	ownChanged []uint32
}

// may reports whether the session holds every right of want on the
// selected mailbox (RFC 4314 §4).
func (v *view) may(want string) bool { return store.HasRights(v.rights, want) }

// name is the selected mailbox's name as the client sees it.
func (v *view) name() string { return visibleName(v.owner, v.mbox.Name) }

// seq returns the sequence number of uid, or 0.
func (v *view) seq(uid uint32) uint32 {
	i, ok := slices.BinarySearch(v.uids, uid)
	if !ok {
		return 0
	}
	return uint32(i + 1)
}

// seqWalker is view.seq for UIDs asked in ascending order: a walk along
// the view's UIDs, not a binary search per message.
type seqWalker struct {
	uids []uint32
	at   int
}

func (w *seqWalker) seq(uid uint32) uint32 {
	for w.at < len(w.uids) && w.uids[w.at] < uid {
		w.at++
	}
	if w.at < len(w.uids) && w.uids[w.at] == uid {
		return uint32(w.at + 1)
	}
	return 0
}

func (v *view) maxUID() uint32 {
	if len(v.uids) == 0 {
		return 0
	}
	return v.uids[len(v.uids)-1]
}

// resolve turns a sequence set (or UID set when uid) into the UIDs it names
// that are in the view, ascending. A sequence number beyond the mailbox is a
// client error; non-existent UIDs are ignored (RFC 9051 §6.4.8).
func (v *view) resolve(set imapmsg.NumSet, uid bool) ([]uint32, error) {
	if set.Saved {
		out := make([]uint32, 0, len(v.saved))
		for _, u := range v.saved {
			if v.seq(u) != 0 {
				out = append(out, u)
			}
		}
		return out, nil
	}
	var out []uint32
	if uid {
		for _, r := range set.Resolve(v.maxUID()) {
			i := sort.Search(len(v.uids), func(i int) bool { return v.uids[i] >= r.Start })
			for ; i < len(v.uids) && v.uids[i] <= r.Stop; i++ {
				out = append(out, v.uids[i])
			}
		}
		return out, nil
	}
	n := uint32(len(v.uids))
	for _, r := range set.Resolve(n) {
		if r.Stop > n {
			return nil, badf(codeClientBug, "invalid sequence number %d (mailbox has %d messages)", r.Stop, n)
		}
		out = append(out, v.uids[r.Start-1:r.Stop]...)
	}
	return out, nil
}

// addExpunged records vanished UIDs that are still in the view as pending
// EXPUNGE announcements, keeping v.expunged sorted and free of duplicates.
func (v *view) addExpunged(vanished []uint32) {
	for _, u := range vanished {
		if v.seq(u) != 0 {
			v.expunged = append(v.expunged, u)
		}
	}
	slices.Sort(v.expunged)
	v.expunged = slices.Compact(v.expunged)
}

// removeSet drops every UID in gone from the view and the pending list in
// one pass.
func (v *view) removeSet(gone map[uint32]bool) {
	keep := func(u uint32) bool { return gone[u] }
	v.uids = slices.DeleteFunc(v.uids, keep)
	v.expunged = slices.DeleteFunc(v.expunged, keep)
}

// chunk is how many messages are read from the store at a time: enough to
// amortize the query, small enough to keep memory flat.
const chunk = 256

// fetchChunk is how many messages FETCH takes from the mailbox index and
// answers at a time, so one FETCH 1:* holds a bounded slice of metadata.
const fetchChunk = 1024

// currentMetas returns the metadata of uids (ascending) as the store has
// it now, from the mailbox index brought up to date; messages expunged
// meanwhile are left out.
func (c *conn) currentMetas(uids []uint32) ([]store.MessageMeta, error) {
	idx, err := c.index()
	if err != nil {
		return nil, err
	}
	return idx.Lookup(make([]store.MessageMeta, 0, len(uids)), uids), nil
}
