package storetest

import (
	"bytes"
	"errors"
	"testing"

	"github.com/mailroom/mailroom/store"
)

var metadataTests = []test{
	{"Metadata/GetSetDepth", testMetadataGetSet},
	{"Metadata/Limit", testMetadataLimit},
	{"Metadata/MailboxLifecycle", testMetadataMailboxLifecycle},
	{"Metadata/Isolation", testMetadataIsolation},
	{"Metadata/URLAuthKeys", testURLAuthKeys},
}

func metaNames(es []store.MetadataEntry) []string {
	out := []string{}
	for _, e := range es {
		out = append(out, e.Name)
	}
	return out
}

func wantMeta(t *testing.T, what string, got []store.MetadataEntry, err error, want ...string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	g := metaNames(got)
	if len(g) != len(want) {
		t.Fatalf("%s: %q, want %q", what, g, want)
	}
	for i := range g {
		if g[i] != want[i] {
			t.Fatalf("%s: %q, want %q", what, g, want)
		}
	}
}

func setMeta(t *testing.T, s store.Store, acct, mbox int64, kv ...string) {
	t.Helper()
	var es []store.MetadataEntry
	for i := 0; i < len(kv); i += 2 {
		e := store.MetadataEntry{Name: kv[i]}
		if kv[i+1] != "<nil>" {
			e.Value = []byte(kv[i+1])
		}
		es = append(es, e)
	}
	if err := s.SetMetadata(ctx(t), acct, mbox, es, 100); err != nil {
		t.Fatal(err)
	}
}

// testMetadataGetSet: server and mailbox entries are apart; depth 0, 1
// and infinity; an empty value is kept, a nil one removes.
func testMetadataGetSet(t *testing.T, s store.Store) {
	a := mustAccount(t, s, "alice@example.org")
	inbox := mustMailbox(t, s, a.ID, "INBOX")
	setMeta(t, s, a.ID, 0, "/private/comment", "server", "/shared/comment", "")
	setMeta(t, s, a.ID, inbox.ID, "/private/comment", "inbox", "/private/comment/a", "1", "/private/comment/a/b", "2", "/private/commentx", "x")
	got, err := s.GetMetadata(ctx(t), a.ID, 0, []string{"/private/comment", "/shared/comment"}, 0)
	wantMeta(t, "server", got, err, "/private/comment", "/shared/comment")
	if string(got[0].Value) != "server" || got[1].Value == nil || len(got[1].Value) != 0 {
		t.Fatalf("server values %q", got)
	}
	got, err = s.GetMetadata(ctx(t), a.ID, inbox.ID, []string{"/private/comment"}, 0)
	wantMeta(t, "depth 0", got, err, "/private/comment")
	if string(got[0].Value) != "inbox" {
		t.Fatalf("INBOX value %q", got[0].Value)
	}
	got, err = s.GetMetadata(ctx(t), a.ID, inbox.ID, []string{"/private/comment"}, 1)
	wantMeta(t, "depth 1", got, err, "/private/comment", "/private/comment/a")
	got, err = s.GetMetadata(ctx(t), a.ID, inbox.ID, []string{"/private/comment", "/private/comment/a"}, -1)
	wantMeta(t, "depth infinity", got, err, "/private/comment", "/private/comment/a", "/private/comment/a/b")
	setMeta(t, s, a.ID, inbox.ID, "/private/comment", "<nil>", "/private/missing", "<nil>")
	got, err = s.GetMetadata(ctx(t), a.ID, inbox.ID, []string{"/private/comment"}, 0)
	wantMeta(t, "after removal", got, err)
	if _, err := s.GetMetadata(ctx(t), a.ID, 999999, []string{"/private/comment"}, 0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown mailbox: %v", err)
	}
}

// testMetadataLimit: a SetMetadata that would pass maxEntries (over the
// whole account) writes nothing; replacing an entry does not count twice.
func testMetadataLimit(t *testing.T, s store.Store) {
	a := mustAccount(t, s, "alice@example.org")
	inbox := mustMailbox(t, s, a.ID, "INBOX")
	if err := s.SetMetadata(ctx(t), a.ID, 0, []store.MetadataEntry{{Name: "/private/a", Value: []byte("1")}, {Name: "/private/b", Value: []byte("2")}}, 3); err != nil {
		t.Fatal(err)
	}
	err := s.SetMetadata(ctx(t), a.ID, inbox.ID, []store.MetadataEntry{{Name: "/private/c", Value: []byte("3")}, {Name: "/private/d", Value: []byte("4")}}, 3)
	if !errors.Is(err, store.ErrTooManyMetadata) {
		t.Fatalf("fourth entry: %v, want ErrTooManyMetadata", err)
	}
	got, err := s.GetMetadata(ctx(t), a.ID, inbox.ID, []string{"/private"}, -1)
	wantMeta(t, "after refused set", got, err)
	if err := s.SetMetadata(ctx(t), a.ID, 0, []store.MetadataEntry{{Name: "/private/a", Value: []byte("new")}, {Name: "/private/c", Value: []byte("3")}}, 3); err != nil {
		t.Fatalf("replace plus one: %v", err)
	}
}

// testMetadataMailboxLifecycle: RENAME keeps a mailbox's entries and key,
// DELETE removes them, so a new mailbox of the old name starts bare.
func testMetadataMailboxLifecycle(t *testing.T, s store.Store) {
	a := mustAccount(t, s, "alice@example.org")
	m, err := s.CreateMailbox(ctx(t), a.ID, "Work", "")
	if err != nil {
		t.Fatal(err)
	}
	setMeta(t, s, a.ID, m.ID, "/private/comment", "work")
	key := bytes.Repeat([]byte{7}, store.URLAuthKeySize)
	if _, err := s.URLAuthKey(ctx(t), m.Ref(), key); err != nil {
		t.Fatal(err)
	}
	if err := s.RenameMailbox(ctx(t), a.ID, "Work", "Job"); err != nil {
		t.Fatal(err)
	}
	j := mustMailbox(t, s, a.ID, "Job")
	got, err := s.GetMetadata(ctx(t), a.ID, j.ID, []string{"/private/comment"}, 0)
	wantMeta(t, "after rename", got, err, "/private/comment")
	if k, err := s.URLAuthKey(ctx(t), j.Ref(), nil); err != nil || !bytes.Equal(k, key) {
		t.Fatalf("key after rename %x, %v", k, err)
	}
	if err := s.DeleteMailbox(ctx(t), a.ID, "Job"); err != nil {
		t.Fatal(err)
	}
	n, err := s.CreateMailbox(ctx(t), a.ID, "Job", "")
	if err != nil {
		t.Fatal(err)
	}
	got, err = s.GetMetadata(ctx(t), a.ID, n.ID, []string{"/private"}, -1)
	wantMeta(t, "re-created mailbox", got, err)
	// The entries of the deleted mailbox no longer count.
	if err := s.SetMetadata(ctx(t), a.ID, 0, []store.MetadataEntry{{Name: "/private/x", Value: []byte("1")}}, 1); err != nil {
		t.Fatalf("deleted mailbox's entries still counted: %v", err)
	}
	if _, err := s.URLAuthKey(ctx(t), n.Ref(), nil); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("re-created mailbox has a key: %v", err)
	}
}

// testMetadataIsolation: no call reaches another account's mailbox or
// entries.
func testMetadataIsolation(t *testing.T, s store.Store) {
	a := mustAccount(t, s, "alice@example.org")
	b := mustAccount(t, s, "bob@example.org")
	ai := mustMailbox(t, s, a.ID, "INBOX")
	setMeta(t, s, a.ID, 0, "/private/comment", "alice")
	setMeta(t, s, a.ID, ai.ID, "/private/comment", "alice inbox")
	got, err := s.GetMetadata(ctx(t), b.ID, 0, []string{"/private/comment"}, -1)
	wantMeta(t, "bob's server entries", got, err)
	if _, err := s.GetMetadata(ctx(t), b.ID, ai.ID, []string{"/private/comment"}, 0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("bob reads alice's INBOX entries: %v", err)
	}
	if err := s.SetMetadata(ctx(t), b.ID, ai.ID, []store.MetadataEntry{{Name: "/private/comment", Value: []byte("x")}}, 100); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("bob writes alice's INBOX entries: %v", err)
	}
	ref := ai.Ref()
	ref.AccountID = b.ID
	if _, err := s.URLAuthKey(ctx(t), ref, bytes.Repeat([]byte{1}, store.URLAuthKeySize)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("bob makes a key for alice's INBOX: %v", err)
	}
	if err := s.DeleteURLAuthKeys(ctx(t), b.ID, ai.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("bob resets alice's key: %v", err)
	}
}

// testURLAuthKeys: the first key stored stays until deleted; deleting one
// mailbox's key or all of them.
func testURLAuthKeys(t *testing.T, s store.Store) {
	a := mustAccount(t, s, "alice@example.org")
	inbox := mustMailbox(t, s, a.ID, "INBOX")
	sent := mustMailbox(t, s, a.ID, "Sent")
	k1 := bytes.Repeat([]byte{1}, store.URLAuthKeySize)
	k2 := bytes.Repeat([]byte{2}, store.URLAuthKeySize)
	if _, err := s.URLAuthKey(ctx(t), inbox.Ref(), nil); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("no key yet: %v", err)
	}
	for _, k := range [][]byte{k1, k2} {
		if got, err := s.URLAuthKey(ctx(t), inbox.Ref(), k); err != nil || !bytes.Equal(got, k1) {
			t.Fatalf("URLAuthKey: %x, %v; want the first key", got, err)
		}
	}
	if _, err := s.URLAuthKey(ctx(t), sent.Ref(), k2); err != nil {
		t.Fatal(err)
	}
	stale := inbox.Ref()
	stale.UIDValidity++
	if _, err := s.URLAuthKey(ctx(t), stale, nil); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("wrong UIDVALIDITY: %v", err)
	}
	if err := s.DeleteURLAuthKeys(ctx(t), a.ID, inbox.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.URLAuthKey(ctx(t), inbox.Ref(), nil); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("after reset of INBOX: %v", err)
	}
	if got, err := s.URLAuthKey(ctx(t), sent.Ref(), nil); err != nil || !bytes.Equal(got, k2) {
		t.Fatalf("Sent's key after INBOX reset: %x, %v", got, err)
	}
	if err := s.DeleteURLAuthKeys(ctx(t), a.ID, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.URLAuthKey(ctx(t), sent.Ref(), nil); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("after reset of all: %v", err)
	}
}
