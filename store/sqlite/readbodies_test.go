package sqlite

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/mailroom/mailroom/store"
)

// TestReadBodies: the bytes of the UIDs asked for, exactly and in UID
// order, an expunged UID skipped; nothing through a ref naming another
// account or another UIDVALIDITY.
func TestReadBodies(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	a, err := s.CreateAccount(ctx, "rb@example.org", "h")
	if err != nil {
		t.Fatal(err)
	}
	other, err := s.CreateAccount(ctx, "rb-other@example.org", "h")
	if err != nil {
		t.Fatal(err)
	}
	inbox, err := s.MailboxByName(ctx, a.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	// Bodies of newMsg; the third spans overflow pages.
	bodies := []string{"A\r\n", "", strings.Repeat("0123456789abcdef", 8192), "D\n"}
	var batch []store.NewMessage
	var raws []string
	for _, b := range bodies {
		m := newMsg(b)
		batch = append(batch, m)
		raws = append(raws, string(m.Raw))
	}
	if _, _, err := s.Append(ctx, inbox.Ref(), batch); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Expunge(ctx, inbox.Ref(), []uint32{2}, false); err != nil {
		t.Fatal(err)
	}
	read := func(ref store.MailboxRef) (uids []uint32, got []string) {
		t.Helper()
		if err := s.ReadBodies(ctx, ref, []uint32{1, 2, 3, 4, 99}, func(id int64, uid uint32, raw []byte) error {
			uids = append(uids, uid)
			got = append(got, string(raw))
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return uids, got
	}
	uids, got := read(inbox.Ref())
	if !slices.Equal(uids, []uint32{1, 3, 4}) || !slices.Equal(got, []string{raws[0], raws[2], raws[3]}) {
		t.Fatalf("ReadBodies gave UIDs %v, %d bodies; want 1, 3, 4 with their bytes", uids, len(got))
	}
	wrongAcct := inbox.Ref()
	wrongAcct.AccountID = other.ID
	wrongValidity := inbox.Ref()
	wrongValidity.UIDValidity++
	for _, ref := range []store.MailboxRef{wrongAcct, wrongValidity} {
		if uids, _ := read(ref); len(uids) != 0 {
			t.Errorf("ReadBodies through %+v gave UIDs %v, want none", ref, uids)
		}
	}
}

// BenchmarkReadBodies: one read-ahead batch of POP3 RETR, 256 KiB in 32
// messages of 8 KiB, as ReadBodies (bytes handed over) and ListBodies
// (a copy per message). Run: go test -run '^$' -bench ReadBodies ./store/sqlite
func BenchmarkReadBodies(b *testing.B) {
	ctx := context.Background()
	s := openTest(b)
	a, err := s.CreateAccount(ctx, "rb@example.org", "h")
	if err != nil {
		b.Fatal(err)
	}
	inbox, err := s.MailboxByName(ctx, a.ID, "INBOX")
	if err != nil {
		b.Fatal(err)
	}
	var batch []store.NewMessage
	uids := make([]uint32, 32)
	for i := range uids {
		batch = append(batch, newMsg(strings.Repeat("a line of body text, about 70 characters long, as in a message ....\r\n", 8<<10/70)))
		uids[i] = uint32(i + 1)
	}
	if _, _, err := s.Append(ctx, inbox.Ref(), batch); err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 0, 300<<10)
	b.Run("ReadBodies", func(b *testing.B) {
		b.SetBytes(int64(len(batch) * len(batch[0].Raw)))
		for b.Loop() {
			buf = buf[:0]
			if err := s.ReadBodies(ctx, inbox.Ref(), uids, func(_ int64, _ uint32, raw []byte) error {
				buf = append(buf, raw...)
				return nil
			}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ListBodies", func(b *testing.B) {
		b.SetBytes(int64(len(batch) * len(batch[0].Raw)))
		for b.Loop() {
			buf = buf[:0]
			if err := s.ListBodies(ctx, inbox.Ref(), uids, func(_ store.MessageMeta, raw []byte) error {
				buf = append(buf, raw...)
				return nil
			}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
