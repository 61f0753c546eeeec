package sqlite

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mailroom/mailroom/store"
)

// syncLevel is the synchronous level a write's transaction commits at
// (0 OFF, 1 NORMAL, 2 FULL), and the transaction, to tell batches apart.
type syncLevel struct {
	level int
	batch uint64
}

// sendLevel runs a write (flags: writeFlags) that reads the synchronous
// level it runs at, in a goroutine.
func sendLevel(s *Store, flags bool) <-chan syncLevel {
	ch := make(chan syncLevel, 1)
	go func() {
		var got syncLevel
		err := s.send(context.Background(), s.jobs, flags, func(tx *wtx) error {
			got.batch = tx.batch
			return tx.queryRow("PRAGMA synchronous").Scan(&got.level)
		})
		if err != nil {
			got.level = -1
		}
		ch <- got
	}()
	return ch
}

// deliverOne creates an account and delivers one message to its INBOX.
func deliverOne(t *testing.T, s *Store) (store.Account, store.Delivered) {
	t.Helper()
	ctx := context.Background()
	a, err := s.CreateAccount(ctx, "a@example.org", "h")
	if err != nil {
		t.Fatal(err)
	}
	d, err := s.Deliver(ctx, []store.Target{{AccountID: a.ID}}, newMsg("one"))
	if err != nil {
		t.Fatal(err)
	}
	return a, d[0]
}

// TestFlagWritesSkipFsync: a batch of flag writes commits at
// synchronous=NORMAL (no fsync in WAL mode) unless SyncFlagChanges; any
// other write, and a batch that mixes the two, commits at FULL.
func TestFlagWritesSkipFsync(t *testing.T) {
	s := openTest(t)
	if got := <-sendLevel(s, true); got.level != 1 {
		t.Errorf("flag write alone: synchronous %d, want 1 (NORMAL)", got.level)
	}
	if got := <-sendLevel(s, false); got.level != 2 {
		t.Errorf("write alone: synchronous %d, want 2 (FULL)", got.level)
	}
	// A mixed batch: both writes wait while the writer is held.
	for try := 0; ; try++ {
		gate := make(chan struct{})
		held := make(chan error, 1)
		go func() { held <- s.write(context.Background(), func(*wtx) error { <-gate; return nil }) }()
		time.Sleep(50 * time.Millisecond) // the writer runs it
		flag, full := sendLevel(s, true), sendLevel(s, false)
		time.Sleep(50 * time.Millisecond) // both wait to be taken
		close(gate)
		if err := <-held; err != nil {
			t.Fatal(err)
		}
		f, w := <-flag, <-full
		if f.batch != w.batch {
			if try < 10 {
				continue // not one batch: the machine was slow
			}
			t.Fatal("the two writes never shared a batch")
		}
		if f.level != 2 || w.level != 2 {
			t.Errorf("mixed batch: flag write at synchronous %d, write at %d; want 2 (FULL) for both", f.level, w.level)
		}
		break
	}
	s.SetSyncFlagChanges(true)
	if got := <-sendLevel(s, true); got.level != 2 {
		t.Errorf("flag write with SyncFlagChanges: synchronous %d, want 2 (FULL)", got.level)
	}
	s.SetSyncFlagChanges(false)
	if got := <-sendLevel(s, true); got.level != 1 {
		t.Errorf("flag write after SetSyncFlagChanges(false): synchronous %d, want 1 (NORMAL)", got.level)
	}
}

// TestFlagWritesKinds: UpdateFlags and ClaimRecent go through writeFlags,
// deliveries and expunges do not; the NoSync test harness stays at OFF.
func TestFlagWritesKinds(t *testing.T) {
	ctx := context.Background()
	for _, noSync := range []bool{false, true} {
		s, err := OpenWith(ctx, filepath.Join(t.TempDir(), "mail.db"), nil, Options{NoSync: noSync, noTextIndexer: true})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		// Read after the write returned: the writer set it before
		// answering, and no other write runs (no text indexer).
		check := func(what, want string) {
			t.Helper()
			if noSync {
				want = "OFF"
			}
			if s.wconnSync != want {
				t.Errorf("NoSync %v: after %s synchronous=%s, want %s", noSync, what, s.wconnSync, want)
			}
		}
		a, d := deliverOne(t, s)
		check("Deliver", "FULL")
		if _, _, err := s.ClaimRecent(ctx, d.Ref()); err != nil {
			t.Fatal(err)
		}
		check("ClaimRecent", "NORMAL")
		if _, err := s.Deliver(ctx, []store.Target{{AccountID: a.ID}}, newMsg("two")); err != nil {
			t.Fatal(err)
		}
		check("Deliver", "FULL")
		if _, _, err := s.UpdateFlags(ctx, d.Ref(), []uint32{d.UID}, store.FlagsAdd, []string{store.FlagSeen}, 0); err != nil {
			t.Fatal(err)
		}
		check("UpdateFlags", "NORMAL")
		if _, _, err := s.Expunge(ctx, d.Ref(), nil, false); err != nil {
			t.Fatal(err)
		}
		check("Expunge", "FULL")
	}
}

// TestFlagChangeSurvivesKill: a flag change committed without an fsync is
// in the files the OS holds, which is what a process killed with SIGKILL
// leaves: a copy of them taken while the store is still open (no Close,
// no checkpoint) has it.
func TestFlagChangeSurvivesKill(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := OpenWith(ctx, filepath.Join(dir, "mail.db"), nil, Options{noTextIndexer: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, d := deliverOne(t, s)
	if _, _, err := s.UpdateFlags(ctx, d.Ref(), []uint32{d.UID}, store.FlagsAdd, []string{store.FlagSeen, "$Kept"}, 0); err != nil {
		t.Fatal(err)
	}
	if s.wconnSync != "NORMAL" {
		t.Fatalf("UpdateFlags committed at synchronous=%s, want NORMAL", s.wconnSync)
	}
	crashed := t.TempDir()
	for _, name := range []string{"mail.db", "mail.db-wal"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(crashed, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	c, err := OpenWith(ctx, filepath.Join(crashed, "mail.db"), nil, Options{noTextIndexer: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var metas []store.MessageMeta
	if err := c.ListMessages(ctx, d.Ref(), nil, func(m store.MessageMeta) error { metas = append(metas, m); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(metas) != 1 || !metas[0].HasFlag(store.FlagSeen) || !metas[0].HasFlag("$Kept") {
		t.Fatalf("after the simulated kill: %+v, want the message with \\Seen and $Kept", metas)
	}
}
