package transfer

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"reflect"
	"testing"
	"time"

	"github.com/mailroom/mailroom/auth"
	"github.com/mailroom/mailroom/imapserver"
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
	hash, err := auth.HashPassword(sourcePass)
	if err != nil {
		t.Fatal(err)
	}
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
