package imapserver

import (
	"context"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/mailroom/mailroom/store"
)

// mboxIndex is an in-memory copy of one mailbox's message metadata (UID,
// modseq, flags, size, internal date, message id), shared by the sessions
// that select the mailbox. FETCH of metadata and SEARCH on flags read it
// instead of stepping every row in the store: FETCH 1:* (FLAGS) on a
// 100,000-message mailbox costs an encoding pass, not a table scan
// (BenchmarkLargeMailbox). It is what Dovecot's index files are to its
// mail files, except that it is rebuilt from the store and never written.
//
// The store stays the truth: refresh asks Store.Changes for what happened
// after the modseq the index was built to, so an index is exactly as fresh
// as a ListMessages call after each refresh, whichever node made the
// change. A session's own view (sequence numbers, deferred expunges) is
// separate; the index may be newer than that view, which only ever makes
// flags fresher.
type mboxIndex struct {
	ref store.MailboxRef // id, account and UIDVALIDITY: every read is scoped by them

	mu     sync.Mutex
	loaded bool
	modseq uint64              // changes up to here are in metas
	metas  []store.MessageMeta // ascending UID; Flags slices are shared, read-only
	flags  flagInterner
	n      atomic.Int64 // len(metas), readable without mu (cache eviction)

	// refreshedAt is the feed clock (Server.feedClock) as the last read
	// of the store that brought the index up to date (load or refresh)
	// began: every change the feed reported to a session before that
	// tick is in the index.
	refreshedAt uint64
	// log is what the last reads of the store found, oldest first, each
	// taking the index from one modseq to the next without a gap; it
	// covers everything after logFrom. Sessions that a change woke read
	// it instead of the store (changesSince): one Changes call per
	// change, not one per session.
	log     []changeRecord
	logFrom uint64
	logSize int // metas and UIDs held in log

	// recentNext is the highest "next" a Store.ClaimRecent on the
	// mailbox returned in this process: the store's first recent UID is
	// at least that (recent.go). recentMu guards it and runs the claims
	// of the process's sessions one at a time.
	recentMu   sync.Mutex
	recentNext uint32
}

// changeRecord is one read of the store's changes: what changed in
// (from, to].
type changeRecord struct {
	from, to uint64
	changed  []store.MessageMeta // Flags interned, read-only
	vanished []uint32
}

// Bounds of an index's change log: a session further behind reads the
// store itself.
const (
	maxLogRecords = 64
	maxLogSize    = 4096
)

// refresh brings the index up to date with the store: the first call
// reads every message, later ones only the changes since the last.
// clock is the server's feed clock.
func (x *mboxIndex) refresh(ctx context.Context, st Store, clock *atomic.Uint64) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.refreshLocked(ctx, st, clock)
}

func (x *mboxIndex) refreshLocked(ctx context.Context, st Store, clock *atomic.Uint64) error {
	at := clock.Add(1)
	if !x.loaded {
		if err := x.load(ctx, st); err != nil {
			return err
		}
		x.refreshedAt = at
		return nil
	}
	changed, vanished, highest, err := st.Changes(ctx, x.ref, x.modseq)
	if err != nil {
		return err
	}
	x.apply(changed, vanished)
	x.record(x.modseq, highest, changed, vanished)
	x.modseq = max(x.modseq, highest)
	x.n.Store(int64(len(x.metas)))
	x.refreshedAt = at
	return nil
}

// record appends to the change log what took the index from modseq from
// to modseq to (changed with interned Flags, as apply leaves them), and
// drops the oldest records beyond the log's bounds.
func (x *mboxIndex) record(from, to uint64, changed []store.MessageMeta, vanished []uint32) {
	if to <= from {
		return
	}
	if len(x.log) > 0 && x.log[len(x.log)-1].to != from {
		x.log, x.logSize = nil, 0 // a gap: start over
	}
	if len(x.log) == 0 {
		x.logFrom = from
	}
	for i := range changed {
		changed[i].Flags = x.flags.intern(changed[i].Flags)
	}
	x.log = append(x.log, changeRecord{from: from, to: to, changed: changed, vanished: vanished})
	x.logSize += len(changed) + len(vanished)
	for len(x.log) > 1 && (len(x.log) > maxLogRecords || x.logSize > maxLogSize) {
		x.logSize -= len(x.log[0].changed) + len(x.log[0].vanished)
		x.logFrom = x.log[0].to
		x.log[0] = changeRecord{}
		x.log = x.log[1:]
	}
}

// changesSince is Store.Changes(since) for a session on the mailbox,
// answered from the shared index: what changed after modseq since, the
// UIDs that vanished (possibly a few the session already knows gone),
// and the modseq that is complete up to. The index reads the store only
// if a change the feed reported to the session (the session's feed clock
// tick notified) may be missing from it, or it is behind atLeast; so when
// a delivery wakes 10,000 idling sessions, the first reads the store and
// the others read the index. ok is false when the log does not reach back
// to since (or the index is not loaded): then the session asks the store.
func (x *mboxIndex) changesSince(ctx context.Context, st Store, clock *atomic.Uint64, notified, since, atLeast uint64) (changed []store.MessageMeta, vanished []uint32, highest uint64, ok bool, err error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if !x.loaded {
		return nil, nil, 0, false, nil
	}
	if x.refreshedAt <= notified || x.modseq < max(since, atLeast) {
		if err := x.refreshLocked(ctx, st, clock); err != nil {
			return nil, nil, 0, false, err
		}
	}
	if since < x.logFrom || since > x.modseq {
		return nil, nil, 0, false, nil
	}
	// Newest record first, so each UID is taken in its latest state.
	var seen map[uint32]bool
	for i := len(x.log) - 1; i >= 0 && x.log[i].to > since; i-- {
		r := &x.log[i]
		vanished = append(vanished, r.vanished...)
		for _, m := range r.changed {
			if m.ModSeq <= since || seen[m.UID] {
				continue
			}
			if seen == nil {
				seen = make(map[uint32]bool)
			}
			seen[m.UID] = true
			changed = append(changed, m)
		}
	}
	return changed, vanished, x.modseq, true, nil
}

// took takes in what a session learnt from the store without the index:
// everything that happened after modseq since up to highest, as a Changes
// call or the session's own write returned it (changed, vanished). An
// index that stands within (since, highest) is brought to highest; one
// outside is left alone (it refreshes from the store when next asked), so
// a result older than the index never overwrites it.
func (x *mboxIndex) took(since, highest uint64, changed []store.MessageMeta, vanished []uint32) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if !x.loaded || x.modseq < since || x.modseq >= highest {
		return
	}
	x.apply(changed, vanished)
	// Since since <= x.modseq, this covers (x.modseq, highest] and more.
	x.record(x.modseq, highest, slices.Clone(changed), slices.Clone(vanished))
	x.modseq = highest
	x.n.Store(int64(len(x.metas)))
}

// freshFor reports whether the index is loaded and holds every change
// up to modseq.
func (x *mboxIndex) freshFor(modseq uint64) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.loaded && x.modseq >= modseq
}

// load reads the whole mailbox. The modseq is read before the messages:
// anything that changes while they are read is newer and is read again
// by the next refresh (applying a change twice is harmless).
func (x *mboxIndex) load(ctx context.Context, st Store) error {
	status, err := st.MailboxStatus(ctx, x.ref)
	if err != nil {
		return err
	}
	metas := make([]store.MessageMeta, 0, status.Messages)
	err = st.ListMessages(ctx, x.ref, nil, func(m store.MessageMeta) error {
		m.Flags = x.flags.intern(m.Flags)
		metas = append(metas, m)
		return nil
	})
	if err != nil {
		return err
	}
	x.metas, x.modseq, x.loaded = metas, status.HighestModSeq, true
	x.log, x.logFrom, x.logSize = nil, x.modseq, 0
	x.n.Store(int64(len(metas)))
	return nil
}

// apply merges the result of a Changes call: changed messages replace or
// join the index, vanished ones leave it.
func (x *mboxIndex) apply(changed []store.MessageMeta, vanished []uint32) {
	if len(vanished) > 0 {
		gone := make(map[uint32]bool, len(vanished))
		for _, u := range vanished {
			gone[u] = true
		}
		x.metas = slices.DeleteFunc(x.metas, func(m store.MessageMeta) bool { return gone[m.UID] })
	}
	unsorted := false
	for _, m := range changed {
		m.Flags = x.flags.intern(m.Flags)
		if n := len(x.metas); n == 0 || m.UID > x.metas[n-1].UID {
			x.metas = append(x.metas, m) // the usual case: a new message
			continue
		}
		i, found := slices.BinarySearchFunc(x.metas, m.UID, func(e store.MessageMeta, uid uint32) int { return cmpUint32(e.UID, uid) })
		if found {
			x.metas[i] = m
			continue
		}
		// Not seen before yet older than the newest: possible when it was
		// added while load was reading. Rare; sort once below.
		x.metas = append(x.metas, m)
		unsorted = true
	}
	if unsorted {
		slices.SortFunc(x.metas, func(a, b store.MessageMeta) int { return cmpUint32(a.UID, b.UID) })
	}
}

// uids returns the UIDs in the index, ascending, and the modseq they are
// complete up to.
func (x *mboxIndex) uids() ([]uint32, uint64) {
	x.mu.Lock()
	defer x.mu.Unlock()
	out := make([]uint32, len(x.metas))
	for i := range x.metas {
		out[i] = x.metas[i].UID
	}
	return out, x.modseq
}

// keywords returns the keywords (non-system flags) set on any message in
// the index, sorted. Messages share interned flag slices, so a slice
// equal to the previous one is skipped without a look at its elements.
func (x *mboxIndex) keywords() []string {
	x.mu.Lock()
	defer x.mu.Unlock()
	set := make(map[string]bool)
	var last []string
	for i := range x.metas {
		f := x.metas[i].Flags
		if len(f) == 0 || (len(last) == len(f) && &last[0] == &f[0]) {
			continue
		}
		last = f
		for _, k := range f {
			if !store.IsSystemFlag(k) {
				set[k] = true
			}
		}
	}
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// lookup appends to dst the metadata of each UID of uids (ascending) that
// is in the index, in UID order. The Flags slices must not be modified.
func (x *mboxIndex) lookup(dst []store.MessageMeta, uids []uint32) []store.MessageMeta {
	x.mu.Lock()
	defer x.mu.Unlock()
	if len(uids) == 0 {
		return dst
	}
	// Walk both ascending lists, starting at the first UID asked for.
	j, _ := slices.BinarySearchFunc(x.metas, uids[0], func(e store.MessageMeta, uid uint32) int { return cmpUint32(e.UID, uid) })
	for _, u := range uids {
		for j < len(x.metas) && x.metas[j].UID < u {
			j++
		}
		if j == len(x.metas) {
			break
		}
		if x.metas[j].UID == u {
			dst = append(dst, x.metas[j])
		}
	}
	return dst
}

// size is the number of messages in the index (as of its last refresh).
func (x *mboxIndex) size() int { return int(x.n.Load()) }

// flagInterner shares one []string among the messages with the same
// flags: a mailbox has few distinct flag sets, so an index of 100,000
// messages holds a handful of slices instead of 100,000.
type flagInterner struct {
	last  []string
	byKey map[string][]string
}

func (f *flagInterner) intern(flags []string) []string {
	if len(flags) == 0 {
		return nil
	}
	if slices.Equal(flags, f.last) {
		return f.last
	}
	key := strings.Join(flags, " ")
	if s, ok := f.byKey[key]; ok {
		f.last = s
		return s
	}
	if f.byKey == nil {
		f.byKey = make(map[string][]string)
	}
	if len(f.byKey) >= maxInternedFlagSets {
		return flags // a mailbox with very many keyword combinations
	}
	f.byKey[key] = flags
	f.last = flags
	return flags
}

const maxInternedFlagSets = 1024

// indexCache keeps the indexes of recently selected mailboxes, up to a
// total number of messages; the least recently used go first. A session
// holds its own pointer, so an index evicted while selected keeps working
// for that session and is freed when the last one lets go.
type indexCache struct {
	mu      sync.Mutex
	max     int // messages
	entries map[int64]*cacheEntry
	tick    uint64
}

type cacheEntry struct {
	idx  *mboxIndex
	used uint64
}

// get returns the index of mb, creating it (unloaded) if needed. A cached
// index under the same id but another account or UIDVALIDITY is replaced
// (ids are never reused, so that is defence in depth).
func (c *indexCache) get(mb store.Mailbox) *mboxIndex {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tick++
	if e, ok := c.entries[mb.ID]; ok && e.idx.ref == mb.Ref() {
		e.used = c.tick
		return e.idx
	}
	if c.entries == nil {
		c.entries = make(map[int64]*cacheEntry)
	}
	x := &mboxIndex{ref: mb.Ref()}
	c.entries[mb.ID] = &cacheEntry{idx: x, used: c.tick}
	return x
}

// trim drops least recently used indexes, other than keep's, while the
// cache holds more than max messages. SELECT calls it once the selected
// mailbox's index is loaded, so its size counts.
func (c *indexCache) trim(keep int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	total := 0
	for _, e := range c.entries {
		total += e.idx.size()
	}
	for total > c.max {
		var oldest int64
		var oldestUsed uint64
		found := false
		for id, e := range c.entries {
			if id != keep && (!found || e.used < oldestUsed) {
				oldest, oldestUsed, found = id, e.used, true
			}
		}
		if !found {
			return
		}
		total -= c.entries[oldest].idx.size()
		delete(c.entries, oldest)
	}
}

// index returns the up-to-date index of the selected mailbox.
func (c *conn) index() (*mboxIndex, error) {
	x := c.sel.index
	if c.srv.feedComplete && c.pending.Load() == noChange && x.freshFor(c.sel.modseq) {
		// The feed has reported nothing since the session's view was
		// brought up to c.sel.modseq, and the index is at least that
		// fresh: a Changes call would find nothing the view may show.
		// (The session's own writes publish before they return, so they
		// are pending here.)
		return x, nil
	}
	if err := x.refresh(c.ctx, c.srv.cfg.Store, &c.srv.feedClock); err != nil {
		return nil, err
	}
	return x, nil
}
