package storetest

import (
	"errors"
	"reflect"
	"testing"

	"github.com/mailroom/mailroom/store"
)

var importTests = []test{
	{"Imports/State", testImportState},
	{"Imports/Scoped", testImportScoped},
}

// testImportState: the state of an import folder is saved, replaced and
// read back; UID pairs are added, remapped and dropped by reset; a large
// mapping goes through; deleting the account takes it all.
func testImportState(t *testing.T, s store.Store) {
	a := mustAccount(t, s, "alice@example.org")
	m := mustCreate(t, s, a.ID, "Imported")
	const src, folder = "imaps://old@mail.example.net:993", "INBOX"
	if _, err := s.ImportFolder(ctx(t), a.ID, src, folder); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("ImportFolder before any save: %v, want ErrNotFound", err)
	}
	if got, err := s.ImportedUIDs(ctx(t), a.ID, src, folder, []uint32{1, 2}); err != nil || len(got) != 0 {
		t.Fatalf("ImportedUIDs before any save: %v, %v", got, err)
	}
	f := store.ImportFolder{Source: src, Folder: folder, MailboxID: m.ID, UIDValidity: 4000000000, HighestModSeq: 1 << 40, LastUID: 4294967295}
	if err := s.SaveImportFolder(ctx(t), a.ID, f, false, []store.UIDPair{{Src: 1, Dst: 10}, {Src: 4294967295, Dst: 4294967294}, {Src: 3, Dst: 30}, {Src: 3, Dst: 31}}); err != nil {
		t.Fatal(err)
	}
	got, err := s.ImportFolder(ctx(t), a.ID, src, folder)
	if err != nil || got != f {
		t.Fatalf("ImportFolder = %+v, %v; want %+v", got, err, f)
	}
	pairs, err := s.ImportedUIDs(ctx(t), a.ID, src, folder, []uint32{1, 2, 3, 4294967295})
	if want := map[uint32]uint32{1: 10, 3: 31, 4294967295: 4294967294}; err != nil || !reflect.DeepEqual(pairs, want) {
		t.Fatalf("ImportedUIDs = %v, %v; want %v", pairs, err, want)
	}
	// Saving again replaces the state and adds to (remaps in) the mapping.
	f.HighestModSeq, f.LastUID = 7, 9
	if err := s.SaveImportFolder(ctx(t), a.ID, f, false, []store.UIDPair{{Src: 1, Dst: 11}, {Src: 5, Dst: 50}}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.ImportFolder(ctx(t), a.ID, src, folder); got != f {
		t.Fatalf("ImportFolder after the second save = %+v, want %+v", got, f)
	}
	pairs, _ = s.ImportedUIDs(ctx(t), a.ID, src, folder, []uint32{1, 3, 5})
	if want := map[uint32]uint32{1: 11, 3: 31, 5: 50}; !reflect.DeepEqual(pairs, want) {
		t.Fatalf("ImportedUIDs after the second save = %v, want %v", pairs, want)
	}
	// Reset drops the old mapping before adding; a large one is fine.
	f.UIDValidity = 5
	big := make([]store.UIDPair, 12000)
	srcs := make([]uint32, len(big))
	for i := range big {
		big[i] = store.UIDPair{Src: uint32(i + 100), Dst: uint32(2*i + 1)}
		srcs[i] = uint32(i + 100)
	}
	if err := s.SaveImportFolder(ctx(t), a.ID, f, true, big); err != nil {
		t.Fatal(err)
	}
	pairs, err = s.ImportedUIDs(ctx(t), a.ID, src, folder, append([]uint32{1, 3, 5}, srcs...))
	if err != nil || len(pairs) != len(big) || pairs[100] != 1 || pairs[12099] != 2*11999+1 {
		t.Fatalf("ImportedUIDs after reset: %d pairs, %v", len(pairs), err)
	}
	// Another folder of the same source has its own state.
	if _, err := s.ImportFolder(ctx(t), a.ID, src, "Sent"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("ImportFolder of another folder: %v, want ErrNotFound", err)
	}
	if err := s.DeleteAccount(ctx(t), a.Email); err != nil {
		t.Fatal(err)
	}
	b := mustAccount(t, s, a.Email)
	if _, err := s.ImportFolder(ctx(t), b.ID, src, folder); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("ImportFolder after the account was deleted and re-created: %v", err)
	}
}

// testImportScoped: one account cannot record state against another's
// mailbox, nor read another's state.
func testImportScoped(t *testing.T, s store.Store) {
	a := mustAccount(t, s, "alice@example.org")
	b := mustAccount(t, s, "bob@example.org")
	mb := mustCreate(t, s, b.ID, "Bob's")
	f := store.ImportFolder{Source: "imap://x@h:143", Folder: "INBOX", MailboxID: mb.ID, UIDValidity: 1, LastUID: 1}
	if err := s.SaveImportFolder(ctx(t), a.ID, f, false, []store.UIDPair{{Src: 1, Dst: 1}}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("SaveImportFolder into another account's mailbox: %v, want ErrNotFound", err)
	}
	if err := s.SaveImportFolder(ctx(t), b.ID, f, false, []store.UIDPair{{Src: 1, Dst: 1}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ImportFolder(ctx(t), a.ID, f.Source, f.Folder); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("ImportFolder of another account's state: %v, want ErrNotFound", err)
	}
	if pairs, err := s.ImportedUIDs(ctx(t), a.ID, f.Source, f.Folder, []uint32{1}); err != nil || len(pairs) != 0 {
		t.Fatalf("ImportedUIDs of another account's mapping: %v, %v", pairs, err)
	}
	if err := s.SaveImportFolder(ctx(t), b.ID, store.ImportFolder{MailboxID: mb.ID}, false, nil); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("SaveImportFolder without source: %v, want ErrInvalid", err)
	}
}
