package mboxindex

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/mailroom/mailroom/message"
	"github.com/mailroom/mailroom/store"
	"github.com/mailroom/mailroom/store/sqlite"
)

// countingStore counts the reads an index makes.
type countingStore struct {
	Store
	reads atomic.Int64
}

func (s *countingStore) MailboxStatus(ctx context.Context, m store.MailboxRef) (store.MailboxStatus, error) {
	s.reads.Add(1)
	return s.Store.MailboxStatus(ctx, m)
}

func (s *countingStore) ListMessages(ctx context.Context, m store.MailboxRef, uids []uint32, fn func(store.MessageMeta) error) error {
	s.reads.Add(1)
	return s.Store.ListMessages(ctx, m, uids, fn)
}

func (s *countingStore) Changes(ctx context.Context, m store.MailboxRef, since uint64) ([]store.MessageMeta, []uint32, uint64, error) {
	s.reads.Add(1)
	return s.Store.Changes(ctx, m, since)
}

type fixture struct {
	st   *sqlite.Store
	acct store.Account
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	st, err := sqlite.OpenWith(t.Context(), filepath.Join(t.TempDir(), "mail.db"), slog.New(slog.DiscardHandler), sqlite.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	acct, err := st.CreateAccount(t.Context(), "alice@example.org", "x")
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{st: st, acct: acct}
}

func (f *fixture) mailbox(t *testing.T, name string, messages int) store.Mailbox {
	t.Helper()
	mb, err := f.st.MailboxByName(t.Context(), f.acct.ID, name)
	if err != nil {
		mb, err = f.st.CreateMailbox(t.Context(), f.acct.ID, name, "")
	}
	if err != nil {
		t.Fatal(err)
	}
	f.add(t, mb, messages)
	return mb
}

func (f *fixture) add(t *testing.T, mb store.Mailbox, n int) {
	t.Helper()
	var msgs []store.NewMessage
	for i := range n {
		raw := []byte(fmt.Sprintf("Subject: %d\r\n\r\nbody\r\n", i))
		msgs = append(msgs, store.NewMessage{Raw: raw, Part: message.Parse(raw)})
	}
	if n > 0 {
		if _, _, err := f.st.Append(t.Context(), mb.Ref(), msgs); err != nil {
			t.Fatal(err)
		}
	}
}

// same fails unless the index holds what the store holds.
func same(t *testing.T, st Store, x *Index) {
	t.Helper()
	var want []store.MessageMeta
	err := st.ListMessages(t.Context(), x.ref, nil, func(m store.MessageMeta) error {
		want = append(want, m)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := x.Snapshot()
	eq := func(a, b store.MessageMeta) bool {
		return a.UID == b.UID && a.ModSeq == b.ModSeq && slices.Equal(a.Flags, b.Flags) && a.ID == b.ID && a.Size == b.Size
	}
	if !slices.EqualFunc(got, want, eq) {
		t.Fatalf("index holds %+v, store %+v", got, want)
	}
}

// TestApply covers the merge of Changes results: updates in place,
// appends, an insertion below the highest UID, and removals.
func TestApply(t *testing.T) {
	x := &Index{}
	meta := func(uid uint32, flags ...string) store.MessageMeta {
		return store.MessageMeta{UID: uid, ModSeq: uint64(uid), Flags: flags}
	}
	x.apply([]store.MessageMeta{meta(1), meta(3), meta(5)}, nil)
	x.apply([]store.MessageMeta{meta(3, `\Seen`), meta(4), meta(7)}, []uint32{1, 9})
	var got []uint32
	for _, m := range x.metas {
		got = append(got, m.UID)
	}
	if want := []uint32{3, 4, 5, 7}; !slices.Equal(got, want) {
		t.Fatalf("UIDs %v, want %v", got, want)
	}
	if ms := x.Lookup(nil, []uint32{2, 3, 6, 7, 8}); len(ms) != 2 || ms[0].UID != 3 || !slices.Equal(ms[0].Flags, []string{`\Seen`}) || ms[1].UID != 7 {
		t.Fatalf("lookup gave %+v", ms)
	}
}

// TestCacheBounded: the cache keeps at most its budget of messages,
// dropping the least recently used index first but never the one just
// used; a dropped index is rebuilt from the store when asked again.
func TestCacheBounded(t *testing.T) {
	f := newFixture(t)
	a, b, c := f.mailbox(t, "A", 3), f.mailbox(t, "B", 3), f.mailbox(t, "C", 5)
	cs := &countingStore{Store: f.st}
	cache := NewCache(cs, 6)
	use := func(mb store.Mailbox) *Index {
		t.Helper()
		x := cache.Get(mb)
		if err := x.Refresh(t.Context()); err != nil {
			t.Fatal(err)
		}
		cache.Trim(mb.ID)
		return x
	}
	xa := use(a)
	use(b)
	if n := cache.Len(); n != 2 {
		t.Fatalf("A and B (6 messages, budget 6): %d indexes, want 2", n)
	}
	use(a) // A is now the more recently used
	use(c) // 11 messages: B goes, then A; C alone is over budget but stays
	if n := cache.Len(); n != 1 {
		t.Fatalf("after C: %d indexes, want 1", n)
	}
	if cache.Get(c) != cache.Get(c) {
		t.Fatal("C was not kept")
	}
	// The evicted index keeps working for whoever holds it.
	if uids, _ := xa.UIDs(); len(uids) != 3 {
		t.Fatalf("evicted A: UIDs %v", uids)
	}
	cs.reads.Store(0)
	xa2 := use(a)
	if xa2 == xa || cs.reads.Load() == 0 {
		t.Fatal("A was not rebuilt from the store")
	}
	same(t, f.st, xa2)
}

// TestChangesFromAnotherNode: a change committed elsewhere (another node:
// no Took) reaches the index when the feed reports it: the first session
// told of it reads the store, the others get it from the index's log
// without a read, and a session told nothing new reads nothing.
func TestChangesFromAnotherNode(t *testing.T) {
	f := newFixture(t)
	mb := f.mailbox(t, "INBOX", 3)
	cs := &countingStore{Store: f.st}
	cache := NewCache(cs, 1000)
	x := cache.Get(mb)
	if err := x.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	_, since := x.UIDs()

	// Another node sets a flag and expunges a message; the feed tells
	// two sessions here.
	if _, _, err := f.st.UpdateFlags(t.Context(), mb.Ref(), []uint32{2}, store.FlagsAdd, []string{store.FlagSeen}, 0); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.st.Expunge(t.Context(), mb.Ref(), []uint32{3}, false); err != nil {
		t.Fatal(err)
	}
	told1, told2 := cache.Tick(), cache.Tick()
	cs.reads.Store(0)
	for i, told := range []uint64{told1, told2} {
		changed, vanished, highest, ok, err := x.ChangesSince(t.Context(), told, since, 0)
		if err != nil || !ok {
			t.Fatalf("session %d: ok %v, %v", i, ok, err)
		}
		if len(changed) != 1 || changed[0].UID != 2 || !changed[0].HasFlag(store.FlagSeen) || !slices.Equal(vanished, []uint32{3}) || highest != since+2 {
			t.Fatalf("session %d: changed %+v vanished %v highest %d", i, changed, vanished, highest)
		}
	}
	if n := cs.reads.Load(); n != 1 {
		t.Errorf("two sessions told of one change: %d store reads, want 1", n)
	}
	same(t, f.st, x)

	// Nothing new: no read.
	cs.reads.Store(0)
	if _, _, _, ok, err := x.ChangesSince(t.Context(), told2, since+2, 0); err != nil || !ok {
		t.Fatalf("ok %v, %v", ok, err)
	}
	if n := cs.reads.Load(); n != 0 {
		t.Errorf("ChangesSince with nothing new: %d store reads, want 0", n)
	}

	// A session's own write, taken in, needs no read either.
	changed, _, err := f.st.UpdateFlags(t.Context(), mb.Ref(), []uint32{1}, store.FlagsAdd, []string{"$Work"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	x.Took(since+2, since+3, changed, nil)
	if !x.FreshFor(since + 3) {
		t.Fatal("index not fresh after Took")
	}
	if kw := x.Keywords(); !slices.Equal(kw, []string{"$Work"}) {
		t.Errorf("keywords %v", kw)
	}
	if n := cs.reads.Load(); n != 0 {
		t.Errorf("Took: %d store reads, want 0", n)
	}
	same(t, f.st, x)
}

// TestConcurrentWritersReaders: writers change the mailbox and feed
// their results back with Took, readers sync against the index as woken
// sessions do; under -race, and at the end the index holds what the
// store holds.
func TestConcurrentWritersReaders(t *testing.T) {
	f := newFixture(t)
	mb := f.mailbox(t, "INBOX", 20)
	cache := NewCache(f.st, 1000)
	x := cache.Get(mb)
	if err := x.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for w := range 3 {
		wg.Go(func() {
			for i := range 20 {
				uid := uint32(1 + (w*20+i)%20)
				changed, _, err := f.st.UpdateFlags(ctx, mb.Ref(), []uint32{uid}, store.FlagsReplace, []string{fmt.Sprintf("$k%d", i%3)}, 0)
				if err != nil {
					errs <- err
					return
				}
				if len(changed) == 1 {
					// Taken in only if the index stood where the write found the mailbox.
					x.Took(changed[0].ModSeq-1, changed[0].ModSeq, changed, nil)
				}
				if i%5 == 0 {
					raw := []byte("Subject: new\r\n\r\nbody\r\n")
					if _, _, err := f.st.Append(ctx, mb.Ref(), []store.NewMessage{{Raw: raw, Part: message.Parse(raw)}}); err != nil {
						errs <- err
						return
					}
					cache.Tick()
				}
			}
		})
	}
	for range 3 {
		wg.Go(func() {
			var since uint64
			for range 40 {
				told := cache.Tick()
				_, _, highest, ok, err := x.ChangesSince(ctx, told, since, 0)
				if err != nil {
					errs <- err
					return
				}
				if ok {
					since = highest
				} else if err := x.Refresh(ctx); err != nil {
					errs <- err
					return
				}
				uids, _ := x.UIDs()
				x.Lookup(nil, uids)
				x.Keywords()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if err := x.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	same(t, f.st, x)
}

// TestEachOneState: Each hands every message of its walk in one state of
// the index: a write that flags all of them at once (one Took) is seen by
// all or by none, however the walk and the writes interleave; and it
// walks only the UIDs asked for, in order.
func TestEachOneState(t *testing.T) {
	const n = 200
	x := &Index{loaded: true}
	all := make([]store.MessageMeta, n)
	uids := make([]uint32, n)
	for i := range all {
		all[i] = store.MessageMeta{UID: uint32(2 * (i + 1)), ModSeq: 1}
		uids[i] = all[i].UID
	}
	x.apply(all, nil)
	x.modseq = 1

	var got []uint32
	x.Each([]uint32{1, 2, 3, 8, 400, 401}, func(m *store.MessageMeta) { got = append(got, m.UID) })
	if want := []uint32{2, 8, 400}; !slices.Equal(got, want) {
		t.Fatalf("Each walked %v, want %v", got, want)
	}

	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for modseq := uint64(2); ; modseq++ {
			select {
			case <-stop:
				return
			default:
			}
			var flags []string
			if modseq%2 == 0 {
				flags = []string{store.FlagSeen}
			}
			changed := make([]store.MessageMeta, n)
			for i := range changed {
				changed[i] = store.MessageMeta{UID: all[i].UID, ModSeq: modseq, Flags: flags}
			}
			x.Took(modseq-1, modseq, changed, nil)
		}
	}()
	for range 2000 {
		seen, walked := 0, 0
		var modseq uint64
		x.Each(uids, func(m *store.MessageMeta) {
			if walked == 0 {
				modseq = m.ModSeq
			}
			walked++
			if m.HasFlag(store.FlagSeen) {
				seen++
			}
			if m.ModSeq != modseq {
				t.Errorf("message %d at modseq %d, the first at %d", m.UID, m.ModSeq, modseq)
			}
		})
		if walked != n || (seen != 0 && seen != n) {
			close(stop)
			<-done
			t.Fatalf("walked %d messages, %d of them \\Seen: not one state", walked, seen)
		}
	}
	close(stop)
	<-done
}
