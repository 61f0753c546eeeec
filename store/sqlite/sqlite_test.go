package sqlite

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/mailroom/mailroom/store"
	"github.com/mailroom/mailroom/store/storetest"
)

func openTest(t testing.TB) *Store {
	t.Helper()
	return openTestWith(t, Options{})
}

// openTestWith is openTest with opts; the store is closed at the test's end.
func openTestWith(t testing.TB, opts Options) *Store {
	t.Helper()
	s, err := OpenWith(context.Background(), filepath.Join(t.TempDir(), "mail.db"), nil, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openTest(t) })
}

func TestRejectsUnstorableFlags(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	a, err := s.CreateAccount(ctx, "a@example.org", "h")
	if err != nil {
		t.Fatal(err)
	}
	inbox, _ := s.MailboxByName(ctx, a.ID, "INBOX")
	m := newMsg("x")
	m.Flags = []string{"two words"}
	if _, _, err := s.Append(ctx, inbox.Ref(), []store.NewMessage{m}); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("Append with flag %q: %v, want ErrInvalid", m.Flags[0], err)
	}
	if _, _, err := s.UpdateFlags(ctx, inbox.Ref(), []uint32{1}, store.FlagsAdd, []string{"bad\x01"}, 0); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("UpdateFlags with a control character: %v, want ErrInvalid", err)
	}
}

func TestRenameInboxToInferior(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	a, _ := s.CreateAccount(ctx, "a@example.org", "h")
	inbox, _ := s.MailboxByName(ctx, a.ID, "INBOX")
	if _, _, err := s.Append(ctx, inbox.Ref(), []store.NewMessage{newMsg("x")}); err != nil {
		t.Fatal(err)
	}
	if err := s.RenameMailbox(ctx, a.ID, "INBOX", "inbox/Old"); err != nil {
		t.Fatal(err)
	}
	old, err := s.MailboxByName(ctx, a.ID, "INBOX/Old")
	if err != nil {
		t.Fatal(err)
	}
	if uids, _ := storetest.UIDs(ctx, s, old.Ref()); len(uids) != 1 {
		t.Fatalf("INBOX/Old has %v", uids)
	}
}
