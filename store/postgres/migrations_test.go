package postgres

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mailroom/mailroom/message"
	"github.com/mailroom/mailroom/store"
)

// seeds[v] inserts, with plain SQL for schema version v, the data that
// checkSeeded expects: one account with two mailboxes, a message, a
// subscription and a tombstone. When you add migration N+1, add seeds[N].
var seeds = map[int]string{
	1: `
SELECT setval('uidvalidity_seq', 1000);
INSERT INTO accounts(id, email, domain, password_hash, created) VALUES (7, 'old@example.org', 'example.org', 'hash', 1700000000000000000);
INSERT INTO mailboxes(id, account_id, name, special_use, uidvalidity, uidnext, highestmodseq) VALUES
	(70, 7, 'INBOX', '', 999, 4, 5),
	(71, 7, 'Sent', '\Sent', 1000, 1, 0);
INSERT INTO subscriptions(account_id, name) VALUES (7, 'INBOX'), (7, 'Gone');
INSERT INTO blobs(id, raw, part, size) VALUES (700, convert_to(E'Subject: old\r\n\r\nbody\r\n', 'UTF8'), '{"hs":0,"bs":14,"be":20,"mt":"text","ms":"plain"}', 20);
INSERT INTO messages(id, mailbox_id, uid, modseq, sysflags, keywords, internal_date, tz_offset, size, blob_id) VALUES
	(7000, 70, 3, 4, 1, 'Old', 1700000000000000000, 3600, 20, 700);
INSERT INTO expunged(mailbox_id, uid, modseq) VALUES (70, 1, 5);
`,
}

func init() {
	// Version 2 only added the queue tables.
	seeds[2] = seeds[1]
	// Version 3 only added the mailbox counters (kept by triggers).
	seeds[3] = seeds[2]
	// Every version also gets the messages whose wire size migration 4
	// backfills.
	for v := 1; v <= 3; v++ {
		seeds[v] += wireSeed()
	}
}

// wireRaws are messages of mailbox 72 (UIDs 1..) whose line endings make
// their wire size differ from their size.
var wireRaws = []string{
	"Subject: lf\n\nbare\nLF\n",
	"Subject: mixed\r\n\nno final newline",
	"",
	"\r",
	"a\rb\r\r\n\n\r\n.\n",
	"\x00\n\xff\xfe\r\n\\\x00",
}

// wireSeed inserts wireRaws into a mailbox 72 of account 7, and a copy of
// the first one (same blob) as the last UID.
func wireSeed() string {
	var b strings.Builder
	n := len(wireRaws)
	fmt.Fprintf(&b, "INSERT INTO mailboxes(id, account_id, name, special_use, uidvalidity, uidnext, highestmodseq) VALUES (72, 7, 'Odd', '', 998, %d, %d);\n", n+2, n+1)
	for i, raw := range wireRaws {
		fmt.Fprintf(&b, "INSERT INTO blobs(id, raw, part, size) VALUES (%d, decode('%x', 'hex'), '{\"mt\":\"text\",\"ms\":\"plain\"}', %d);\n", 720+i, raw, len(raw))
		fmt.Fprintf(&b, "INSERT INTO messages(id, mailbox_id, uid, modseq, internal_date, size, blob_id) VALUES (%d, 72, %d, %d, 1700000000000000000, %d, %d);\n", 7200+i, i+1, i+1, len(raw), 720+i)
	}
	fmt.Fprintf(&b, "INSERT INTO messages(id, mailbox_id, uid, modseq, internal_date, size, blob_id) VALUES (%d, 72, %d, %d, 1700000000000000000, %d, 720);\n", 7200+n, n+1, n+1, len(wireRaws[0]))
	return b.String()
}

// checkWireSizes checks the wire sizes of mailbox 72 through every read.
func checkWireSizes(t *testing.T, s store.Store) {
	t.Helper()
	ctx := context.Background()
	want := func(uid uint32) int64 {
		return message.CRLFSize([]byte(wireRaws[(int(uid)-1)%len(wireRaws)]))
	}
	n := 0
	err := s.ListMessages(ctx, store.MailboxRef{AccountID: 7, MailboxID: 72}, nil, func(m store.MessageMeta) error {
		n++
		if m.WireSize != want(m.UID) {
			t.Errorf("ListMessages: UID %d WireSize %d, want %d", m.UID, m.WireSize, want(m.UID))
		}
		return nil
	})
	if err != nil || n != len(wireRaws)+1 {
		t.Fatalf("ListMessages of mailbox 72: %d messages, %v", n, err)
	}
	err = s.ListBodies(ctx, store.MailboxRef{AccountID: 7, MailboxID: 72}, nil, func(m store.MessageMeta, raw []byte) error {
		if m.WireSize != message.CRLFSize(raw) || m.WireSize != want(m.UID) {
			t.Errorf("ListBodies: UID %d WireSize %d, raw %q", m.UID, m.WireSize, raw)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	changed, _, _, err := s.Changes(ctx, store.MailboxRef{AccountID: 7, MailboxID: 72}, 0)
	if err != nil || len(changed) != len(wireRaws)+1 {
		t.Fatalf("Changes: %d, %v", len(changed), err)
	}
	for _, m := range changed {
		if m.WireSize != want(m.UID) {
			t.Errorf("Changes: UID %d WireSize %d, want %d", m.UID, m.WireSize, want(m.UID))
		}
	}
}

func connConfig(t *testing.T, dsn string) *pgx.ConnConfig {
	t.Helper()
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func versionOf(t *testing.T, dsn string) int {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	v, err := schemaVersionOf(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestMigrateFromEveryVersion(t *testing.T) {
	for v := 1; v < len(migrations); v++ {
		t.Run(fmt.Sprintf("v%d", v), func(t *testing.T) {
			seed, ok := seeds[v]
			if !ok {
				t.Fatalf("no seed for schema version %d: add one to seeds", v)
			}
			ctx := context.Background()
			dsn := testDSN(t)
			if err := migrate(ctx, connConfig(t, dsn), v); err != nil {
				t.Fatal(err)
			}
			if got := versionOf(t, dsn); got != v {
				t.Fatalf("built version %d, want %d", got, v)
			}
			conn, err := pgx.Connect(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := conn.Exec(ctx, seed); err != nil {
				t.Fatalf("seed v%d: %v", v, err)
			}
			conn.Close(ctx)

			s := openDSN(t, dsn)
			if got := versionOf(t, dsn); got != len(migrations) {
				t.Fatalf("after Open version %d, want %d", got, len(migrations))
			}
			checkSeeded(t, s)
		})
	}
}

func TestRefusesNewerSchema(t *testing.T) {
	dsn := testDSN(t)
	s := openDSN(t, dsn)
	if _, err := s.pool.Exec(context.Background(), "UPDATE schema_version SET version = version + 1"); err != nil {
		t.Fatal(err)
	}
	if s, err := Open(context.Background(), dsn, nil); err == nil {
		s.Close()
		t.Fatal("Open accepted a database from a newer program")
	}
}

// TestConcurrentOpen starts several nodes on an empty schema at once: the
// advisory lock lets one migrate while the others wait.
func TestConcurrentOpen(t *testing.T) {
	dsn := testDSN(t)
	const nodes = 4
	var wg sync.WaitGroup
	errs := make([]error, nodes)
	stores := make([]*Store, nodes)
	for i := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stores[i], errs[i] = Open(context.Background(), dsn, nil)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("node %d: Open: %v", i, err)
			continue
		}
		stores[i].Close()
	}
	if got := versionOf(t, dsn); got != len(migrations) {
		t.Fatalf("version %d, want %d", got, len(migrations))
	}
}

func checkSeeded(t *testing.T, s *Store) {
	ctx := context.Background()
	a, err := s.AccountByEmail(ctx, "OLD@example.org")
	if err != nil || a.ID != 7 || a.PasswordHash != "hash" || a.Created.UnixNano() != 1700000000000000000 {
		t.Fatalf("account %+v, %v", a, err)
	}
	if ok, err := s.IsLocalDomain(ctx, "example.org"); err != nil || !ok {
		t.Fatalf("IsLocalDomain of a migrated account: %v, %v", ok, err)
	}
	inbox, err := s.MailboxByName(ctx, 7, "inbox")
	if err != nil || inbox.ID != 70 || inbox.UIDValidity != 999 || inbox.UIDNext != 4 || inbox.HighestModSeq != 5 {
		t.Fatalf("INBOX %+v, %v", inbox, err)
	}
	// Migration 7: what existed before \Recent is not recent.
	if _, n, err := s.RecentCount(ctx, inbox.Ref()); err != nil || n != 0 {
		t.Fatalf("RecentCount of a migrated INBOX %d, %v", n, err)
	}
	var ms []store.MessageMeta
	if err := s.ListMessages(ctx, inbox.Ref(), nil, func(m store.MessageMeta) error { ms = append(ms, m); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(ms) != 1 || ms[0].UID != 3 || ms[0].ModSeq != 4 || len(ms[0].Flags) != 2 || ms[0].Flags[0] != "Old" || ms[0].Flags[1] != store.FlagSeen {
		t.Fatalf("messages %+v", ms)
	}
	if _, off := ms[0].InternalDate.Zone(); off != 3600 {
		t.Fatalf("zone offset %d", off)
	}
	// Migration 17 leaves save dates NULL: the internal date stands in.
	if sd, err := s.SaveDates(ctx, inbox.Ref(), []uint32{3}); err != nil || !sd[3].Equal(ms[0].InternalDate) {
		t.Fatalf("SaveDates of a migrated message %v, %v; want the internal date %v", sd, err, ms[0].InternalDate)
	}
	raw, err := s.MessageBody(ctx, inbox.Ref(), 7000)
	if err != nil || string(raw) != "Subject: old\r\n\r\nbody\r\n" {
		t.Fatalf("body %q, %v", raw, err)
	}
	part, err := s.MessagePart(ctx, inbox.Ref(), 7000)
	// The JSON tree of an old blob is not read (migration 18): its tree
	// is parsed from its bytes when first asked for (the seed's JSON,
	// written for LF line endings, says 14).
	if err != nil || part.MediaType != "text" || part.BodyStart != 16 || part.BodyEnd != 22 {
		t.Fatalf("part %+v, %v", part, err)
	}
	// Migration 3 backfilled the mailbox counters.
	if st, err := s.MailboxStatus(ctx, inbox.Ref()); err != nil || st.Messages != 1 || st.Unseen != 0 || st.Deleted != 0 || st.Size != 20 || st.UIDNext != 4 {
		t.Fatalf("MailboxStatus of migrated INBOX %+v, %v", st, err)
	}
	if st, err := s.MailboxStatus(ctx, store.MailboxRef{AccountID: 7, MailboxID: 71}); err != nil || st.Messages != 0 || st.Size != 0 {
		t.Fatalf("MailboxStatus of migrated Sent %+v, %v", st, err)
	}
	_, vanished, highest, err := s.Changes(ctx, inbox.Ref(), 4)
	if err != nil || len(vanished) != 1 || vanished[0] != 1 || highest != 5 {
		t.Fatalf("Changes: vanished %v highest %d, %v", vanished, highest, err)
	}
	subs, err := s.Subscriptions(ctx, 7)
	if err != nil || len(subs) != 2 {
		t.Fatalf("subscriptions %q, %v", subs, err)
	}
	// Migration 4 backfilled the wire sizes.
	checkWireSizes(t, s)
	// Migration 6 backfilled the headers.
	checkHeadersSeeded(t, s)
	// The current schema works on the migrated data.
	d, err := s.Deliver(ctx, []store.Target{{AccountID: 7}}, store.NewMessage{Raw: []byte("x\r\n\r\ny"), Part: &message.Part{MediaType: "text"}})
	if err != nil || d[0].UID != 4 {
		t.Fatalf("Deliver after migration: %+v, %v", d, err)
	}
	m, err := s.CreateMailbox(ctx, 7, "New", "")
	if err != nil || m.UIDValidity <= 1000 {
		t.Fatalf("CreateMailbox after migration: %+v, %v", m, err)
	}
	if _, err := s.CreateAccount(ctx, "new@example.net", "h"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Enqueue(ctx, store.QueuedMessage{From: "old@example.org", Recipients: []string{"x@example.net"}, Raw: []byte("x")}); err != nil {
		t.Fatalf("Enqueue after migration: %v", err)
	}
}

// queueSeed is a queued message from before queue leases.
const queueSeed = `
INSERT INTO queue(id, sender, created, raw, size) VALUES (900, 'old@example.org', 1700000000000000000, '\x78'::bytea, 1);
INSERT INTO queue_rcpts(queue_id, idx, rcpt, status, next_attempt) VALUES (900, 0, 'far@remote.test', 'pending', 1700000000000000000);
`

func init() {
	// Version 2 added the queue: every version since has a queued message.
	for v := 2; v <= 3; v++ {
		seeds[v] += queueSeed
	}
	// Version 4 added messages.wire_size: the v3 data with it filled in.
	seeds[4] = seeds[3]
	for i, raw := range wireRaws {
		seeds[4] += fmt.Sprintf("UPDATE messages SET wire_size = %d WHERE id = %d;\n", message.CRLFSize([]byte(raw)), 7200+i)
	}
	seeds[4] += fmt.Sprintf("UPDATE messages SET wire_size = %d WHERE id = %d;\n", message.CRLFSize([]byte(wireRaws[0])), 7200+len(wireRaws))
	seeds[4] += "UPDATE messages SET wire_size = 20 WHERE id = 7000;\n"
	// Version 5 only added queue leases.
	seeds[5] = seeds[4]
	// Every version also gets the messages whose headers migration 6
	// backfills (headers_test.go).
	for v := 1; v <= 5; v++ {
		seeds[v] += headerSeed(v)
	}
	// Version 6 added blobs.header: the v5 data, header NULL as an older
	// node left it.
	seeds[6] = seeds[5]
}

// Migration 5 leaves queued messages unleased and claimable.
func TestMigratedQueueClaimable(t *testing.T) {
	v := 4 // the version before the lease migration (5)
	ctx := context.Background()
	dsn := testDSN(t)
	if err := migrate(ctx, connConfig(t, dsn), v); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	seed := seeds[v]
	if !strings.Contains(seed, queueSeed) {
		seed += queueSeed
	}
	if _, err := conn.Exec(ctx, seed); err != nil {
		t.Fatalf("seed v%d: %v", v, err)
	}
	conn.Close(ctx)
	s := openDSN(t, dsn)
	if it, err := s.QueueItem(ctx, 900); err != nil || it.LeaseOwner != "" || !it.LeaseUntil.IsZero() || it.From != "old@example.org" {
		t.Fatalf("migrated queue item %+v, %v", it, err)
	}
	items, err := s.ClaimQueue(ctx, "n1", time.Unix(0, 1700000000000000000), time.Minute, 10)
	if err != nil || len(items) != 1 || items[0].ID != 900 || items[0].LeaseOwner != "n1" {
		t.Fatalf("claim of the migrated item %+v, %v", items, err)
	}
}

func init() {
	// Version 7 added mailboxes.recent_uid: the v6 data with nothing
	// recent, as migration 7 leaves it. Version 8 (Sieve tables) starts
	// them empty.
	seeds[7] = seeds[6] + "UPDATE mailboxes SET recent_uid = uidnext;\n"
	// Version 9 (domains and aliases) starts them empty.
	seeds[8] = seeds[7]
	// Version 10 (greylist) starts empty.
	seeds[9] = seeds[8]
	// Version 11 (outbound counters) starts its table empty.
	seeds[10] = seeds[9]
	// Version 12 (messages.email_id) leaves it NULL: the message's own id.
	seeds[11] = seeds[10]
	// Version 13 (mailbox ACLs) starts its table empty.
	seeds[12] = seeds[11]
	// Version 14 (import state) starts its tables empty.
	seeds[13] = seeds[12]
	// Version 15 (metadata, urlauth keys) starts its tables empty.
	seeds[14] = seeds[13]
	// Version 16 (outbound_usage.day_failed) starts at 0.
	seeds[15] = seeds[14]
	// Version 17 (messages.save_date) leaves it NULL: the internal date.
	seeds[16] = seeds[15]
	// Version 18 (blobs.tree) leaves it NULL: built when first read.
	seeds[17] = seeds[16]
	// Version 19 (full-text index) leaves existing blobs unindexed.
	seeds[18] = seeds[17]
	// Version 20 (lz4 compression) keeps the stored values as they are.
	seeds[19] = seeds[18]
	// Version 21 (text_pending) starts empty: a blob has its entry, or
	// is below unindexed_below as before.
	seeds[20] = seeds[19]
	// Version 22 (the text check's WHEN) changes no rows.
	seeds[21] = seeds[20]
}
