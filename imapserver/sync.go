package imapserver

import (
	"errors"
	"slices"
	"time"

	"github.com/mailroom/mailroom/imapserver/imapmsg"
	"github.com/mailroom/mailroom/store"
)

// conn.pending when no change is pending, and when changes to several
// mailboxes but not the mailbox list are.
const (
	noChange         = -1
	severalMailboxes = -2
)

// watchFuncer is the optional callback form of Store.Watch (store.Feed
// implements it); with it, a connection needs no goroutine for the feed.
type watchFuncer interface {
	WatchFunc(accountID int64, fn func(store.Change)) (cancel func())
}

// watch subscribes the connection to the account's change feed.
func (c *conn) watch(accountID int64) {
	c.cancelWatch = c.subscribe(accountID, c.onChange)
}

// subscribe calls fn with each change of the account's feed until cancel.
func (c *conn) subscribe(accountID int64, fn func(store.Change)) (cancel func()) {
	if w, ok := c.srv.cfg.Store.(watchFuncer); ok {
		return w.WatchFunc(accountID, fn)
	}
	changes, cancel := c.srv.cfg.Store.Watch(accountID)
	go func() {
		for ch := range changes {
			fn(ch)
		}
	}()
	return cancel
}

// onChange is the feed callback. It runs under the feed's lock: it only
// records the change and, in IDLE, wakes the connection's read; the
// connection goroutine does the store reads and the writing.
func (c *conn) onChange(ch store.Change) { c.recordChange(ch, true) }

// recordChange is onChange; notify tells whether NOTIFY hears of the
// change too (not of one from a shared mailbox's feed, shared.go).
func (c *conn) recordChange(ch store.Change, notify bool) {
	c.pendingMu.Lock()
	if ch.Metadata != nil {
		// Metadata of a shared mailbox's owner is not this account's
		// to hear of (NOTIFY covers the account's own mailboxes).
		wake := notify && c.notifyRecordMetadata(ch)
		c.pendingMu.Unlock()
		if wake {
			c.wake()
		}
		return
	}
	id := ch.MailboxID
	if old := c.pending.Load(); old != noChange && old != id {
		if old == 0 || id == 0 {
			id = 0 // the mailbox list changed
		} else {
			id = severalMailboxes // the selected one among them, maybe
		}
	}
	c.pending.Store(id)
	c.events++
	if notify {
		c.notifyRecord(ch.MailboxID)
	}
	c.notifiedAt = c.srv.indexes.Tick()
	c.pendingMu.Unlock()
	c.wake()
}

// wake interrupts the connection's read while it idles.
func (c *conn) wake() {
	c.wakeMu.Lock()
	if c.idling {
		c.raw.SetReadDeadline(time.Now())
	}
	c.wakeMu.Unlock()
}

// pendingChange takes the pending change, if any, and reports whether
// the selected mailbox may have changed.
func (c *conn) pendingChange() bool {
	changed, _ := c.takeChange()
	return changed
}

// takeChange takes the pending change, if any, and reports whether the
// selected mailbox may have changed and whether the mailbox list (or the
// account) may have: a create, delete or rename, or a deleted account.
func (c *conn) takeChange() (selected, list bool) {
	c.pendingMu.Lock()
	id := c.pending.Swap(noChange)
	c.pendingMu.Unlock()
	if id == noChange {
		return false, false
	}
	return c.sel == nil || id == 0 || id == severalMailboxes || id == c.sel.mbox.ID, id == 0
}

// feedMark is where the change feed stood before one of the session's own
// writes: how many changes it had reported and whether one was pending.
type feedMark struct {
	events  uint64
	pending bool
}

// markFeed notes where the feed stands before a write of the session's own.
func (c *conn) markFeed() feedMark {
	c.pendingMu.Lock()
	defer c.pendingMu.Unlock()
	return feedMark{events: c.events, pending: c.pending.Load() != noChange}
}

// tookOwnWrite takes in the session's own write to the selected mailbox,
// so that the end-of-command sync does not read it back. changed is what
// the write changed, with the consecutive modseqs the store allocated
// after the mailbox's previous HIGHESTMODSEQ (store.Store.UpdateFlags).
// Only when nothing else can have happened is anything skipped: the view
// was at that previous HIGHESTMODSEQ (so no other change came first), no
// change was pending before the write, and the feed reported exactly the
// write's own change since (the stores publish it before the write
// returns). Then the view moves to the write's modseq, the shared index
// takes the change if it stood where the view did, and the pending wake-up
// is dropped. Anything else leaves all as it was, and sync reads Changes.
func (c *conn) tookOwnWrite(mark feedMark, changed []store.MessageMeta) {
	v := c.sel
	if len(changed) == 0 || mark.pending || !c.srv.feedComplete {
		return
	}
	before, after := changed[0].ModSeq-1, changed[0].ModSeq
	for _, m := range changed {
		before, after = min(before, m.ModSeq-1), max(after, m.ModSeq)
	}
	if v.modseq != before || after-before != uint64(len(changed)) {
		return
	}
	if !c.onlyOwn(mark, 1, v.mbox.ID) {
		return
	}
	v.index.Took(before, after, changed, nil)
	v.modseq = after
	for _, m := range changed {
		c.announceKeywords(m.Flags)
		if len(v.contexts) > 0 {
			v.ownChanged = append(v.ownChanged, m.UID)
		}
	}
}

// onlyOwn reports whether the feed reported exactly the session's own
// write since mark: events changes, leaving pending at want. If so, it
// drops the pending wake-up.
func (c *conn) onlyOwn(mark feedMark, events uint64, want int64) bool {
	c.pendingMu.Lock()
	defer c.pendingMu.Unlock()
	own := c.events == mark.events+events && c.pending.Load() == want
	if own {
		c.pending.Store(noChange)
	}
	return own
}

// tookOwnExpunge is tookOwnWrite for the session's own expunge of gone,
// which left the mailbox at HIGHESTMODSEQ highest (store.Store.Expunge:
// one new modseq per removed message, so the write found it at
// highest-len(gone)). It reports whether it took the expunge in; the
// caller still announces gone.
func (c *conn) tookOwnExpunge(mark feedMark, gone []uint32, highest uint64) bool {
	return c.tookOwnRemoval(mark, gone, highest, 1, c.sel.mbox.ID)
}

// tookOwnMove is tookOwnExpunge for the session's own MOVE of moved to
// another mailbox (store.Store.Move), which the feed reports as two
// changes: the destination's, then the selected mailbox's.
func (c *conn) tookOwnMove(mark feedMark, moved []uint32, srcHighest uint64) bool {
	return c.tookOwnRemoval(mark, moved, srcHighest, 2, severalMailboxes)
}

func (c *conn) tookOwnRemoval(mark feedMark, gone []uint32, highest, events uint64, pending int64) bool {
	v := c.sel
	if len(gone) == 0 || mark.pending || !c.srv.feedComplete || highest < uint64(len(gone)) {
		return false
	}
	before := highest - uint64(len(gone))
	if v.modseq != before || !c.onlyOwn(mark, events, pending) {
		return false
	}
	v.index.Took(before, highest, nil, gone)
	v.modseq = highest
	return true
}

// Errors that end the session: the ground it stood on is gone.
var (
	// errSelectedGone: the selected mailbox was deleted or renamed by
	// another session (or deleted and created again under its name). As
	// Dovecot does, the session ends with BYE rather than going on with
	// a selection that names nothing, or something else.
	errSelectedGone = errors.New("imapserver: selected mailbox was deleted or renamed")
	// errAccountGone: the account was deleted (mailroom user delete).
	errAccountGone = errors.New("imapserver: account was deleted")
)

func isSessionGone(err error) bool {
	return errors.Is(err, errSelectedGone) || errors.Is(err, errAccountGone)
}

// checkGone reports errAccountGone when the logged-in account no longer
// exists and errSelectedGone when the selected mailbox no longer does
// under its id, UIDVALIDITY and name. The change feed only says that the
// mailbox list changed, so this asks the store; the store calls of a
// session are scoped by account and UIDVALIDITY besides, so a session that
// has not noticed yet still reaches nothing else.
func (c *conn) checkGone() error {
	if c.acct.ID == 0 {
		return nil
	}
	if _, err := c.srv.cfg.Store.AccountByID(c.ctx, c.acct.ID); errors.Is(err, store.ErrNotFound) {
		return errAccountGone
	} else if err != nil {
		return err
	}
	if c.sel != nil {
		mb, err := c.srv.cfg.Store.MailboxByID(c.ctx, c.sel.mbox.Ref())
		if errors.Is(err, store.ErrNotFound) || (err == nil && mb.Name != c.sel.mbox.Name) {
			return errSelectedGone
		}
		if err != nil {
			return err
		}
		c.goneHighest = mb.HighestModSeq
	}
	c.goneChecked = c.srv.cfg.Now()
	return nil
}

// goneCheckInterval is how often a session that hears of no change checks
// anyway that its account and selected mailbox still exist, unless the
// store's feed carries other processes' commits too (completeFeed): a
// store without that may miss a change made by another process (mailroom
// user delete, while serve runs). Both backends have it (SQLite polls
// data_version once a second per Store; PostgreSQL has NOTIFY), so a
// NOOP, LOGOUT or IDLE-DONE with nothing changed reads nothing.
const goneCheckInterval = time.Second

// completeFeed is implemented by a store whose change feed also carries
// the commits of other processes and nodes (store/sqlite/external.go,
// store/postgres/listen.go).
type completeFeed interface {
	FeedCoversOtherProcesses() bool
}

// sync brings the session's view up to date and writes the untagged
// EXISTS, FETCH and (when allowed) EXPUNGE/VANISHED responses. It reads
// from the store first and writes afterwards. It returns errSelectedGone
// or errAccountGone when the session must end.
func (c *conn) sync(allowExpunge bool) error {
	changed, list := c.takeChange()
	if list || (!c.srv.feedComplete && c.srv.cfg.Now().Sub(c.goneChecked) >= goneCheckInterval) {
		if err := c.checkGone(); err != nil {
			return err
		}
		if c.sel != nil && c.goneHighest > c.sel.modseq {
			changed = true
		}
	}
	if c.notify.quietSelected() {
		return nil // NOTIFY asked for no events of the selected mailbox
	}
	return c.syncForce(changed, allowExpunge)
}

func (c *conn) syncForce(changed, allowExpunge bool) error {
	v := c.sel
	if v == nil {
		return nil
	}
	if changed && v.owner != "" {
		if err := c.checkSharedRights(); err != nil { // shared.go
			return err
		}
	}
	if v.revoked {
		return nil // nothing of a mailbox no longer readable
	}
	defer func() { v.reported = nil }()
	var metas []store.MessageMeta
	var vanished []uint32
	if changed {
		var highest uint64
		var err error
		metas, vanished, highest, err = c.changes(v)
		if errors.Is(err, store.ErrNotFound) {
			// The selected mailbox (or the account) is gone.
			if err := c.checkGone(); err != nil {
				return err
			}
			return errSelectedGone
		}
		if err != nil {
			return err
		}
		v.addExpunged(vanished)
		if highest > v.modseq {
			v.modseq = highest
		}
	}
	// What may wait (the store, the index's locks, the \Recent claim) is
	// done before the first write: an idler woken with thousands of others
	// borrows a write buffer (idlePush) only to write, not to queue on the
	// claim behind the session that writes it.
	gone := make(map[uint32]bool, len(vanished))
	for _, u := range vanished {
		gone[u] = true
	}
	claimed := false
	if upTo := newMaxUID(v, metas, gone); upTo > v.maxUID() {
		if err := c.claimRecent(upTo); err != nil {
			return err
		}
		claimed = true
	}
	c.getWriter()
	if allowExpunge && len(v.expunged) > 0 {
		c.announceExpunged(v.expunged)
	}
	slices.SortFunc(metas, func(a, b store.MessageMeta) int { return cmpUint32(a.UID, b.UID) })
	var added []uint32
	var flagChanges []store.MessageMeta
	for _, m := range metas {
		if gone[m.UID] {
			continue
		}
		switch {
		case m.UID > v.maxUID():
			v.uids = append(v.uids, m.UID)
			added = append(added, m.UID)
		case v.seq(m.UID) != 0:
			if ms, ok := v.reported[m.UID]; ok && ms >= m.ModSeq {
				continue
			}
			flagChanges = append(flagChanges, m)
		}
	}
	for _, m := range metas {
		if !gone[m.UID] {
			c.announceKeywords(m.Flags)
		}
	}
	if len(added) > 0 {
		if !claimed {
			if err := c.claimRecent(v.maxUID()); err != nil {
				return err
			}
		}
		c.untagged().Number(uint32(len(v.uids))).Raw(" EXISTS\r\n")
		if v.recent != nil {
			c.untagged().Number(v.recentCount()).Raw(" RECENT\r\n")
		}
		if err := c.notifyFetchNew(added); err != nil {
			return err
		}
	}
	for _, m := range flagChanges {
		if c.notify != nil && c.notify.selected&evFlagChange == 0 {
			break // NOTIFY without FlagChange for the selected mailbox
		}
		c.writeFlagsFetch(m, true, true, c.condstore)
	}
	return c.syncContexts(metas, gone)
}

// newMaxUID is the highest UID of metas that are not gone, or the view's
// highest UID when that is higher.
func newMaxUID(v *view, metas []store.MessageMeta, gone map[uint32]bool) uint32 {
	upTo := v.maxUID()
	for _, m := range metas {
		if m.UID > upTo && !gone[m.UID] {
			upTo = m.UID
		}
	}
	return upTo
}

// changes returns what changed in the selected mailbox after the view's
// modseq, as Store.Changes does: from the mailbox's shared index when the
// feed covers every commit (one store read per change for all the
// sessions it wakes), else from the store.
func (c *conn) changes(v *view) (metas []store.MessageMeta, vanished []uint32, highest uint64, err error) {
	if c.srv.feedComplete {
		c.pendingMu.Lock()
		notified := c.notifiedAt
		c.pendingMu.Unlock()
		var ok bool
		metas, vanished, highest, ok, err = v.index.ChangesSince(c.ctx, notified, v.modseq, c.goneHighest)
		if err != nil || ok {
			return metas, vanished, highest, err
		}
	}
	metas, vanished, highest, err = c.srv.cfg.Store.Changes(c.ctx, v.mbox.Ref(), v.modseq)
	if err == nil {
		v.index.Took(v.modseq, highest, metas, vanished)
	}
	return metas, vanished, highest, err
}

// reportHighestModSeq sends "* OK [HIGHESTMODSEQ n]" after a sync when
// the client must learn it: once CONDSTORE was just turned on by a
// command while a mailbox is selected (enabling, RFC 7162 §3.1), and for
// a QRESYNC session whenever the mailbox's modseq moved past the value
// last sent (after an APPEND, COPY or MOVE into it, or changes by others),
// as Dovecot does, so a QRESYNC client never keeps a stale HIGHESTMODSEQ.
// Not while expunges are still to be announced: the value would claim
// that the client knows of them.
func (c *conn) reportHighestModSeq(enabled bool) {
	v := c.sel
	if v == nil || !c.condstore || len(v.expunged) > 0 {
		if v != nil && enabled {
			v.owedHighest = true
		}
		return
	}
	if !enabled && !v.owedHighest && !(c.qresync && v.modseq > v.sentHighest) {
		return
	}
	v.owedHighest = false
	v.sentHighest = v.modseq
	c.untagged().Raw("OK [").Raw(codeHighestModSeq).SP().Number64(v.modseq).Raw("] highest\r\n")
}

// announceExpunged sends EXPUNGE (or VANISHED with QRESYNC) for uids and
// removes them from the view. It is linear in the size of the view, so a
// mass expunge in a large mailbox stays cheap.
func (c *conn) announceExpunged(uids []uint32) {
	v := c.sel
	gone := make(map[uint32]bool, len(uids))
	for _, u := range uids {
		gone[u] = true
	}
	var present []uint32 // ascending, as v.uids is
	var seqs []uint32
	for i, u := range v.uids {
		if gone[u] {
			present = append(present, u)
			seqs = append(seqs, uint32(i+1))
		}
	}
	if len(present) > 0 {
		c.contextsExpunge(gone) // REMOVEFROM before EXPUNGE (RFC 5267 §4.3.4)
	}
	v.removeSet(gone)
	if len(present) == 0 {
		return
	}
	if c.qresync {
		c.untagged().Raw("VANISHED ").Raw(imapmsg.NumSetFromNums(present).String()).CRLF()
		return
	}
	// Highest first, so that each sequence number is still valid when sent.
	for i := len(seqs) - 1; i >= 0; i-- {
		c.untagged().Number(seqs[i]).Raw(" EXPUNGE\r\n")
	}
}

func cmpUint32(a, b uint32) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
