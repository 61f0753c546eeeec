package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/mailroom/mailroom/message"
	"github.com/mailroom/mailroom/store"
	"github.com/mailroom/mailroom/store/storetest"
)

func newMsg(subject string) store.NewMessage {
	raw := []byte("Subject: " + subject + "\r\n\r\nbody\r\n")
	return store.NewMessage{Raw: raw, Part: &message.Part{MediaType: "text", MediaSubtype: "plain", BodyEnd: int64(len(raw))}}
}

// waitFor waits for a change that ok accepts, up to 30 s (a hang guard:
// LISTEN on a loaded -race machine can be late by seconds).
func waitFor(t *testing.T, ch <-chan store.Change, what string, ok func(store.Change) bool) {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case c := <-ch:
			if ok(c) {
				return
			}
		case <-timeout:
			t.Fatalf("no change notification for %s within 30 s", what)
		}
	}
}

// TestTwoNodesFeed delivers through one node and sees the Watch
// notification on another that shares the database.
func TestTwoNodesFeed(t *testing.T) {
	ctx := context.Background()
	dsn := testDSN(t)
	n1 := openDSN(t, dsn)
	a, err := n1.CreateAccount(ctx, "alice@example.org", "h")
	if err != nil {
		t.Fatal(err)
	}
	// Node 2 starts after the account exists: a late notification of its
	// creation cannot coalesce with the delivery's (into MailboxID 0).
	n2 := openDSN(t, dsn)
	inbox, err := n2.MailboxByName(ctx, a.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	ch, cancel := n2.Watch(a.ID)
	defer cancel()
	if _, err := n1.Deliver(ctx, []store.Target{{AccountID: a.ID}}, newMsg("cross-node")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ch, "a delivery on the other node", func(c store.Change) bool {
		if c.AccountID != a.ID {
			t.Fatalf("change for account %d on a watch of %d", c.AccountID, a.ID)
		}
		return c.MailboxID == inbox.ID
	})
	if uids, err := storetest.UIDs(ctx, n2, inbox.Ref()); err != nil || len(uids) != 1 {
		t.Fatalf("node 2 sees %v, %v after the notification", uids, err)
	}
	if _, err := n1.CreateMailbox(ctx, a.ID, "Projects", ""); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ch, "a mailbox list change on the other node", func(c store.Change) bool { return c.MailboxID == 0 })

	// A watcher on the writing node hears of its own change too.
	ch1, cancel1 := n1.Watch(a.ID)
	defer cancel1()
	if _, _, err := n2.UpdateFlags(ctx, inbox.Ref(), []uint32{1}, store.FlagsAdd, []string{store.FlagSeen}, 0); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ch1, "a flag change by node 2 on node 1", func(c store.Change) bool { return c.MailboxID == inbox.ID })
	waitFor(t, ch, "a flag change by node 2 on node 2", func(c store.Change) bool { return c.MailboxID == inbox.ID })

	// A METADATA change reaches the other node with its entry names.
	if err := n2.SetMetadata(ctx, a.ID, inbox.ID, []store.MetadataEntry{{Name: "/private/comment", Value: []byte("x")}}, 10); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ch1, "a metadata change by node 2 on node 1", func(c store.Change) bool {
		return c.MailboxID == inbox.ID && slices.Equal(c.Metadata, []string{"/private/comment"})
	})
}

// TestListenReconnect kills the LISTEN connection: the store reconnects,
// wakes its watchers (notifications may have been lost) and hears later
// changes again.
func TestListenReconnect(t *testing.T) {
	ctx := context.Background()
	dsn := testDSN(t)
	n1 := openDSN(t, dsn)
	a, err := n1.CreateAccount(ctx, "alice@example.org", "h")
	if err != nil {
		t.Fatal(err)
	}
	// Node 2 starts after the account exists, so the only MailboxID 0
	// change it can see is the wake-up after reconnecting.
	n2 := openDSN(t, dsn)
	ch, cancel := n2.Watch(a.ID)
	defer cancel()
	pid := n2.listenPID.Load()
	var killed bool
	if err := n1.pool.QueryRow(ctx, "SELECT pg_terminate_backend($1)", int64(pid)).Scan(&killed); err != nil || !killed {
		t.Fatalf("pg_terminate_backend(%d): %v, %v", pid, killed, err)
	}
	waitFor(t, ch, "the wake-up after reconnecting", func(c store.Change) bool { return c.MailboxID == 0 })
	if n2.listenPID.Load() == pid {
		t.Fatal("listen connection not replaced")
	}
	d, err := n1.Deliver(ctx, []store.Target{{AccountID: a.ID}}, newMsg("after reconnect"))
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, ch, "a delivery after reconnecting", func(c store.Change) bool { return c.MailboxID == d[0].MailboxID })
}

// TestTwoNodesConcurrentWrites delivers, flags and expunges through two
// nodes at once: UIDs and modseqs stay unique and ascending per mailbox.
func TestTwoNodesConcurrentWrites(t *testing.T) {
	ctx := context.Background()
	dsn := testDSN(t)
	nodes := []*Store{openDSN(t, dsn), openDSN(t, dsn)}
	a, err := nodes[0].CreateAccount(ctx, "alice@example.org", "h")
	if err != nil {
		t.Fatal(err)
	}
	b, err := nodes[0].CreateAccount(ctx, "bob@example.org", "h")
	if err != nil {
		t.Fatal(err)
	}
	inboxA, _ := nodes[0].MailboxByName(ctx, a.ID, "INBOX")
	const workers, each = 4, 20
	var wg sync.WaitGroup
	errs := make(chan error, 2*workers)
	for n, s := range nodes {
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range each {
					// Alternate the order of the targets: the mailbox
					// locks must not deadlock.
					targets := []store.Target{{AccountID: a.ID}, {AccountID: b.ID}}
					if i%2 == 1 {
						slices.Reverse(targets)
					}
					d, err := s.Deliver(ctx, targets, newMsg(fmt.Sprintf("n%d-w%d-%d", n, w, i)))
					if err != nil {
						errs <- err
						return
					}
					if _, _, err := s.UpdateFlags(ctx, inboxA.Ref(), []uint32{d[0].UID}, store.FlagsAdd, []string{store.FlagDeleted}, 0); err != nil {
						errs <- err
						return
					}
					if i%5 == 4 {
						if _, _, err := s.Expunge(ctx, inboxA.Ref(), nil, true); err != nil {
							errs <- err
							return
						}
					}
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	total := 2 * workers * each
	inboxB, _ := nodes[1].MailboxByName(ctx, b.ID, "INBOX")
	uids, err := storetest.UIDs(ctx, nodes[1], inboxB.Ref())
	if err != nil || len(uids) != total || uids[0] != 1 || uids[total-1] != uint32(total) {
		t.Fatalf("bob's INBOX: %d uids (%v), want 1..%d", len(uids), err, total)
	}
	// Every message of alice's INBOX and every tombstone has its own modseq.
	changed, vanished, highest, err := nodes[1].Changes(ctx, inboxA.Ref(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(changed)+len(vanished) != total {
		t.Fatalf("alice's INBOX: %d messages + %d expunged, want %d", len(changed), len(vanished), total)
	}
	var tomb []uint64
	if err := func() error {
		rows, err := nodes[1].pool.Query(ctx, "SELECT modseq FROM expunged WHERE mailbox_id = $1", inboxA.ID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var m uint64
			if err := rows.Scan(&m); err != nil {
				return err
			}
			tomb = append(tomb, m)
		}
		return rows.Err()
	}(); err != nil {
		t.Fatal(err)
	}
	seen := map[uint64]bool{}
	for _, m := range changed {
		tomb = append(tomb, m.ModSeq)
	}
	for _, m := range tomb {
		if seen[m] || m > highest {
			t.Fatalf("modseq %d reused or above HIGHESTMODSEQ %d", m, highest)
		}
		seen[m] = true
	}
}

// TestBlobsShared checks that copies share one blob and that the blob goes
// with its last message.
func TestBlobsShared(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	a, _ := s.CreateAccount(ctx, "alice@example.org", "h")
	b, _ := s.CreateAccount(ctx, "bob@example.org", "h")
	blobs := func() int {
		var n int
		if err := s.pool.QueryRow(ctx, "SELECT count(*) FROM blobs").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	d, err := s.Deliver(ctx, []store.Target{{AccountID: a.ID}, {AccountID: b.ID}}, newMsg("shared"))
	if err != nil {
		t.Fatal(err)
	}
	arch, _ := s.MailboxByName(ctx, a.ID, "Archive")
	if _, _, err := s.Copy(ctx, d[0].Ref(), []uint32{d[0].UID}, arch.Ref()); err != nil {
		t.Fatal(err)
	}
	if n := blobs(); n != 1 {
		t.Fatalf("%d blobs for three copies", n)
	}
	for _, mb := range []store.MailboxRef{d[0].Ref(), d[1].Ref()} {
		if _, _, err := s.Expunge(ctx, mb, nil, false); err != nil {
			t.Fatal(err)
		}
	}
	if n := blobs(); n != 1 {
		t.Fatalf("%d blobs while a copy remains", n)
	}
	if err := s.DeleteAccount(ctx, "alice@example.org"); err != nil {
		t.Fatal(err)
	}
	if n := blobs(); n != 0 {
		t.Fatalf("%d blobs after the last copy went", n)
	}
}

// TestCopyRacesExpunge copies a message on one node while another expunges
// it: either the copy sees the message and keeps its bytes alive, or it
// copies nothing; a copy never points at a deleted blob.
func TestCopyRacesExpunge(t *testing.T) {
	ctx := context.Background()
	dsn := testDSN(t)
	n1, n2 := openDSN(t, dsn), openDSN(t, dsn)
	a, err := n1.CreateAccount(ctx, "alice@example.org", "h")
	if err != nil {
		t.Fatal(err)
	}
	inbox, _ := n1.MailboxByName(ctx, a.ID, "INBOX")
	arch, _ := n1.MailboxByName(ctx, a.ID, "Archive")
	for i := range 20 {
		d, err := n1.Deliver(ctx, []store.Target{{AccountID: a.ID}}, newMsg(fmt.Sprint("race ", i)))
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var pairs []store.UIDPair
		var copyErr, expErr error
		wg.Add(2)
		go func() { defer wg.Done(); _, pairs, copyErr = n1.Copy(ctx, inbox.Ref(), []uint32{d[0].UID}, arch.Ref()) }()
		go func() { defer wg.Done(); _, _, expErr = n2.Expunge(ctx, inbox.Ref(), []uint32{d[0].UID}, false) }()
		wg.Wait()
		if copyErr != nil || expErr != nil {
			t.Fatalf("Copy: %v; Expunge: %v", copyErr, expErr)
		}
		for _, p := range pairs {
			var ms []store.MessageMeta
			if err := n2.ListMessages(ctx, arch.Ref(), []uint32{p.Dst}, func(m store.MessageMeta) error { ms = append(ms, m); return nil }); err != nil || len(ms) != 1 {
				t.Fatalf("copy %d: %v, %v", p.Dst, ms, err)
			}
			if raw, err := n2.MessageBody(ctx, arch.Ref(), ms[0].ID); err != nil || len(raw) == 0 {
				t.Fatalf("body of copy %d: %q, %v", p.Dst, raw, err)
			}
		}
	}
}

// Issue 11 item 22 across nodes: an account deleted on one node reaches
// the other's watchers as a mailbox-list change (MailboxID 0), on which
// IMAP and POP3 sessions ask whether their account still exists; the
// other node then finds neither the account nor its mailboxes.
func TestTwoNodesAccountDeleted(t *testing.T) {
	ctx := context.Background()
	dsn := testDSN(t)
	n1 := openDSN(t, dsn)
	a, err := n1.CreateAccount(ctx, "gone@example.org", "h")
	if err != nil {
		t.Fatal(err)
	}
	inbox, err := n1.MailboxByName(ctx, a.ID, store.Inbox)
	if err != nil {
		t.Fatal(err)
	}
	n2 := openDSN(t, dsn)
	ch, cancel := n1.Watch(a.ID)
	defer cancel()
	if err := n2.DeleteAccount(ctx, a.Email); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ch, "the account's deletion on the other node", func(c store.Change) bool { return c.MailboxID == 0 })
	if _, err := n1.AccountByID(ctx, a.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("AccountByID on node 1 after deletion on node 2: %v", err)
	}
	if _, err := n1.MailboxByID(ctx, inbox.Ref()); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("MailboxByID on node 1 after deletion on node 2: %v", err)
	}
}

// TestWatchFuncAcrossNodes: a WatchFunc subscriber hears a delivery of
// another node, and the wake-up after the LISTEN connection is replaced
// (it counts in s.watched like a Watch); cancel, even twice, drops it.
func TestWatchFuncAcrossNodes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := testDSN(t)
	n1 := openDSN(t, dsn)
	a, err := n1.CreateAccount(ctx, "alice@example.org", "h")
	if err != nil {
		t.Fatal(err)
	}
	n2 := openDSN(t, dsn) // after the account exists, as in TestTwoNodesFeed
	ch := make(chan store.Change, 64)
	cancel := n2.WatchFunc(a.ID, func(c store.Change) {
		select { // fn runs under the feed's lock: never block
		case ch <- c:
		default:
		}
	})
	watched := func() int {
		n2.mu.Lock()
		defer n2.mu.Unlock()
		return n2.watched[a.ID]
	}
	if w := watched(); w != 1 {
		t.Fatalf("watched[%d] = %d with one WatchFunc; want 1", a.ID, w)
	}
	d, err := n1.Deliver(ctx, []store.Target{{AccountID: a.ID}}, newMsg("cross-node"))
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, ch, "a delivery on the other node", func(c store.Change) bool {
		if c.AccountID != a.ID {
			t.Fatalf("change for account %d on a watch of %d", c.AccountID, a.ID)
		}
		return c.MailboxID == d[0].MailboxID
	})
	pid := n2.listenPID.Load()
	var killed bool
	if err := n1.pool.QueryRow(ctx, "SELECT pg_terminate_backend($1)", int64(pid)).Scan(&killed); err != nil || !killed {
		t.Fatalf("pg_terminate_backend(%d): %v, %v", pid, killed, err)
	}
	waitFor(t, ch, "the wake-up after reconnecting", func(c store.Change) bool { return c.MailboxID == 0 })

	cancel()
	cancel()
	if w := watched(); w != 0 {
		t.Fatalf("watched[%d] = %d after cancel; want 0", a.ID, w)
	}
	if n := n2.feed.Subscribers(a.ID); n != 0 {
		t.Fatalf("%d feed subscribers after cancel; want 0", n)
	}
}
