package sqlite

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/mailroom/mailroom/message"
	"github.com/mailroom/mailroom/store"
)

func newMsg(body string) store.NewMessage {
	raw := []byte("Subject: t\r\n\r\n" + body)
	return store.NewMessage{Raw: raw, Part: &message.Part{BodyStart: 14, BodyEnd: int64(len(raw)), MediaType: "text", MediaSubtype: "plain"}}
}

// TestDurableAcrossReopen checks that everything a method reported done is
// there after Close and Open.
func TestDurableAcrossReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "mail.db")
	s, err := Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	a, err := s.CreateAccount(ctx, "alice@example.org", "h")
	if err != nil {
		t.Fatal(err)
	}
	d, err := s.Deliver(ctx, []store.Target{{AccountID: a.ID}}, newMsg("one"))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.UpdateFlags(ctx, d[0].Ref(), []uint32{d[0].UID}, store.FlagsAdd, []string{store.FlagSeen}, 0); err != nil {
		t.Fatal(err)
	}
	before, err := s.MailboxByID(ctx, d[0].Ref())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Deliver(ctx, []store.Target{{AccountID: a.ID}}, newMsg("late")); err == nil {
		t.Fatal("Deliver after Close succeeded")
	}

	s, err = Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	after, err := s.MailboxByID(ctx, d[0].Ref())
	if err != nil || after != before {
		t.Fatalf("mailbox after reopen %+v, %v; before %+v", after, err, before)
	}
	var metas []store.MessageMeta
	if err := s.ListMessages(ctx, after.Ref(), nil, func(m store.MessageMeta) error { metas = append(metas, m); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(metas) != 1 || metas[0].UID != d[0].UID || !metas[0].HasFlag(store.FlagSeen) {
		t.Fatalf("messages after reopen %+v", metas)
	}
	raw, err := s.MessageBody(ctx, after.Ref(), metas[0].ID)
	if err != nil || string(raw) != string(newMsg("one").Raw) {
		t.Fatalf("body after reopen %q, %v", raw, err)
	}
}

// TestSeesOtherProcessWrites opens the file twice, as the CLI and the
// server do, and checks each sees the other's commits at once.
func TestSeesOtherProcessWrites(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "mail.db")
	server, err := Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	cli, err := Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	if _, err := server.AccountByEmail(ctx, "bob@example.org"); err == nil {
		t.Fatal("account exists before creation")
	}
	a, err := cli.CreateAccount(ctx, "bob@example.org", "h1")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := server.AccountByEmail(ctx, "bob@example.org"); err != nil || got.ID != a.ID {
		t.Fatalf("server does not see the CLI's account: %+v, %v", got, err)
	}
	if _, err := server.Deliver(ctx, []store.Target{{AccountID: a.ID}}, newMsg("x")); err != nil {
		t.Fatal(err)
	}
	if err := cli.SetPassword(ctx, "bob@example.org", "h2"); err != nil {
		t.Fatal(err)
	}
	if got, _ := server.AccountByEmail(ctx, "bob@example.org"); got.PasswordHash != "h2" {
		t.Fatalf("server sees password %q", got.PasswordHash)
	}
	if err := cli.DeleteAccount(ctx, "bob@example.org"); err != nil {
		t.Fatal(err)
	}
	if _, err := server.AccountByID(ctx, a.ID); err == nil {
		t.Fatal("server still sees the deleted account")
	}
}

// TestBlobsShared checks that copies share one blob and that the blob goes
// with the last message using it, also when a whole account is deleted.
func TestBlobsShared(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	blobs := func() int {
		t.Helper()
		var n int
		if err := s.rdb.QueryRow("SELECT count(*) FROM blobs").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	a, _ := s.CreateAccount(ctx, "a@example.org", "h")
	b, _ := s.CreateAccount(ctx, "b@example.org", "h")
	d, err := s.Deliver(ctx, []store.Target{{AccountID: a.ID}, {AccountID: b.ID}}, newMsg("shared"))
	if err != nil {
		t.Fatal(err)
	}
	trash, _ := s.MailboxByName(ctx, a.ID, "Trash")
	if _, _, err := s.Copy(ctx, d[0].Ref(), []uint32{d[0].UID}, trash.Ref()); err != nil {
		t.Fatal(err)
	}
	if n := blobs(); n != 1 {
		t.Fatalf("%d blobs for one delivery to two accounts plus a copy, want 1", n)
	}
	if _, _, err := s.Expunge(ctx, d[0].Ref(), nil, false); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteMailbox(ctx, a.ID, "Trash"); err != nil {
		t.Fatal(err)
	}
	if n := blobs(); n != 1 {
		t.Fatalf("blob deleted while b still has the message (%d blobs)", n)
	}
	if err := s.DeleteAccount(ctx, "b@example.org"); err != nil {
		t.Fatal(err)
	}
	if n := blobs(); n != 0 {
		t.Fatalf("%d blobs left after the last message went", n)
	}
}

func TestCheckSettings(t *testing.T) {
	s := openTest(t)
	var mode string
	var sync, fk int
	if err := s.wdb.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if err := s.wdb.QueryRow("PRAGMA synchronous").Scan(&sync); err != nil {
		t.Fatal(err)
	}
	if err := s.rdb.QueryRow("PRAGMA foreign_keys").Scan(&fk); err != nil {
		t.Fatal(err)
	}
	if mode != "wal" || sync != 2 || fk != 1 {
		t.Fatalf("journal_mode %q synchronous %d foreign_keys %d; want wal, 2 (FULL), 1", mode, sync, fk)
	}
	if _, err := s.rdb.Exec("DELETE FROM accounts"); err == nil {
		t.Fatal("read pool accepts writes")
	}
}
