package transfer

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/mailroom/mailroom/auth"
	"github.com/mailroom/mailroom/imapserver"
	"github.com/mailroom/mailroom/internal/authtest"
	"github.com/mailroom/mailroom/internal/tlsconfig"
	"github.com/mailroom/mailroom/message"
	"github.com/mailroom/mailroom/store"
)

const sourcePass = "source-secret"

// serveIMAPS serves st over implicit TLS with a self-signed certificate on
// 127.0.0.1:0 and returns the address.
func serveIMAPS(t *testing.T, st store.Store) string { return serveIMAP(t, st, true) }

// serveIMAP serves st on 127.0.0.1:0, over implicit TLS with a
// self-signed certificate when implicitTLS, and returns the address.
func serveIMAP(t *testing.T, st store.Store, implicitTLS bool) string {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	certs, err := tlsconfig.NewSelfSigned(t.TempDir(), "localhost", time.Now(), log)
	if err != nil {
		t.Fatal(err)
	}
	srv := imapserver.New(imapserver.Config{
		Hostname: "source.test", Store: st, Auth: auth.NewAuthenticator(st, log, nil), Logger: log,
		TLSConfig: &tls.Config{GetCertificate: certs.GetCertificate},
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if implicitTLS {
		go srv.ServeTLS(l)
	} else {
		go srv.Serve(l)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return l.Addr().String()
}

func sourceAccount(t *testing.T, st store.Store, email string) store.Account {
	t.Helper()
	hash := authtest.Credentials(sourcePass)
	a, err := st.CreateAccount(context.Background(), email, hash)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func newMsg(raw string, date time.Time, flags ...string) store.NewMessage {
	return store.NewMessage{Raw: []byte(raw), Part: message.Parse([]byte(raw)), Flags: flags, InternalDate: date}
}

// TestImportIMAPFromMailroom pulls an account from a second mailroom over
// IMAPS: folders (special use by attribute), flags, keywords, internal
// dates, UIDs and UIDVALIDITY, read-only at the source, and only new
// messages on a re-run.
func TestImportIMAPFromMailroom(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srcSt := openStore(t)
	sa := sourceAccount(t, srcSt, "old@source.test")
	inbox, _ := srcSt.MailboxByName(ctx, sa.ID, "INBOX")
	if _, _, err := srcSt.Append(ctx, inbox.Ref(), []store.NewMessage{
		newMsg(msg("i1", "one", "first\r\n"), t1, store.FlagSeen, "$Label1"),
		newMsg(msg("i2", "two", "gone\r\n"), t1),
		newMsg(msg("i3", "three", "third\r\n"), t2, store.FlagFlagged, store.FlagAnswered),
	}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := srcSt.Expunge(ctx, inbox.Ref(), []uint32{2}, false); err != nil {
		t.Fatal(err)
	}
	items, err := srcSt.CreateMailbox(ctx, sa.ID, "Sent Things", store.UseSent)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := srcSt.Append(ctx, items.Ref(), []store.NewMessage{newMsg(msg("s1", "sent", "s\r\n"), t2, store.FlagSeen)}); err != nil {
		t.Fatal(err)
	}
	goList, err := srcSt.CreateMailbox(ctx, sa.ID, "Lists/gö", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := srcSt.Append(ctx, goList.Ref(), []store.NewMessage{newMsg(msg("g1", "go", "g\r\n"), t1)}); err != nil {
		t.Fatal(err)
	}
	srcBefore := snapshot(t, srcSt, sa.ID)

	addr := serveIMAPS(t, srcSt)
	src, err := ParseIMAPURL("imaps://old@source.test@" + addr)
	if err != nil {
		t.Fatal(err)
	}
	src.Password, src.Insecure = sourcePass, true

	dst := openStore(t)
	a := account(t, dst, "new@example.test")
	stats, err := ImportIMAP(ctx, dst, src, Options{AccountID: a.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(stats.UIDsNew) != 0 || !reflect.DeepEqual(stats.UIDsKept, []string{"INBOX", "Lists/gö", "Sent"}) {
		t.Errorf("UIDs kept in %q, new in %q", stats.UIDsKept, stats.UIDsNew)
	}
	if stats.Messages != 4 || stats.Failed != 0 || stats.Skipped != 0 {
		t.Fatalf("stats %+v", stats)
	}
	// Everything arrives: bytes, flags, keywords, dates, in the same
	// folders, with "Sent Things" (\Sent) as Sent.
	want := snapshot(t, srcSt, sa.ID)
	want["Sent"] = want["Sent Things"]
	delete(want, "Sent Things")
	if got := snapshot(t, dst, a.ID); !reflect.DeepEqual(got, want) {
		t.Fatalf("imported\n%v\nwant\n%v", got, want)
	}
	// The UIDs and UIDVALIDITY of the source are kept.
	dinbox, _ := dst.MailboxByName(ctx, a.ID, "INBOX")
	if dinbox.UIDValidity != inbox.UIDValidity {
		t.Errorf("INBOX UIDVALIDITY %d, want the source's %d", dinbox.UIDValidity, inbox.UIDValidity)
	}
	if _, metas := bodies(t, dst, a.ID, "INBOX"); !reflect.DeepEqual(uidsOfMetas(metas), []uint32{1, 3}) {
		t.Errorf("INBOX UIDs %v, want [1 3]", uidsOfMetas(metas))
	}
	if m, _ := dst.MailboxByName(ctx, a.ID, "Sent"); m.UIDValidity != items.UIDValidity {
		t.Errorf("Sent UIDVALIDITY %d, want %d", m.UIDValidity, items.UIDValidity)
	}
	// The source is unchanged (EXAMINE and BODY.PEEK: no \Seen set).
	if got := snapshot(t, srcSt, sa.ID); !reflect.DeepEqual(got, srcBefore) {
		t.Fatalf("the source changed:\n%v\nwas\n%v", got, srcBefore)
	}

	// A re-run downloads nothing; a new source message comes with its UID.
	if _, _, err := srcSt.Append(ctx, inbox.Ref(), []store.NewMessage{newMsg(msg("i4", "four", "new\r\n"), t2, "$Work")}); err != nil {
		t.Fatal(err)
	}
	stats, err = ImportIMAP(ctx, dst, src, Options{AccountID: a.ID})
	if err != nil {
		t.Fatal(err)
	}
	if stats.Messages != 1 || stats.Skipped != 4 || stats.Failed != 0 {
		t.Fatalf("re-run stats %+v", stats)
	}
	raws, metas := bodies(t, dst, a.ID, "INBOX")
	if !reflect.DeepEqual(uidsOfMetas(metas), []uint32{1, 3, 4}) || raws[2] != msg("i4", "four", "new\r\n") {
		t.Fatalf("INBOX after re-run: UIDs %v", uidsOfMetas(metas))
	}
	wantFlagsEq(t, metas[2].Flags, "$Work")

	// A wrong password is an error, not an empty import.
	bad := src
	bad.Password = "wrong"
	if _, err := ImportIMAP(ctx, dst, bad, Options{AccountID: a.ID}); err == nil {
		t.Fatal("import with a wrong password succeeded")
	}
	// Without --insecure the self-signed certificate is refused.
	strict := src
	strict.Insecure = false
	if _, err := ImportIMAP(ctx, dst, strict, Options{AccountID: a.ID}); err == nil {
		t.Fatal("import accepted an unverifiable certificate")
	}
}

func wantFlagsEq(t *testing.T, got []string, want ...string) {
	t.Helper()
	if (len(got) != 0 || len(want) != 0) && !reflect.DeepEqual(got, want) {
		t.Fatalf("flags %q, want %q", got, want)
	}
}

func TestParseIMAPURL(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want IMAPSource
		ok   bool
	}{
		{"imaps://alice@mail.example.org", IMAPSource{Addr: "mail.example.org:993", ImplicitTLS: true, User: "alice"}, true},
		{"imaps://alice%40example.org@mail.example.org:9993", IMAPSource{Addr: "mail.example.org:9993", ImplicitTLS: true, User: "alice@example.org"}, true},
		{"imap://bob@[::1]", IMAPSource{Addr: "[::1]:143", User: "bob"}, true},
		{"imaps://alice:pw@mail.example.org", IMAPSource{}, false},
		{"imaps://mail.example.org", IMAPSource{}, false},
		{"http://alice@mail.example.org", IMAPSource{}, false},
		{"imaps://alice@mail.example.org/INBOX", IMAPSource{}, false},
	} {
		got, err := ParseIMAPURL(tc.in)
		if (err == nil) != tc.ok || (tc.ok && got != tc.want) {
			t.Errorf("ParseIMAPURL(%q) = %+v, %v", tc.in, got, err)
		}
	}
}

// TestImportIMAPIncremental re-runs an import from a second mailroom
// (which has CONDSTORE): flag changes at the source since the recorded
// HIGHESTMODSEQ reach the imported copies, new messages come by UID, a
// folder whose UIDVALIDITY changed is compared in full and deduplicated,
// and its copies are mapped anew so later flag changes reach them too.
func TestImportIMAPIncremental(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srcSt := openStore(t)
	sa := sourceAccount(t, srcSt, "old@source.test")
	inbox, _ := srcSt.MailboxByName(ctx, sa.ID, "INBOX")
	if _, _, err := srcSt.Append(ctx, inbox.Ref(), []store.NewMessage{
		newMsg(msg("i1", "one", "1\r\n"), t1, store.FlagSeen),
		newMsg(msg("i2", "two", "2\r\n"), t1),
		newMsg(msg("i3", "three", "3\r\n"), t2, "$Label1"),
	}); err != nil {
		t.Fatal(err)
	}
	lists, err := srcSt.CreateMailbox(ctx, sa.ID, "Lists", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := srcSt.Append(ctx, lists.Ref(), []store.NewMessage{newMsg(msg("l1", "list", "l\r\n"), t1)}); err != nil {
		t.Fatal(err)
	}
	addr := serveIMAPS(t, srcSt)
	src, err := ParseIMAPURL("imaps://old@source.test@" + addr)
	if err != nil {
		t.Fatal(err)
	}
	src.Password, src.Insecure = sourcePass, true
	dst := openStore(t)
	a := account(t, dst, "new@example.test")
	// A message already in the target's Lists before the first import:
	// Lists keeps new UIDs (not the source's), mapped by the import.
	dlists, err := dst.CreateMailbox(ctx, a.ID, "Lists", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := dst.Append(ctx, dlists.Ref(), []store.NewMessage{newMsg(msg("x1", "local", "x\r\n"), t2)}); err != nil {
		t.Fatal(err)
	}
	run := func(what string, wantMessages, wantSkipped, wantFlags int) {
		t.Helper()
		stats, err := ImportIMAP(ctx, dst, src, Options{AccountID: a.ID})
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if stats.Messages != wantMessages || stats.Skipped != wantSkipped || stats.FlagsUpdated != wantFlags || stats.Failed != 0 {
			t.Fatalf("%s: stats %+v, want %d messages, %d skipped, %d flags updated", what, stats, wantMessages, wantSkipped, wantFlags)
		}
	}
	flagsOf := func(name string) map[string][]string {
		t.Helper()
		raws, metas := bodies(t, dst, a.ID, name)
		out := map[string][]string{}
		for i, r := range raws {
			id, _, _ := strings.Cut(r[strings.Index(r, "Message-ID: <")+len("Message-ID: <"):], "@")
			out[id] = metas[i].Flags
			if len(out[id]) == 0 {
				out[id] = nil
			}
		}
		return out
	}
	wantState := func(folder string, mb store.Mailbox) {
		t.Helper()
		st, _ := srcSt.MailboxStatus(ctx, mb.Ref())
		got, err := dst.ImportFolder(ctx, a.ID, src.Key(), folder)
		if err != nil || got.UIDValidity != st.UIDValidity || got.HighestModSeq != st.HighestModSeq || got.LastUID != st.UIDNext-1 {
			t.Fatalf("import state of %s: %+v, %v; source %+v", folder, got, err, st)
		}
	}
	run("first run", 4, 0, 0)
	wantState("INBOX", inbox)
	wantState("Lists", lists)

	// Nothing changed at the source: nothing to do.
	run("unchanged re-run", 0, 4, 0)

	// Flags change at the source (set, replaced, cleared), and a new
	// message arrives.
	if _, _, err := srcSt.UpdateFlags(ctx, inbox.Ref(), []uint32{1}, store.FlagsReplace, []string{store.FlagAnswered, "$Work"}, 0); err != nil {
		t.Fatal(err)
	}
	if _, _, err := srcSt.UpdateFlags(ctx, inbox.Ref(), []uint32{2}, store.FlagsAdd, []string{store.FlagFlagged}, 0); err != nil {
		t.Fatal(err)
	}
	if _, _, err := srcSt.UpdateFlags(ctx, inbox.Ref(), []uint32{3}, store.FlagsRemove, []string{"$Label1"}, 0); err != nil {
		t.Fatal(err)
	}
	if _, _, err := srcSt.UpdateFlags(ctx, lists.Ref(), []uint32{1}, store.FlagsAdd, []string{store.FlagSeen}, 0); err != nil {
		t.Fatal(err)
	}
	if _, _, err := srcSt.Append(ctx, inbox.Ref(), []store.NewMessage{newMsg(msg("i4", "four", "4\r\n"), t2, store.FlagDraft)}); err != nil {
		t.Fatal(err)
	}
	run("re-run after flag changes", 1, 4, 4)
	if got, want := flagsOf("INBOX"), map[string][]string{
		"i1": {"$Work", store.FlagAnswered}, "i2": {store.FlagFlagged}, "i3": nil, "i4": {store.FlagDraft},
	}; !reflect.DeepEqual(got, want) {
		t.Fatalf("INBOX flags after the re-run %q, want %q", got, want)
	}
	if got, want := flagsOf("Lists"), map[string][]string{"x1": nil, "l1": {store.FlagSeen}}; !reflect.DeepEqual(got, want) {
		t.Fatalf("Lists flags after the re-run %q, want %q", got, want)
	}
	wantState("INBOX", inbox)
	wantState("Lists", lists)

	// Lists is re-created at the source with a new UIDVALIDITY, its old
	// message (without \Seen now) and a new one: compared in full, the
	// old message is found and not stored twice.
	if err := srcSt.DeleteMailbox(ctx, sa.ID, "Lists"); err != nil {
		t.Fatal(err)
	}
	lists2, err := srcSt.CreateMailbox(ctx, sa.ID, "Lists", "")
	if err != nil {
		t.Fatal(err)
	}
	if lists2.UIDValidity == lists.UIDValidity {
		t.Fatal("the re-created folder kept its UIDVALIDITY")
	}
	if _, _, err := srcSt.Append(ctx, lists2.Ref(), []store.NewMessage{
		newMsg(msg("l2", "list2", "l2\r\n"), t2),
		newMsg(msg("l1", "list", "l\r\n"), t1),
	}); err != nil {
		t.Fatal(err)
	}
	run("re-run after UIDVALIDITY change", 1, 5, 0)
	wantState("Lists", lists2)
	// The old copy is mapped to its new source UID: a flag set there now
	// reaches it, and the copy takes the source's flags (no \Seen there).
	if _, _, err := srcSt.UpdateFlags(ctx, lists2.Ref(), []uint32{2}, store.FlagsAdd, []string{store.FlagFlagged}, 0); err != nil {
		t.Fatal(err)
	}
	run("re-run after a flag change in the re-created folder", 0, 6, 1)
	if got, want := flagsOf("Lists"), map[string][]string{"x1": nil, "l1": {store.FlagFlagged}, "l2": nil}; !reflect.DeepEqual(got, want) {
		t.Fatalf("Lists flags after the last re-run %q, want %q", got, want)
	}
}
