package sqlite

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

// An account deleted through another Store on the same file (another
// process: mailroom user delete beside serve) wakes this Store's watchers
// of that account with a mailbox-list change, so that its sessions end;
// other writes by the other process wake nobody.
func TestExternalDeletionWakesWatchers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "m.db")
	serve, err := Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer serve.Close()
	cli, err := Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	gone, err := serve.CreateAccount(ctx, "gone@example.test", "x")
	if err != nil {
		t.Fatal(err)
	}
	kept, err := serve.CreateAccount(ctx, "kept@example.test", "x")
	if err != nil {
		t.Fatal(err)
	}
	goneCh, cancel1 := serve.Watch(gone.ID)
	defer cancel1()
	keptCh, cancel2 := serve.Watch(kept.ID)
	defer cancel2()

	// Another process's write that deletes nothing: no wake-up.
	if _, err := cli.CreateMailbox(ctx, kept.ID, "Other", ""); err != nil {
		t.Fatal(err)
	}
	select {
	case c := <-keptCh:
		t.Fatalf("woken by another process's mailbox creation: %+v", c)
	case c := <-goneCh:
		t.Fatalf("woken by another process's mailbox creation: %+v", c)
	case <-time.After(3 * externalPollInterval):
	}

	if err := cli.DeleteAccount(ctx, "gone@example.test"); err != nil {
		t.Fatal(err)
	}
	select {
	case c := <-goneCh:
		if c.AccountID != gone.ID || c.MailboxID != 0 {
			t.Errorf("change %+v, want a mailbox-list change of account %d", c, gone.ID)
		}
	case <-time.After(10 * externalPollInterval):
		t.Fatal("no change after another process deleted the account")
	}
	select {
	case c := <-keptCh:
		t.Errorf("the remaining account's watcher woken: %+v", c)
	default:
	}
}
