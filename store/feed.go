package store

import (
	"slices"
	"sync"
)

// Feed is an in-process change feed that every backend can embed to
// implement Store.Watch. Subscribers get a channel with a buffer of one;
// Publish never blocks: when a subscriber has not yet read its pending
// Change, the new one is merged into it (coalescing). If the pending and the
// new Change name different mailboxes, the merged Change has MailboxID 0,
// which subscribers already treat as "the mailbox list, and so possibly
// anything, changed": they re-read what they care about with Changes.
// (A metadata change merged with another kind is lost in that 0: only
// WatchFunc subscribers see every change, including its entry names.)
//
// Backends call Publish only after the change has been committed. No
// goroutine is started per subscriber. The zero Feed is ready to use.
type Feed struct {
	mu   sync.Mutex
	subs map[int64]map[*feedSub]struct{} // by account ID
}

type feedSub struct {
	ch     chan Change  // Watch
	fn     func(Change) // WatchFunc
	closed bool
}

// Watch subscribes to the changes of one account. cancel releases the
// subscription and closes the channel; calling it more than once is harmless.
func (f *Feed) Watch(accountID int64) (changes <-chan Change, cancel func()) {
	s := &feedSub{ch: make(chan Change, 1)}
	return s.ch, f.subscribe(accountID, s)
}

// WatchFunc subscribes fn to the changes of one account, without a channel
// or goroutine: Publish calls fn synchronously with the feed's lock held,
// so fn must return at once and must not call the store or write to the
// network. Coalescing is up to fn. After cancel returns, fn is not called
// again; calling cancel more than once is harmless.
func (f *Feed) WatchFunc(accountID int64, fn func(Change)) (cancel func()) {
	return f.subscribe(accountID, &feedSub{fn: fn})
}

func (f *Feed) subscribe(accountID int64, s *feedSub) (cancel func()) {
	f.mu.Lock()
	if f.subs == nil {
		f.subs = make(map[int64]map[*feedSub]struct{})
	}
	m := f.subs[accountID]
	if m == nil {
		m = make(map[*feedSub]struct{})
		f.subs[accountID] = m
	}
	m[s] = struct{}{}
	f.mu.Unlock()
	cancel = func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		if s.closed {
			return
		}
		s.closed = true
		delete(m, s)
		if len(m) == 0 { // m is still f.subs[accountID]: it is dropped only when empty
			delete(f.subs, accountID)
		}
		if s.ch != nil {
			close(s.ch)
		}
	}
	return cancel
}

// Publish wakes every subscriber of c.AccountID without blocking.
func (f *Feed) Publish(c Change) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for s := range f.subs[c.AccountID] {
		if s.fn != nil {
			s.fn(c)
			continue
		}
		select {
		case s.ch <- c:
			continue
		default:
		}
		// The buffer is full: merge with the pending change. Sends happen
		// only under f.mu, so after taking the pending value the send below
		// cannot block.
		merged := c
		select {
		case old := <-s.ch:
			merged = mergeChanges(old, c)
		default:
		}
		s.ch <- merged
	}
}

// mergeChanges coalesces two changes for a channel subscriber: two of the
// same mailbox's metadata keep their entry names (each at most once);
// anything else of two mailboxes, or a metadata change with another
// kind, becomes MailboxID 0 ("anything may have changed").
func mergeChanges(old, c Change) Change {
	if old.MailboxID != c.MailboxID || (old.Metadata == nil) != (c.Metadata == nil) {
		return Change{AccountID: c.AccountID}
	}
	if c.Metadata != nil {
		names := slices.Clone(old.Metadata)
		for _, n := range c.Metadata {
			if !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
		c.Metadata = names
	}
	return c
}

// Subscribers reports how many subscriptions an account has (for tests and
// metrics).
func (f *Feed) Subscribers(accountID int64) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.subs[accountID])
}

// Watched lists the accounts that have subscribers.
func (f *Feed) Watched() []int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	ids := make([]int64, 0, len(f.subs))
	for id, subs := range f.subs {
		if len(subs) > 0 {
			ids = append(ids, id)
		}
	}
	return ids
}
