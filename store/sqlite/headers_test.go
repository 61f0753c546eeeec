package sqlite

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailroom/mailroom/message"
	"github.com/mailroom/mailroom/store"
)

// headerSeedRaws are messages of mailbox 73 (UIDs 1..) whose headers
// migration 7 backfills: NULs and high bytes, bare LFs, no body, no
// header, and a body large enough to span overflow pages.
var headerSeedRaws = []string{
	"Subject: nul \x00 high \xff\r\nX-A: \x00\x01\r\n\r\n\x00body\r\n",
	"Subject: bare\nFrom: a@example.org\n\nbody\n",
	"Subject: no body\r\n",
	"\r\nno header\r\n",
	"",
	"Subject: large\r\n\r\n" + strings.Repeat("0123456789abcdef", 8192),
}

// headerSeed inserts headerSeedRaws into a mailbox 73 of account 7, with
// SQL for schema version v.
func headerSeed(v int) string {
	var b strings.Builder
	n := len(headerSeedRaws)
	fmt.Fprintf(&b, "INSERT INTO mailboxes(id, account_id, name, special_use, uidvalidity, uidnext, highestmodseq) VALUES (73, 7, 'Headers', '', 997, %d, %d);\n", n+1, n)
	for i, raw := range headerSeedRaws {
		part, err := json.Marshal(message.Parse([]byte(raw)))
		if err != nil {
			panic(err)
		}
		fmt.Fprintf(&b, "INSERT INTO blobs(id, raw, part, size) VALUES (%d, X'%x', '%s', %d);\n", 730+i, raw, strings.ReplaceAll(string(part), "'", "''"), len(raw))
		if v >= 5 {
			fmt.Fprintf(&b, "INSERT INTO messages(id, mailbox_id, uid, modseq, internal_date, size, wire_size, blob_id) VALUES (%d, 73, %d, %d, 1700000000000000000, %d, %d, %d);\n", 7300+i, i+1, i+1, len(raw), message.CRLFSize([]byte(raw)), 730+i)
		} else {
			fmt.Fprintf(&b, "INSERT INTO messages(id, mailbox_id, uid, modseq, internal_date, size, blob_id) VALUES (%d, 73, %d, %d, 1700000000000000000, %d, %d);\n", 7300+i, i+1, i+1, len(raw), 730+i)
		}
	}
	return b.String()
}

// headersOf returns ListHeaders of a mailbox by UID.
func headersOf(t *testing.T, s store.Store, mailboxID store.MailboxRef) map[uint32]string {
	t.Helper()
	out := map[uint32]string{}
	if err := s.ListHeaders(context.Background(), mailboxID, nil, func(m store.MessageMeta, h []byte) error {
		out[m.UID] = string(h)
		return nil
	}); err != nil {
		t.Fatalf("ListHeaders of mailbox %d: %v", mailboxID, err)
	}
	return out
}

// checkHeadersSeeded checks the headers migration 7 backfilled, and that
// they go with their blobs.
func checkHeadersSeeded(t *testing.T, s *Store) {
	t.Helper()
	ctx := context.Background()
	// The backfill cuts raw where the stored part tree puts the body
	// (which the v1 seed puts at 14, before the blank line).
	if h := headersOf(t, s, store.MailboxRef{AccountID: 7, MailboxID: 70}); len(h) != 1 || h[3] != "Subject: old\r\n" {
		t.Fatalf("headers of the migrated INBOX: %v", h)
	}
	h := headersOf(t, s, store.MailboxRef{AccountID: 7, MailboxID: 73})
	if len(h) != len(headerSeedRaws) {
		t.Fatalf("headers of mailbox 73: %d, want %d", len(h), len(headerSeedRaws))
	}
	for i, raw := range headerSeedRaws {
		if want := raw[:message.ParseTop([]byte(raw)).BodyStart]; h[uint32(i+1)] != want {
			t.Errorf("migrated header of UID %d: %q, want %q", i+1, h[uint32(i+1)], want)
		}
	}
	// The wire-size seed has parts without "bs": their header is empty.
	for uid, hdr := range headersOf(t, s, store.MailboxRef{AccountID: 7, MailboxID: 72}) {
		if hdr != "" {
			t.Errorf("header of UID %d of mailbox 72 (no body start in its part): %q", uid, hdr)
		}
	}
	if _, _, err := s.Expunge(ctx, store.MailboxRef{AccountID: 7, MailboxID: 73}, nil, false); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := s.rdb.QueryRow("SELECT count(*) FROM headers WHERE blob_id BETWEEN 730 AND 739").Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d headers left after the expunge of their messages, %v", n, err)
	}
}

// TestHeadersGoWithBlobs: every blob has one header row, shared by the
// copies of a message, removed with the last of them however it goes
// (expunge, mailbox and account deletion).
func TestHeadersGoWithBlobs(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "h.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	count := func(want int) {
		t.Helper()
		var blobs, headers, orphans int
		err := s.rdb.QueryRow(`SELECT (SELECT count(*) FROM blobs), (SELECT count(*) FROM headers),
			(SELECT count(*) FROM headers WHERE blob_id NOT IN (SELECT id FROM blobs))`).Scan(&blobs, &headers, &orphans)
		if err != nil || blobs != want || headers != want || orphans != 0 {
			t.Fatalf("%d blobs, %d headers, %d orphans (%v); want %d, %d, 0", blobs, headers, orphans, err, want, want)
		}
	}
	a, err := s.CreateAccount(ctx, "a@example.org", "h")
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.CreateAccount(ctx, "b@example.org", "h")
	if err != nil {
		t.Fatal(err)
	}
	inbox, _ := s.MailboxByName(ctx, a.ID, store.Inbox)
	box, err := s.CreateMailbox(ctx, a.ID, "Box", "")
	if err != nil {
		t.Fatal(err)
	}
	msg := func(subject string) store.NewMessage {
		raw := []byte("Subject: " + subject + "\r\n\r\nbody\r\n")
		return store.NewMessage{Raw: raw, Part: message.Parse(raw)}
	}
	if _, err := s.Deliver(ctx, []store.Target{{AccountID: a.ID}, {AccountID: b.ID}}, msg("shared")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Append(ctx, inbox.Ref(), []store.NewMessage{msg("one"), msg("two")}); err != nil {
		t.Fatal(err)
	}
	count(3)
	if _, _, err := s.Copy(ctx, inbox.Ref(), []uint32{1, 2, 3}, box.Ref()); err != nil {
		t.Fatal(err)
	}
	count(3)
	if _, _, err := s.Expunge(ctx, inbox.Ref(), []uint32{2}, false); err != nil {
		t.Fatal(err)
	}
	count(3)
	if _, _, err := s.Expunge(ctx, box.Ref(), []uint32{2}, false); err != nil { // the copy of UID 2
		t.Fatal(err)
	}
	count(2)
	if err := s.DeleteMailbox(ctx, a.ID, "Box"); err != nil {
		t.Fatal(err)
	}
	count(2)
	if err := s.DeleteAccount(ctx, a.Email); err != nil {
		t.Fatal(err)
	}
	count(1) // b's copy of the delivery
	if h := headersOf(t, s, mustMailboxID(t, s, b.ID)); len(h) != 1 || h[1] != "Subject: shared\r\n\r\n" {
		t.Fatalf("b's headers %v", h)
	}
	if err := s.DeleteAccount(ctx, b.Email); err != nil {
		t.Fatal(err)
	}
	count(0)
}

func mustMailboxID(t *testing.T, s *Store, accountID int64) store.MailboxRef {
	t.Helper()
	m, err := s.MailboxByName(context.Background(), accountID, store.Inbox)
	if err != nil {
		t.Fatal(err)
	}
	return m.Ref()
}
