// Package mboxindex keeps in memory the message metadata of recently used
// mailboxes (UID, modseq, flags, size, dates), shared by every session of
// the process that syncs against a mailbox: IMAP's session views, and
// whatever else lists a mailbox (POP3's maildrop listing can take it from
// Index.Snapshot). It sits behind the store seam: it reads the store's
// interfaces only and knows nothing of any protocol. It is fed by the
// sessions' own writes (Index.Took, from the results UpdateFlags, Expunge
// and Move return) and by the change feed (Index.ChangesSince, which reads
// the store once per change for all the sessions it woke).
package mboxindex

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/mailroom/mailroom/store"
)

// Store is what an index reads.
type Store interface {
	MailboxStatus(ctx context.Context, mbox store.MailboxRef) (store.MailboxStatus, error)
	ListMessages(ctx context.Context, mbox store.MailboxRef, uids []uint32, fn func(store.MessageMeta) error) error
	Changes(ctx context.Context, mbox store.MailboxRef, since uint64) (changed []store.MessageMeta, vanished []uint32, highest uint64, err error)
}

var _ Store = store.Store(nil)

// Index is an in-memory copy of one mailbox's message metadata (UID,
// modseq, flags, size, internal date, message id), shared by the sessions
// that use the mailbox. IMAP's FETCH of metadata and SEARCH on flags read it
// instead of stepping every row in the store: FETCH 1:* (FLAGS) on a
// 100,000-message mailbox costs an encoding pass, not a table scan
// (imapserver's BenchmarkLargeMailbox). It is what Dovecot's index files are to its
// mail files, except that it is rebuilt from the store and never written.
//
// The store stays the truth: Refresh asks Store.Changes for what happened
// after the modseq the index was built to, so an index is exactly as fresh
// as a ListMessages call after each refresh, whichever node made the
// change. A session's own view (IMAP's sequence numbers, deferred
// expunges) is separate; the index may be newer than that view, which only
// ever makes flags fresher.
type Index struct {
	ref   store.MailboxRef // id, account and UIDVALIDITY: every read is scoped by them
	cache *Cache           // the store and the feed clock

	mu     sync.Mutex
	loaded bool
	modseq uint64              // changes up to here are in metas
	metas  []store.MessageMeta // ascending UID; Flags slices are shared, read-only
	flags  flagInterner
	n      atomic.Int64 // len(metas), readable without mu (cache eviction)

	// refreshedAt is the feed clock (Cache.Tick) as the last read
	// of the store that brought the index up to date (load or refresh)
	// began: every change the feed reported to a session before that
	// tick is in the index.
	refreshedAt uint64
	// log is what the last reads of the store found, oldest first, each
	// taking the index from one modseq to the next without a gap; it
	// covers everything after logFrom. Sessions that a change woke read
	// it instead of the store (ChangesSince): one Changes call per
	// change, not one per session.
	log     []changeRecord
	logFrom uint64
	logSize int // metas and UIDs held in log

	// claimMu runs Claim's calls one at a time; claimMark is what the
	// last returned.
	claimMu   sync.Mutex
	claimMark uint32
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

// Refresh brings the index up to date with the store: the first call
// reads every message, later ones only the changes since the last.
func (x *Index) Refresh(ctx context.Context) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.refreshLocked(ctx)
}

func (x *Index) refreshLocked(ctx context.Context) error {
	at := x.cache.Tick()
	if !x.loaded {
		if err := x.load(ctx); err != nil {
			return err
		}
		x.refreshedAt = at
		return nil
	}
	changed, vanished, highest, err := x.cache.st.Changes(ctx, x.ref, x.modseq)
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
func (x *Index) record(from, to uint64, changed []store.MessageMeta, vanished []uint32) {
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

// ChangesSince is Store.Changes(since) for a session on the mailbox,
// answered from the shared index: what changed after modseq since, the
// UIDs that vanished (possibly a few the session already knows gone),
// and the modseq that is complete up to. The index reads the store only
// if a change the feed reported to the session (the Cache.Tick the
// session took when told, notified) may be missing from it, or it is
// behind atLeast; so when
// a delivery wakes 10,000 idling sessions, the first reads the store and
// the others read the index. ok is false when the log does not reach back
// to since (or the index is not loaded): then the session asks the store.
func (x *Index) ChangesSince(ctx context.Context, notified, since, atLeast uint64) (changed []store.MessageMeta, vanished []uint32, highest uint64, ok bool, err error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if !x.loaded {
		return nil, nil, 0, false, nil
	}
	if x.refreshedAt <= notified || x.modseq < max(since, atLeast) {
		if err := x.refreshLocked(ctx); err != nil {
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

// Took takes in what a session learnt from the store without the index:
// everything that happened after modseq since up to highest, as a Changes
// call or the session's own write returned it (changed, vanished). An
// index that stands within (since, highest) is brought to highest; one
// outside is left alone (it refreshes from the store when next asked), so
// a result older than the index never overwrites it.
func (x *Index) Took(since, highest uint64, changed []store.MessageMeta, vanished []uint32) {
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

// FreshFor reports whether the index is loaded and holds every change
// up to modseq.
func (x *Index) FreshFor(modseq uint64) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.loaded && x.modseq >= modseq
}

// load reads the whole mailbox. The modseq is read before the messages:
// anything that changes while they are read is newer and is read again
// by the next refresh (applying a change twice is harmless).
func (x *Index) load(ctx context.Context) error {
	st := x.cache.st
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
func (x *Index) apply(changed []store.MessageMeta, vanished []uint32) {
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
		i, found := slices.BinarySearchFunc(x.metas, m.UID, func(e store.MessageMeta, uid uint32) int { return cmp.Compare(e.UID, uid) })
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
		slices.SortFunc(x.metas, func(a, b store.MessageMeta) int { return cmp.Compare(a.UID, b.UID) })
	}
}

// UIDs returns the UIDs in the index, ascending, and the modseq they are
// complete up to.
func (x *Index) UIDs() ([]uint32, uint64) {
	x.mu.Lock()
	defer x.mu.Unlock()
	out := make([]uint32, len(x.metas))
	for i := range x.metas {
		out[i] = x.metas[i].UID
	}
	return out, x.modseq
}

// Keywords returns the keywords (non-system flags) set on any message in
// the index, sorted. Messages share interned flag slices, so a slice
// equal to the previous one is skipped without a look at its elements.
func (x *Index) Keywords() []string {
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

// Lookup appends to dst the metadata of each UID of uids (ascending) that
// is in the index, in UID order. The Flags slices must not be modified.
func (x *Index) Lookup(dst []store.MessageMeta, uids []uint32) []store.MessageMeta {
	x.Each(uids, func(m *store.MessageMeta) { dst = append(dst, *m) })
	return dst
}

// Each is Lookup without the copy: it calls fn with the metadata of each
// UID of uids (ascending) that is in the index, in UID order, all under
// the index's lock, so fn sees the messages in one state even while
// sessions change flags. fn must not keep m or modify it, and must not
// wait for anything (no store call, no network write): IMAP's SEARCH on
// flags matches in place and copies only the messages that match.
func (x *Index) Each(uids []uint32, fn func(m *store.MessageMeta)) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if len(uids) == 0 {
		return
	}
	j, _ := slices.BinarySearchFunc(x.metas, uids[0], func(e store.MessageMeta, uid uint32) int { return cmp.Compare(e.UID, uid) })
	for _, u := range uids {
		for j < len(x.metas) && x.metas[j].UID < u {
			j++
		}
		if j == len(x.metas) {
			break
		}
		if x.metas[j].UID == u {
			fn(&x.metas[j])
		}
	}
}

// Snapshot returns a copy of the metadata in the index, ascending by UID,
// and the modseq it is complete up to (POP3's maildrop listing). The Flags
// slices must not be modified.
func (x *Index) Snapshot() ([]store.MessageMeta, uint64) {
	x.mu.Lock()
	defer x.mu.Unlock()
	return slices.Clone(x.metas), x.modseq
}

// Claim runs fn with the mark the last Claim on the mailbox in this
// process left (0 at first), one call at a time, and keeps the higher of
// that and what fn returns. IMAP's \Recent claims use it so that, of the
// sessions a delivery wakes, only the first asks the store.
func (x *Index) Claim(fn func(mark uint32) (uint32, error)) error {
	x.claimMu.Lock()
	defer x.claimMu.Unlock()
	next, err := fn(x.claimMark)
	if err == nil {
		x.claimMark = max(x.claimMark, next)
	}
	return err
}

// Size is the number of messages in the index (as of its last refresh).
func (x *Index) Size() int { return int(x.n.Load()) }

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

// Cache keeps the indexes of recently used mailboxes, up to a total
// number of messages; the least recently used go first. A session holds
// its own pointer, so an index evicted while in use keeps working for
// that session and is freed when the last one lets go. A process has one
// Cache per store.
type Cache struct {
	st  Store
	max int // messages

	// clock ticks at every change the feed reports to a session (Tick)
	// and at every read that refreshes an index, so that a session can
	// tell whether an index read began after its wake-up.
	clock atomic.Uint64

	mu      sync.Mutex
	entries map[int64]*cacheEntry
	tick    uint64
}

type cacheEntry struct {
	idx  *Index
	used uint64
}

// DefaultMaxMessages is NewCache's bound when it is given none.
const DefaultMaxMessages = 1_000_000

// NewCache returns a cache of indexes read from st that holds up to
// maxMessages messages (more only while one mailbox alone is larger);
// zero or less means DefaultMaxMessages.
func NewCache(st Store, maxMessages int) *Cache {
	if maxMessages <= 0 {
		maxMessages = DefaultMaxMessages
	}
	return &Cache{st: st, max: maxMessages}
}

// List returns the metadata of every message of mb, ascending by UID, as
// the store holds it now: from mb's index, loaded or brought up to date
// (one Changes read when it is loaded already), which stays in the cache
// (POP3's maildrop listing).
func (c *Cache) List(ctx context.Context, mb store.Mailbox) ([]store.MessageMeta, error) {
	x := c.Get(mb)
	if err := x.Refresh(ctx); err != nil {
		return nil, err
	}
	c.Trim(mb.ID)
	metas, _ := x.Snapshot()
	return metas, nil
}

// Tick advances the feed clock and returns it. A session calls it when
// the change feed reports a change to it, and passes the value to
// ChangesSince.
func (c *Cache) Tick() uint64 { return c.clock.Add(1) }

// Len is the number of cached indexes.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

// Get returns the index of mb, creating it (unloaded) if needed. A cached
// index under the same id but another account or UIDVALIDITY is replaced
// (ids are never reused, so that is defence in depth).
func (c *Cache) Get(mb store.Mailbox) *Index {
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
	x := &Index{ref: mb.Ref(), cache: c}
	c.entries[mb.ID] = &cacheEntry{idx: x, used: c.tick}
	return x
}

// Trim drops least recently used indexes, other than keep's, while the
// cache holds more than its maximum of messages. Call it once the index
// just used is loaded (IMAP SELECT), so its size counts.
func (c *Cache) Trim(keep int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	total := 0
	for _, e := range c.entries {
		total += e.idx.Size()
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
		total -= c.entries[oldest].idx.Size()
		delete(c.entries, oldest)
	}
}
