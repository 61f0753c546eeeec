package sqlite

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/mailroom/mailroom/store"
)

// TestBackupWhileWriting: a backup taken while deliveries go on is a
// complete database that opens as a store, holds every message delivered
// before it started, byte for byte, and never a half-written one.
func TestBackupWhileWriting(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	acct, err := s.CreateAccount(ctx, "a@example.org", "hash")
	if err != nil {
		t.Fatal(err)
	}
	deliver := func(i int) {
		msg := newMsg(fmt.Sprintf("message %d", i))
		if _, err := s.Deliver(ctx, []store.Target{{AccountID: acct.ID}}, msg); err != nil {
			t.Error(err)
		}
	}
	for i := range 200 {
		deliver(i)
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() { // keep writing during the backup
		defer wg.Done()
		for i := 200; ; i++ {
			select {
			case <-stop:
				return
			default:
				deliver(i)
			}
		}
	}()
	path := filepath.Join(t.TempDir(), "backup.db")
	err = s.Backup(ctx, path)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("backup file: %v, %v", fi, err)
	}
	if err := s.Backup(ctx, path); err == nil {
		t.Fatal("a backup overwrote an existing file")
	}

	b, err := Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	a2, err := b.AccountByEmail(ctx, "a@example.org")
	if err != nil {
		t.Fatal(err)
	}
	inbox, err := b.MailboxByName(ctx, a2.ID, store.Inbox)
	if err != nil {
		t.Fatal(err)
	}
	st, err := b.MailboxStatus(ctx, inbox.Ref())
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	err = b.ListBodies(ctx, inbox.Ref(), nil, func(m store.MessageMeta, raw []byte) error {
		if want := newMsg(fmt.Sprintf("message %d", n)).Raw; string(raw) != string(want) {
			return fmt.Errorf("message %d in the backup: %q, want %q", n, raw, want)
		}
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 200 || uint32(n) != st.Messages {
		t.Fatalf("backup holds %d messages (counter %d), want >= 200 and equal", n, st.Messages)
	}
}
