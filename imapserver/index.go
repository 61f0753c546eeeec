package imapserver

import (
	"context"

	"github.com/mailroom/mailroom/store"
	"github.com/mailroom/mailroom/store/mboxindex"
)

// mailboxIndex is what a session uses of its mailbox's shared index
// (store/mboxindex): the metadata FETCH and SEARCH read, the changes a
// woken session syncs its view against (sync.go), and the session's own
// writes fed back into it.
type mailboxIndex interface {
	Refresh(ctx context.Context) error
	ChangesSince(ctx context.Context, notified, since, atLeast uint64) (changed []store.MessageMeta, vanished []uint32, highest uint64, ok bool, err error)
	Took(since, highest uint64, changed []store.MessageMeta, vanished []uint32)
	FreshFor(modseq uint64) bool
	UIDs() ([]uint32, uint64)
	Keywords() []string
	Lookup(dst []store.MessageMeta, uids []uint32) []store.MessageMeta
	Each(uids []uint32, fn func(m *store.MessageMeta))
	Claim(fn func(mark uint32) (uint32, error)) error
}

var _ mailboxIndex = (*mboxindex.Index)(nil)

// index returns the up-to-date index of the selected mailbox.
func (c *conn) index() (mailboxIndex, error) {
	x := c.sel.index
	if c.srv.feedComplete && c.pending.Load() == noChange && x.FreshFor(c.sel.modseq) {
		// The feed has reported nothing since the session's view was
		// brought up to c.sel.modseq, and the index is at least that
		// fresh: a Changes call would find nothing the view may show.
		// (The session's own writes publish before they return, so they
		// are pending here.)
		return x, nil
	}
	if err := x.Refresh(c.ctx); err != nil {
		return nil, err
	}
	return x, nil
}
