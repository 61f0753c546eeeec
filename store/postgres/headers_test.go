package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/mailroom/mailroom/message"
	"github.com/mailroom/mailroom/store"
)

// headerSeedRaws are messages of mailbox 73 (UIDs 1..) whose headers
// migration 6 backfills: NULs (whose part JSON holds \u0000, which jsonb
// refuses) and high bytes, bare LFs, no body, no header, and a body large
// enough to be TOASTed.
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
		fmt.Fprintf(&b, "INSERT INTO blobs(id, raw, part, size) VALUES (%d, decode('%x', 'hex'), '%s', %d);\n", 730+i, raw, strings.ReplaceAll(string(part), "'", "''"), len(raw))
		if v >= 4 {
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

// checkHeadersSeeded checks the headers migration 6 backfilled.
func checkHeadersSeeded(t *testing.T, s *Store) {
	t.Helper()
	// The backfill cuts raw where the stored part tree puts the body
	// (which the v1 seed puts at 14, before the blank line).
	if h := headersOf(t, s, store.MailboxRef{AccountID: 7, MailboxID: 70}); len(h) != 1 || h[3] != "Subject: old\r\n" {
		t.Fatalf("headers of the migrated INBOX: %v", h)
	}
	checkHeaderSeedMailbox(t, s)
	// The wire-size seed has parts without "bs": their header is empty.
	for uid, hdr := range headersOf(t, s, store.MailboxRef{AccountID: 7, MailboxID: 72}) {
		if hdr != "" {
			t.Errorf("header of UID %d of mailbox 72 (no body start in its part): %q", uid, hdr)
		}
	}
}

func checkHeaderSeedMailbox(t *testing.T, s *Store) {
	t.Helper()
	h := headersOf(t, s, store.MailboxRef{AccountID: 7, MailboxID: 73})
	if len(h) != len(headerSeedRaws) {
		t.Fatalf("headers of mailbox 73: %d, want %d", len(h), len(headerSeedRaws))
	}
	for i, raw := range headerSeedRaws {
		if want := raw[:message.ParseTop([]byte(raw)).BodyStart]; h[uint32(i+1)] != want {
			t.Errorf("header of UID %d: %q, want %q", i+1, h[uint32(i+1)], want)
		}
	}
}

// TestHeadersOfOlderNodes: a blob inserted without a header (by a node
// still running the code of schema version 5) has its header cut from
// raw when listed.
func TestHeadersOfOlderNodes(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	if _, err := s.pool.Exec(ctx, "INSERT INTO accounts(id, email, domain, password_hash, created) VALUES (7, 'old@example.org', 'example.org', 'hash', 1700000000000000000)"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.pool.Exec(ctx, headerSeed(len(migrations)-1)); err != nil {
		t.Fatal(err)
	}
	var nulls int
	if err := s.pool.QueryRow(ctx, "SELECT count(*) FROM blobs WHERE header IS NULL").Scan(&nulls); err != nil || nulls != len(headerSeedRaws) {
		t.Fatalf("%d blobs without header, %v", nulls, err)
	}
	checkHeaderSeedMailbox(t, s)
}
