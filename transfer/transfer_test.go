package transfer

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/mailroom/mailroom/internal/pgtest"
	"github.com/mailroom/mailroom/store"
	"github.com/mailroom/mailroom/store/postgres"
	"github.com/mailroom/mailroom/store/sqlite"
)

func openStore(t *testing.T) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "m.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func account(t *testing.T, st store.Store, email string) store.Account {
	t.Helper()
	a, err := st.CreateAccount(context.Background(), email, "x")
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func msg(id, subject, body string) string {
	return "From: a@example.test\nTo: b@example.test\nMessage-ID: <" + id + "@example.test>\nSubject: " + subject + "\nDate: Mon, 02 Jan 2023 15:04:05 +0000\n\n" + body
}

func writeFile(t *testing.T, path, data string, mtime time.Time) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	if !mtime.IsZero() {
		if err := os.Chtimes(path, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
}

func mkMaildir(t *testing.T, dir string) {
	t.Helper()
	for _, s := range []string{"cur", "new", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, s), 0o700); err != nil {
			t.Fatal(err)
		}
	}
}

var (
	t1 = time.Date(2021, 3, 4, 5, 6, 7, 0, time.UTC)
	t2 = time.Date(2022, 8, 9, 10, 11, 12, 0, time.UTC)
)

// maildirFixture builds a Dovecot Maildir++ tree and returns its root.
func maildirFixture(t *testing.T) string {
	root := filepath.Join(t.TempDir(), "Maildir")
	mkMaildir(t, root)
	// INBOX: one new, two in cur with flags and keywords; uidlist puts
	// the "zzz" file first.
	writeFile(t, filepath.Join(root, "new", "1600000000.M1P1.host"), msg("new1", "fresh", "hello\n"), t1)
	writeFile(t, filepath.Join(root, "cur", "1500000000.M2P1.host,S=200:2,FRSab"), msg("cur1", "flagged", "body one\nFrom here on\n"), t2)
	writeFile(t, filepath.Join(root, "cur", "zzz.M3P1.host:2,T"), msg("cur2", "trashed", "body two\n"), t1)
	writeFile(t, filepath.Join(root, "dovecot-keywords"), "0 $Junk\n1 work\n", time.Time{})
	writeFile(t, filepath.Join(root, "dovecot-uidlist"), "3 V1234 N10\n5 :zzz.M3P1.host\n7 W200 :1500000000.M2P1.host\n", time.Time{})
	// A file that is not a message.
	writeFile(t, filepath.Join(root, "cur", "junkfile:2,S"), "\x00\x01binary garbage without header\n", t1)
	// Sent, Lists/go, a UTF-7 name, an undecodable name, an empty folder.
	mkMaildir(t, filepath.Join(root, ".Sent"))
	writeFile(t, filepath.Join(root, ".Sent", "cur", "1.M1.host:2,S"), msg("sent1", "sent", "sent body\n"), t2)
	mkMaildir(t, filepath.Join(root, ".Lists.go"))
	writeFile(t, filepath.Join(root, ".Lists.go", "cur", "1.M1.host:2,"), msg("go1", "golang", ">From quoted in maildir stays\n"), t1)
	mkMaildir(t, filepath.Join(root, ".&AOQ-rger"))
	writeFile(t, filepath.Join(root, ".&AOQ-rger", "new", "2.M2.host"), msg("u1", "umlaut", "x\n"), t2)
	mkMaildir(t, filepath.Join(root, ".bad&name"))
	writeFile(t, filepath.Join(root, ".bad&name", "new", "3.M3.host"), msg("bad1", "bad", "x\n"), t2)
	mkMaildir(t, filepath.Join(root, ".Empty"))
	return root
}

// snapshot is an account's content: folder -> messages in UID order.
type snapMsg struct {
	Sum   string
	Flags []string
	Date  int64
}

func snapshot(t *testing.T, st store.Store, acct int64) map[string][]snapMsg {
	t.Helper()
	ctx := context.Background()
	ms, err := st.Mailboxes(ctx, acct)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]snapMsg{}
	for _, m := range ms {
		var list []snapMsg
		err := st.ListBodies(ctx, m.Ref(), nil, func(meta store.MessageMeta, raw []byte) error {
			list = append(list, snapMsg{Sum: fmt.Sprintf("%x", sha256.Sum256(raw)), Flags: append([]string{}, meta.Flags...), Date: meta.InternalDate.Unix()})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		out[m.Name] = list
	}
	return out
}

func bodies(t *testing.T, st store.Store, acct int64, name string) ([]string, []store.MessageMeta) {
	t.Helper()
	ctx := context.Background()
	m, err := st.MailboxByName(ctx, acct, name)
	if err != nil {
		t.Fatalf("mailbox %q: %v", name, err)
	}
	var raws []string
	var metas []store.MessageMeta
	if err := st.ListBodies(ctx, m.Ref(), nil, func(meta store.MessageMeta, raw []byte) error {
		raws, metas = append(raws, string(raw)), append(metas, meta)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return raws, metas
}

func TestImportMaildir(t *testing.T) {
	st := openStore(t)
	a := account(t, st, "a@example.test")
	root := maildirFixture(t)
	ctx := context.Background()
	var watched int
	changes, cancel := st.Watch(a.ID)
	defer cancel()
	stats, err := ImportMaildir(ctx, st, root, LayoutMaildirPP, Options{AccountID: a.ID})
	if err != nil {
		t.Fatal(err)
	}
	if stats.Messages != 6 || stats.Failed != 2 || stats.Skipped != 0 {
		t.Fatalf("stats %+v", stats)
	}
	failed := map[string]bool{}
	for _, f := range stats.Failures {
		failed[filepath.Base(f.Source)] = true
	}
	if !failed["junkfile:2,S"] || !failed[".bad&name"] {
		t.Errorf("failures %+v", stats.Failures)
	}
	// The change feed saw the appends (what wakes an IDLE session).
	for len(changes) > 0 {
		<-changes
		watched++
	}
	if watched == 0 {
		t.Error("no change on the feed")
	}

	raws, metas := bodies(t, st, a.ID, "INBOX")
	if len(raws) != 3 {
		t.Fatalf("INBOX has %d messages", len(raws))
	}
	// Order: uidlist UIDs first (5: zzz, 7: 1500…), then the rest.
	if !strings.Contains(raws[0], "<cur2@") || !strings.Contains(raws[1], "<cur1@") || !strings.Contains(raws[2], "<new1@") {
		t.Errorf("order: %q", raws)
	}
	if want := []string{"$Junk", `\Flagged`, `\Seen`, "work", `\Answered`}; !sameSet(metas[1].Flags, want) {
		t.Errorf("flags of cur1 = %v, want %v", metas[1].Flags, want)
	}
	if want := []string{`\Deleted`}; !sameSet(metas[0].Flags, want) {
		t.Errorf("flags of cur2 = %v", metas[0].Flags)
	}
	if len(metas[2].Flags) != 0 {
		t.Errorf("flags of new1 = %v", metas[2].Flags)
	}
	if !metas[1].InternalDate.Equal(t2) || !metas[2].InternalDate.Equal(t1) {
		t.Errorf("internal dates %v %v (want mtimes)", metas[1].InternalDate, metas[2].InternalDate)
	}
	sent, err := st.MailboxByName(ctx, a.ID, "Sent")
	if err != nil || sent.SpecialUse != store.UseSent {
		t.Errorf("Sent: %+v %v", sent, err)
	}
	// An account whose Sent was deleted gets it back as the \Sent folder.
	b := account(t, st, "b@example.test")
	if err := st.DeleteMailbox(ctx, b.ID, "Sent"); err != nil {
		t.Fatal(err)
	}
	if _, err := ImportMaildir(ctx, st, root, LayoutMaildirPP, Options{AccountID: b.ID}); err != nil {
		t.Fatal(err)
	}
	if sent, err := st.MailboxByName(ctx, b.ID, "Sent"); err != nil || sent.SpecialUse != store.UseSent {
		t.Errorf("re-created Sent: %+v %v", sent, err)
	}
	if raws, _ := bodies(t, st, a.ID, "Sent"); len(raws) != 1 {
		t.Errorf("Sent has %d", len(raws))
	}
	if raws, _ := bodies(t, st, a.ID, "Lists/go"); len(raws) != 1 || !strings.HasSuffix(raws[0], "\n>From quoted in maildir stays\n") {
		t.Errorf("Lists/go: %q", raws)
	}
	if raws, _ := bodies(t, st, a.ID, "ärger"); len(raws) != 1 {
		t.Errorf("ärger: %q", raws)
	}
	if _, err := st.MailboxByName(ctx, a.ID, "Empty"); err != nil {
		t.Errorf("empty folder not created: %v", err)
	}

	// Re-running imports nothing twice.
	before := snapshot(t, st, a.ID)
	stats, err = ImportMaildir(ctx, st, root, LayoutMaildirPP, Options{AccountID: a.ID})
	if err != nil {
		t.Fatal(err)
	}
	if stats.Messages != 0 || stats.Skipped != 6 {
		t.Errorf("re-run stats %+v", stats)
	}
	if after := snapshot(t, st, a.ID); !reflect.DeepEqual(before, after) {
		t.Error("re-run changed the mailboxes")
	}
}

func TestImportMaildirFSLayoutAndDateFromHeader(t *testing.T) {
	st := openStore(t)
	a := account(t, st, "a@example.test")
	root := filepath.Join(t.TempDir(), "mail")
	mkMaildir(t, root)
	writeFile(t, filepath.Join(root, "cur", "1.M1:2,S"), msg("i1", "inbox", "x\n"), t1)
	mkMaildir(t, filepath.Join(root, "Lists", "go"))
	writeFile(t, filepath.Join(root, "Lists", "go", "new", "2.M2"), msg("g1", "go", "y\n"), t1)
	stats, err := ImportMaildir(context.Background(), st, root, LayoutFS, Options{AccountID: a.ID, DateFromHeader: true})
	if err != nil || stats.Messages != 2 {
		t.Fatalf("%+v %v", stats, err)
	}
	_, metas := bodies(t, st, a.ID, "Lists/go")
	if want := time.Date(2023, 1, 2, 15, 4, 5, 0, time.UTC); len(metas) != 1 || !metas[0].InternalDate.Equal(want) {
		t.Errorf("Lists/go: %+v", metas)
	}
	if _, metas := bodies(t, st, a.ID, "INBOX"); len(metas) != 1 || !sameSet(metas[0].Flags, []string{`\Seen`}) {
		t.Errorf("INBOX: %+v", metas)
	}
}

func sameSet(a, b []string) bool {
	a, b = append([]string{}, a...), append([]string{}, b...)
	sort.Strings(a)
	sort.Strings(b)
	return reflect.DeepEqual(a, b)
}

func TestImportMboxVariants(t *testing.T) {
	ctx := context.Background()
	const rd = "From alice@example.test Mon Jan  2 15:04:05 2023\n" +
		"From: alice@example.test\nSubject: one\nMessage-ID: <1@x>\nStatus: RO\nX-Status: AF\nX-Keywords: $Label1 work\n\n" +
		">From the start\n>>From quoted twice\nplain\n\n" +
		"From bob@example.test Tue Jan  3 10:00:00 2023\n" +
		"From: bob@example.test\nSubject: two\nMessage-ID: <2@x>\n\nsecond\n\n"
	const o = "From alice@example.test Mon Jan  2 15:04:05 2023\n" +
		"From: alice@example.test\nSubject: one\n\n>From the start\n>>From stays\n\n"
	const cl2 = "From alice@example.test Mon Jan  2 15:04:05 2023\n" +
		"From: alice@example.test\nSubject: one\nContent-Length: 28\n\nFrom is not quoted\nin cl2\n\n\n" +
		"From bob@example.test Tue Jan  3 10:00:00 2023\nFrom: bob@example.test\nSubject: two\nContent-Length: 3\n\nhi\n\n"
	cases := []struct {
		name   string
		format MboxFormat
		input  string
		want   []string
		flags  [][]string
	}{
		{"mboxrd", MboxRD, rd, []string{
			"From: alice@example.test\nSubject: one\nMessage-ID: <1@x>\n\nFrom the start\n>From quoted twice\nplain\n",
			"From: bob@example.test\nSubject: two\nMessage-ID: <2@x>\n\nsecond\n"},
			[][]string{{"$Label1", `\Answered`, `\Flagged`, `\Seen`, "work"}, nil}},
		{"mboxo", MboxO, o, []string{"From: alice@example.test\nSubject: one\n\nFrom the start\n>>From stays\n"}, [][]string{nil}},
		{"mboxcl2", MboxCL2, cl2, []string{
			"From: alice@example.test\nSubject: one\n\nFrom is not quoted\nin cl2\n\n",
			"From: bob@example.test\nSubject: two\n\nhi\n"}, [][]string{nil, nil}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := openStore(t)
			a := account(t, st, "a@example.test")
			p := filepath.Join(t.TempDir(), "in.mbox")
			writeFile(t, p, c.input, time.Time{})
			stats, err := ImportMbox(ctx, st, p, "Old", c.format, Options{AccountID: a.ID})
			if err != nil || stats.Failed != 0 {
				t.Fatalf("%+v %v", stats, err)
			}
			raws, metas := bodies(t, st, a.ID, "Old")
			if !reflect.DeepEqual(raws, c.want) {
				t.Fatalf("messages\n%q\nwant\n%q", raws, c.want)
			}
			for i, m := range metas {
				if !sameSet(m.Flags, c.flags[i]) {
					t.Errorf("message %d flags %v want %v", i, m.Flags, c.flags[i])
				}
			}
			if want := time.Date(2023, 1, 2, 15, 4, 5, 0, time.UTC); !metas[0].InternalDate.Equal(want) {
				t.Errorf("internal date %v, want the From line's", metas[0].InternalDate)
			}
		})
	}
}

func TestImportMboxMalformed(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	a := account(t, st, "a@example.test")
	dir := t.TempDir()
	// good, a header that never ends, good, too large, then a truncated last message.
	big := strings.Repeat("x", 2000) + "\n"
	in := "From a Mon Jan  2 15:04:05 2023\n" + msg("1", "ok", "one\n") + "\n" +
		"From a Mon Jan  2 15:04:05 2023\nthis is not a header line at all\n\n" +
		"From a Mon Jan  2 15:04:05 2023\n" + msg("2", "ok", "two\n") + "\n" +
		"From a Mon Jan  2 15:04:05 2023\n" + msg("3", "big", big) + "\n" +
		"From a Mon Jan  2 15:04:05 2023\n" + msg("4", "cut", "the file ends in the mid")
	writeFile(t, filepath.Join(dir, "broken.mbox"), in, time.Time{})
	writeFile(t, filepath.Join(dir, "notes.mbox"), "just some text\n", time.Time{})
	stats, err := ImportMbox(ctx, st, dir, "", MboxRD, Options{AccountID: a.ID, MaxMessageBytes: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if stats.Messages != 2 || stats.Failed != 4 {
		t.Fatalf("stats %+v", stats)
	}
	raws, _ := bodies(t, st, a.ID, "broken")
	if len(raws) != 2 || !strings.Contains(raws[0], "<1@") || !strings.Contains(raws[1], "<2@") {
		t.Errorf("stored %q", raws)
	}
	if _, err := st.MailboxByName(ctx, a.ID, "notes"); err == nil {
		t.Error("a file that is not an mbox became a folder")
	}
	var reasons []string
	for _, f := range stats.Failures {
		reasons = append(reasons, f.Reason)
	}
	for _, want := range []string{"not a message", "max_message_bytes", "truncated", "not an mbox"} {
		if !strings.Contains(strings.Join(reasons, "|"), want) {
			t.Errorf("no failure %q in %q", want, reasons)
		}
	}
}

func TestImportThunderbirdTree(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	a := account(t, st, "a@example.test")
	root := filepath.Join(t.TempDir(), "Local Folders")
	one := func(id, status string) string {
		return "From - Mon Jan  2 15:04:05 2023\nX-Mozilla-Status: " + status + "\nX-Mozilla-Status2: 00000000\n" + msg(id, id, "b\n") + "\n"
	}
	writeFile(t, filepath.Join(root, "Inbox"), one("in1", "0001")+one("in2", "0009"), time.Time{})
	writeFile(t, filepath.Join(root, "Inbox.msf"), "// <!-- <mdb:mork:z v=\"1.4\"/> -->", time.Time{})
	writeFile(t, filepath.Join(root, "Archives"), "", time.Time{})
	writeFile(t, filepath.Join(root, "Archives.sbd", "2023"), one("ar1", "1005"), time.Time{})
	stats, err := ImportMbox(ctx, st, root, "", MboxRD, Options{AccountID: a.ID})
	if err != nil || stats.Failed != 0 {
		t.Fatalf("%+v %v", stats, err)
	}
	raws, metas := bodies(t, st, a.ID, "INBOX")
	if len(raws) != 1 || !sameSet(metas[0].Flags, []string{`\Seen`}) || strings.Contains(raws[0], "X-Mozilla") {
		t.Errorf("INBOX %q %+v (the expunged one must be left out)", raws, metas)
	}
	_, metas = bodies(t, st, a.ID, "Archive/2023")
	if len(metas) != 1 || !sameSet(metas[0].Flags, []string{`\Seen`, `\Flagged`, "$Forwarded"}) {
		t.Errorf("Archive/2023 %+v", metas)
	}
}

// TestRoundTrip: Maildir → store → mbox → store → Maildir → store, both
// layouts, gives identical mailboxes each time (bytes, flags, keywords,
// internal dates, folders).
func TestRoundTrip(t *testing.T) { roundTrip(t, openStore(t)) }

// TestRoundTripPostgres is TestRoundTrip on a PostgreSQL store.
func TestRoundTripPostgres(t *testing.T) {
	st, err := postgres.Open(context.Background(), pgtest.DSN(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	roundTrip(t, st)
}

func roundTrip(t *testing.T, st store.Store) {
	ctx := context.Background()
	a := account(t, st, "a@example.test")
	if _, err := ImportMaildir(ctx, st, maildirFixture(t), LayoutMaildirPP, Options{AccountID: a.ID}); err != nil {
		t.Fatal(err)
	}
	want := snapshot(t, st, a.ID)
	mboxDir := filepath.Join(t.TempDir(), "mbox")
	if s, err := ExportMbox(ctx, st, mboxDir, Options{AccountID: a.ID}); err != nil || s.Messages != 6 {
		t.Fatalf("export mbox %+v %v", s, err)
	}
	b := account(t, st, "b@example.test")
	if s, err := ImportMbox(ctx, st, mboxDir, "", MboxRD, Options{AccountID: b.ID}); err != nil || s.Failed != 0 {
		t.Fatalf("import mbox %+v %v", s, err)
	}
	if got := snapshot(t, st, b.ID); !reflect.DeepEqual(got, want) {
		t.Fatalf("after mbox round trip\n%v\nwant\n%v", got, want)
	}
	for _, layout := range []Layout{LayoutMaildirPP, LayoutFS} {
		mdDir := filepath.Join(t.TempDir(), "md")
		s, err := ExportMaildir(ctx, st, mdDir, layout, Options{AccountID: b.ID})
		if err != nil || s.Messages != 6 || s.Failed != 0 {
			t.Fatalf("export maildir %+v %v", s, err)
		}
		// Exporting again writes nothing new, except a file left short
		// (as by a crash before the folder's sync).
		inbox, _ := maildirDir(mdDir, "INBOX", layout)
		cur, _ := os.ReadDir(filepath.Join(inbox, "cur"))
		if err := os.WriteFile(filepath.Join(inbox, "cur", cur[0].Name()), []byte("From: cut"), 0o600); err != nil {
			t.Fatal(err)
		}
		if s, err := ExportMaildir(ctx, st, mdDir, layout, Options{AccountID: b.ID}); err != nil || s.Messages != 1 || s.Skipped != 5 {
			t.Fatalf("re-export %+v %v", s, err)
		}
		c := account(t, st, fmt.Sprintf("c%d@example.test", layout))
		if s, err := ImportMaildir(ctx, st, mdDir, layout, Options{AccountID: c.ID}); err != nil || s.Failed != 0 {
			t.Fatalf("import maildir %+v %v", s, err)
		}
		if got := snapshot(t, st, c.ID); !reflect.DeepEqual(got, want) {
			t.Fatalf("layout %d: after maildir round trip\n%v\nwant\n%v", layout, got, want)
		}
	}
}

// discardStore accepts appends and forgets them: the memory test measures
// the reader and importer, not the database.
type discardStore struct {
	appended int
}

func (d *discardStore) Mailboxes(context.Context, int64) ([]store.Mailbox, error) { return nil, nil }
func (d *discardStore) MailboxByName(_ context.Context, acct int64, name string) (store.Mailbox, error) {
	return store.Mailbox{ID: 1, AccountID: acct, Name: name, UIDValidity: 1}, nil
}
func (d *discardStore) CreateMailbox(context.Context, int64, string, string) (store.Mailbox, error) {
	return store.Mailbox{}, store.ErrExists
}
func (d *discardStore) Append(_ context.Context, _ store.MailboxRef, msgs []store.NewMessage) (uint32, []uint32, error) {
	d.appended += len(msgs)
	return 1, make([]uint32, len(msgs)), nil
}
func (d *discardStore) AppendUIDs(_ context.Context, _ store.MailboxRef, msgs []store.NewMessage, _ []uint32) (uint32, error) {
	d.appended += len(msgs)
	return 1, nil
}
func (d *discardStore) SetUIDValidity(context.Context, store.MailboxRef, uint32) (store.Mailbox, error) {
	return store.Mailbox{}, store.ErrInvalid
}
func (d *discardStore) ListHeaders(context.Context, store.MailboxRef, []uint32, func(store.MessageMeta, []byte) error) error {
	return nil
}
func (d *discardStore) ListBodies(context.Context, store.MailboxRef, []uint32, func(store.MessageMeta, []byte) error) error {
	return nil
}
func (d *discardStore) UpdateFlags(context.Context, store.MailboxRef, []uint32, store.FlagOp, []string, uint64) ([]store.MessageMeta, []uint32, error) {
	return nil, nil, nil
}
func (d *discardStore) ImportFolder(context.Context, int64, string, string) (store.ImportFolder, error) {
	return store.ImportFolder{}, store.ErrNotFound
}
func (d *discardStore) SaveImportFolder(context.Context, int64, store.ImportFolder, bool, []store.UIDPair) error {
	return nil
}
func (d *discardStore) ImportedUIDs(context.Context, int64, string, string, []uint32) (map[uint32]uint32, error) {
	return nil, nil
}

// genMbox generates an mbox of n messages of about size bytes each on the
// fly, plus one huge message in the middle, without holding it.
type genMbox struct {
	n, size, i int
	huge       int // index of the huge message
	hugeLeft   int
	buf        bytes.Buffer
}

func (g *genMbox) Read(p []byte) (int, error) {
	for g.buf.Len() == 0 {
		if g.hugeLeft > 0 {
			k := min(g.hugeLeft, 64<<10)
			g.buf.WriteString(strings.Repeat(strings.Repeat("h", 99)+"\n", k/100+1))
			g.hugeLeft -= k
			if g.hugeLeft <= 0 {
				g.buf.WriteString("\n")
			}
			continue
		}
		if g.i >= g.n {
			return 0, io.EOF
		}
		fmt.Fprintf(&g.buf, "From gen@example.test Mon Jan  2 15:04:05 2023\nFrom: gen@example.test\nMessage-ID: <%d@gen>\nSubject: m%d\n\n", g.i, g.i)
		if g.i == g.huge {
			g.hugeLeft = 64 << 20
		} else {
			for w := 0; w < g.size; w += 64 {
				g.buf.WriteString(">From a line quoted as mboxrd does, and some more text to fill\n")
			}
			g.buf.WriteString("\n")
		}
		g.i++
	}
	return g.buf.Read(p)
}

// TestMboxImportMemoryBound streams ~200 MB of mbox (and a 64 MiB message
// over the bound) through the importer and checks the live heap stays
// flat: it does not grow with the input.
func TestMboxImportMemoryBound(t *testing.T) {
	const n, size = 40000, 5000
	g := &genMbox{n: n, size: size, huge: n / 2}
	d := &discardStore{}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	var peak uint64
	im := newImporter(d, Options{AccountID: 1, MaxMessageBytes: 1 << 20, Progress: func(s Stats) {
		if (s.Messages+s.Failed)%2000 == 0 {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
		}
	}})
	if err := im.importMboxStream(context.Background(), g, "gen", "INBOX", MboxRD); err != nil {
		t.Fatal(err)
	}
	stats, err := im.finish(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if stats.Messages != n-1 || stats.Failed != 1 || d.appended != n-1 {
		t.Fatalf("messages %d failed %d (first %v) appended %d", stats.Messages, stats.Failed, stats.Failures[:min(3, len(stats.Failures))], d.appended)
	}
	if stats.InputBytes < 190<<20 {
		t.Fatalf("only %d bytes read", stats.InputBytes)
	}
	// A batch (8 MiB) plus its parsed parts, the dedup set and the line
	// buffer; the input is ~270 MB.
	if grow := int64(peak) - int64(base); grow > 48<<20 {
		t.Errorf("live heap grew by %d MB while streaming %d MB", grow>>20, stats.InputBytes>>20)
	}
	t.Logf("heap peak +%d MB over %d MB of input", (int64(peak)-int64(base))>>20, stats.InputBytes>>20)
}

// TestExportRefusesEscapingNames: a folder named with ".." levels (IMAP
// lets a user create one) is reported, and nothing is written outside the
// export directory.
func TestExportRefusesEscapingNames(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	a := account(t, st, "a@example.test")
	created := 0
	for _, name := range []string{"../../escape", "x/../../escape2"} {
		m, err := st.CreateMailbox(ctx, a.ID, name, "")
		if err != nil {
			continue // refused by the store itself: fine too
		}
		created++
		if _, _, err := st.Append(ctx, m.Ref(), []store.NewMessage{{Raw: []byte(msg("e", "e", "x\n"))}}); err != nil {
			t.Fatal(err)
		}
	}
	base := t.TempDir()
	root := filepath.Join(base, "a", "b")
	exports := map[string]func() (Stats, error){
		"mbox":      func() (Stats, error) { return ExportMbox(ctx, st, root, Options{AccountID: a.ID}) },
		"maildir":   func() (Stats, error) { return ExportMaildir(ctx, st, root, LayoutMaildirPP, Options{AccountID: a.ID}) },
		"maildirfs": func() (Stats, error) { return ExportMaildir(ctx, st, root, LayoutFS, Options{AccountID: a.ID}) },
	}
	for kind, export := range exports {
		s, err := export()
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		if s.Failed < created {
			t.Errorf("%s: %+v", kind, s)
		}
	}
	err := filepath.WalkDir(base, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if rel, _ := filepath.Rel(root, p); strings.HasPrefix(rel, "..") && !d.IsDir() {
			t.Errorf("written outside the export directory: %s", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestImportRefusesFolderNamesIMAPWould: a folder IMAP CREATE would refuse
// (control characters, too deep) is reported for each of its messages and
// nothing is created.
func TestImportRefusesFolderNamesIMAPWould(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	a := account(t, st, "a@example.test")
	dir := t.TempDir()
	one := "From a Mon Jan  2 15:04:05 2023\n" + msg("1", "x", "b\n") + "\n"
	deep := strings.Repeat("d/", 16) + "leaf"
	writeFile(t, filepath.Join(dir, "bell\x07.mbox"), one+one, time.Time{})
	writeFile(t, filepath.Join(dir, filepath.FromSlash(deep)+".mbox"), one, time.Time{})
	writeFile(t, filepath.Join(dir, "fine.mbox"), one, time.Time{})
	stats, err := ImportMbox(ctx, st, dir, "", MboxRD, Options{AccountID: a.ID})
	if err != nil {
		t.Fatal(err)
	}
	if stats.Messages != 1 || stats.Failed != 3 {
		t.Fatalf("stats %+v", stats)
	}
	ms, err := st.Mailboxes(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if strings.Contains(m.Name, "\x07") || strings.Count(m.Name, "/") >= 15 {
			t.Errorf("created %q", m.Name)
		}
	}
}

// TestImportMaildirKeepsUIDs checks that dovecot-uidlist's UIDs and
// UIDVALIDITY are kept in a new or empty target folder, continued on a
// re-run, and replaced by new UIDs (said in the stats) where the target
// already held messages.
func TestImportMaildirKeepsUIDs(t *testing.T) {
	t.Parallel()
	st := openStore(t)
	ctx := context.Background()
	root := maildirFixture(t)
	a := account(t, st, "a@example.test")
	stats, err := ImportMaildir(ctx, st, root, LayoutMaildirPP, Options{AccountID: a.ID})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(stats.UIDsKept, []string{"INBOX"}) || len(stats.UIDsNew) != 0 {
		t.Fatalf("kept %q, new %q", stats.UIDsKept, stats.UIDsNew)
	}
	inbox, err := st.MailboxByName(ctx, a.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	if inbox.UIDValidity != 1234 {
		t.Fatalf("INBOX UIDVALIDITY %d, want 1234 from dovecot-uidlist", inbox.UIDValidity)
	}
	// zzz is 5, 1500… is 7, the file missing from the list comes after.
	_, metas := bodies(t, st, a.ID, "INBOX")
	if got := uidsOfMetas(metas); !reflect.DeepEqual(got, []uint32{5, 7, 8}) {
		t.Fatalf("INBOX UIDs %v, want [5 7 8]", got)
	}
	// A folder without dovecot-uidlist gets UIDs from 1.
	if _, metas := bodies(t, st, a.ID, "Sent"); !reflect.DeepEqual(uidsOfMetas(metas), []uint32{1}) {
		t.Fatalf("Sent UIDs %v", uidsOfMetas(metas))
	}

	// Dovecot delivered one more meanwhile: the re-run adds it with its
	// UID and skips the rest.
	writeFile(t, filepath.Join(root, "cur", "1700000000.M9P1.host:2,S"), msg("later", "later", "x\n"), t2)
	writeFile(t, filepath.Join(root, "dovecot-uidlist"), "3 V1234 N21\n5 :zzz.M3P1.host\n7 W200 :1500000000.M2P1.host\n20 :1700000000.M9P1.host\n", time.Time{})
	stats, err = ImportMaildir(ctx, st, root, LayoutMaildirPP, Options{AccountID: a.ID})
	if err != nil {
		t.Fatal(err)
	}
	if stats.Messages != 1 || stats.Skipped != 6 {
		t.Fatalf("re-run stats %+v", stats)
	}
	_, metas = bodies(t, st, a.ID, "INBOX")
	if got := uidsOfMetas(metas); !reflect.DeepEqual(got, []uint32{5, 7, 8, 20}) {
		t.Fatalf("INBOX UIDs after re-run %v, want [5 7 8 20]", got)
	}

	// A target INBOX that already holds mail keeps its own UIDVALIDITY
	// and gives new UIDs, and the summary says so.
	b := account(t, st, "b@example.test")
	binbox, _ := st.MailboxByName(ctx, b.ID, "INBOX")
	if _, _, err := st.Append(ctx, binbox.Ref(), []store.NewMessage{{Raw: []byte(msg("own", "own", "x\n"))}}); err != nil {
		t.Fatal(err)
	}
	stats, err = ImportMaildir(ctx, st, root, LayoutMaildirPP, Options{AccountID: b.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(stats.UIDsNew) != 1 || !strings.HasPrefix(stats.UIDsNew[0], "INBOX: ") || len(stats.UIDsKept) != 0 {
		t.Fatalf("kept %q, new %q", stats.UIDsKept, stats.UIDsNew)
	}
	_, metas = bodies(t, st, b.ID, "INBOX")
	if got := uidsOfMetas(metas); !reflect.DeepEqual(got, []uint32{1, 2, 3, 4, 5}) {
		t.Fatalf("b's INBOX UIDs %v", got)
	}
	if m, _ := st.MailboxByName(ctx, b.ID, "INBOX"); m.UIDValidity != binbox.UIDValidity {
		t.Fatalf("b's INBOX UIDVALIDITY changed to %d", m.UIDValidity)
	}
}

func uidsOfMetas(ms []store.MessageMeta) []uint32 {
	out := make([]uint32, len(ms))
	for i, m := range ms {
		out[i] = m.UID
	}
	return out
}
