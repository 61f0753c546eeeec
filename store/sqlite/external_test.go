package sqlite

import (
	"context"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/mailroom/mailroom/store"
)

// A commit by another Store on the same file (another process: the CLI)
// wakes this Store's watchers with a MailboxID 0 change within about
// externalPollInterval; this Store's own commits do not count as such.
func TestFeedCarriesOtherProcessesCommits(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "m.db")
	s1, err := OpenWith(ctx, path, nil, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s1.Close()
	s2, err := OpenWith(ctx, path, nil, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if !s1.FeedCoversOtherProcesses() {
		t.Fatal("FeedCoversOtherProcesses is false")
	}
	acct, err := s1.CreateAccount(ctx, "u@example.org", "x")
	if err != nil {
		t.Fatal(err)
	}
	ch, cancel := s1.Watch(acct.ID)
	defer cancel()
	// Own commit: published at once with its mailbox, then nothing more.
	if err := s1.SetSubscribed(ctx, acct.ID, "INBOX", false); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ch:
	case <-time.After(30 * time.Second): // a hang guard
		t.Fatal("own commit not published")
	}
	select {
	case c := <-ch:
		t.Fatalf("own commit reported again as another process's: %+v", c)
	case <-time.After(2*externalPollInterval + 200*time.Millisecond):
	}
	// Another process's commit.
	if err := s2.DeleteAccount(ctx, "u@example.org"); err != nil {
		t.Fatal(err)
	}
	select {
	case c := <-ch:
		if !reflect.DeepEqual(c, store.Change{AccountID: acct.ID}) {
			t.Errorf("change %+v, want account %d mailbox 0", c, acct.ID)
		}
	case <-time.After(30 * externalPollInterval): // a hang guard: the writer polls between batches, late on a loaded machine
		t.Fatal("another process's commit never reached the feed")
	}
}
