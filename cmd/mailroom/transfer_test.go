package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"

	"github.com/mailroom/mailroom/store"
	"github.com/mailroom/mailroom/store/sqlite"
)

var flagsUpdatedRE = regexp.MustCompile(`(?m)^  flags changed at the source set on (\d+) messages imported before$`)

var summaryRE = regexp.MustCompile(`(?m)^(Imported into|Exported from) (\S+): (\d+) folders, (\d+) messages, (\d+) bytes, (\d+) skipped \(already there\), (\d+) failed$`)

type summary struct{ folders, messages, skipped, failed int }

func parseSummary(t *testing.T, out string) summary {
	t.Helper()
	m := summaryRE.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no summary in %q", out)
	}
	n := func(s string) int { v, _ := strconv.Atoi(s); return v }
	return summary{folders: n(m[3]), messages: n(m[4]), skipped: n(m[6]), failed: n(m[7])}
}

// TestImportExportWhileServing runs the binary's import and export next to
// a running serve: an IMAP client that is connected sees the imported
// messages with their flags and dates, a second import skips them all, and the
// export is a Maildir with one file per message.
func TestImportExportWhileServing(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := startServe(t, dir, append([]string{"--data", "d", "--hostname", "mx.example.test"}, loopbackPorts...)...)
	if _, err := runCLI(t, dir, "pw\n", "user", "add", "a@example.test", "--password-stdin", "--data", "d"); err != nil {
		t.Fatal(err)
	}
	exists := make(chan uint32, 10)
	c, err := imapclient.DialInsecure(p.addr(t, "imap"), &imapclient.Options{
		UnilateralDataHandler: &imapclient.UnilateralDataHandler{
			Mailbox: func(d *imapclient.UnilateralDataMailbox) {
				if d.NumMessages != nil {
					exists <- *d.NumMessages
				}
			},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Authenticate(sasl.NewPlainClient("", "a@example.test", "pw")); err != nil {
		t.Fatal(err)
	}
	if sel, err := c.Select("INBOX", nil).Wait(); err != nil || sel.NumMessages != 0 {
		t.Fatalf("select: %+v %v", sel, err)
	}

	mbox := "From x Mon Jan  2 15:04:05 2023\nFrom: x@example.test\nSubject: one\nMessage-ID: <1@x>\nStatus: RO\nX-Status: F\n\n>From quoted\n\n" +
		"From x Mon Jan  2 15:04:05 2023\nnot a header\n\n" +
		"From x Tue Jan  3 15:04:05 2023\nFrom: x@example.test\nSubject: two\nMessage-ID: <2@x>\n\nsecond\n\n"
	if err := os.WriteFile(filepath.Join(dir, "old.mbox"), []byte(mbox), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := runCLI(t, dir, "", "import", "mbox", "old.mbox", "--user", "a@example.test", "--data", "d")
	if err != nil {
		t.Fatal(err)
	}
	if s := parseSummary(t, out); s.messages != 2 || s.failed != 1 || s.skipped != 0 {
		t.Fatalf("summary %+v: %q", s, out)
	}
	// The session that has INBOX selected learns of them at a command
	// after serve's store has noticed the other process's commits (its
	// writer polls PRAGMA data_version once a second, between batches, so
	// later on a loaded machine): NOOP until one reports them, with a hang
	// guard. A sleep of just over the poll interval and one NOOP missed
	// them when the poll came late.
	for deadline := time.Now().Add(30 * time.Second); len(exists) == 0; {
		if time.Now().After(deadline) {
			t.Fatal("no NOOP within 30 s reported EXISTS for the imported messages")
		}
		time.Sleep(100 * time.Millisecond)
		if err := c.Noop().Wait(); err != nil {
			t.Fatal(err)
		}
	}
	if n := <-exists; n != 2 {
		t.Fatalf("EXISTS %d, want 2", n)
	}
	msgs, err := c.Fetch(imap.SeqSetNum(1, 2), &imap.FetchOptions{Flags: true, InternalDate: true, Envelope: true}).Collect()
	if err != nil || len(msgs) != 2 {
		t.Fatalf("fetch %v %v", msgs, err)
	}
	slices.SortFunc(msgs, func(a, b *imapclient.FetchMessageBuffer) int { return int(a.SeqNum) - int(b.SeqNum) })
	if f := msgs[0].Flags; msgs[0].Envelope.Subject != "one" || !slices.Contains(f, imap.FlagSeen) || !slices.Contains(f, imap.FlagFlagged) {
		t.Errorf("message 1: %q %v", msgs[0].Envelope.Subject, f)
	}
	if want := time.Date(2023, 1, 3, 15, 4, 5, 0, time.UTC); !msgs[1].InternalDate.Equal(want) {
		t.Errorf("internal date %v, want %v", msgs[1].InternalDate, want)
	}

	out, err = runCLI(t, dir, "", "import", "mbox", "old.mbox", "--user", "a@example.test", "--data", "d")
	if err != nil {
		t.Fatal(err)
	}
	if s := parseSummary(t, out); s.messages != 0 || s.skipped != 2 {
		t.Fatalf("re-run summary %+v", s)
	}

	out, err = runCLI(t, dir, "", "export", "maildir", "exported", "--user", "a@example.test", "--data", "d")
	if err != nil {
		t.Fatal(err)
	}
	if s := parseSummary(t, out); s.messages != 2 || s.folders != 6 {
		t.Fatalf("export summary %+v", s)
	}
	files, err := os.ReadDir(filepath.Join(dir, "exported", "cur"))
	if err != nil || len(files) != 2 {
		t.Fatalf("exported INBOX: %v %v", files, err)
	}

	// import imap pulls the account from the running serve into another
	// data directory; a second run finds nothing new.
	if _, err := runCLI(t, dir, "pw2\n", "user", "add", "b@example.test", "--password-stdin", "--data", "d2"); err != nil {
		t.Fatal(err)
	}
	srcURL := "imap://a@example.test@" + p.addr(t, "imap")
	for i, want := range []summary{{folders: 6, messages: 2}, {folders: 6, skipped: 2}} {
		out, err = runCLI(t, dir, "pw\n", "import", "imap", srcURL, "--user", "b@example.test", "--password-stdin", "--insecure", "--data", "d2")
		if err != nil {
			t.Fatal(err)
		}
		if s := parseSummary(t, out); s != want {
			t.Fatalf("import imap run %d: summary %+v, want %+v: %q", i+1, s, want, out)
		}
	}
	// A flag set at the source reaches the copy on the next run
	// (CONDSTORE CHANGEDSINCE), and the summary says so.
	if _, err := c.Store(imap.SeqSetNum(2), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{"$Important"}}, nil).Collect(); err != nil {
		t.Fatal(err)
	}
	out, err = runCLI(t, dir, "pw\n", "import", "imap", srcURL, "--user", "b@example.test", "--password-stdin", "--insecure", "--data", "d2")
	if err != nil {
		t.Fatal(err)
	}
	if s := parseSummary(t, out); s != (summary{folders: 6, skipped: 2}) {
		t.Fatalf("import imap after a flag change: summary %+v: %q", s, out)
	}
	if m := flagsUpdatedRE.FindStringSubmatch(out); m == nil || m[1] != "1" {
		t.Fatalf("import imap after a flag change: no or wrong flags line (%q): %q", m, out)
	}
	if _, err := runCLI(t, dir, "wrong\n", "import", "imap", srcURL, "--user", "b@example.test", "--password-stdin", "--insecure", "--data", "d2"); err == nil {
		t.Error("import imap with a wrong password succeeded")
	}

	if _, err := runCLI(t, dir, "", "import", "mbox", "old.mbox", "--user", "nobody@example.test", "--data", "d"); err == nil {
		t.Error("import into a missing account succeeded")
	}
	if _, err := runCLI(t, dir, "", "import", "tarball", "x", "--user", "a@example.test", "--data", "d"); err == nil {
		t.Error("unknown import kind accepted")
	}
}

// TestImportMaildirCommandFlags runs import maildir in-process with the
// fs layout, --folder-map and --date header, and checks bad flags are
// refused with a usage error.
func TestImportMaildirCommandFlags(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	if err := os.Mkdir(data, 0o700); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(data, "mailroom.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	acct, err := st.CreateAccount(ctx, "a@example.test", "hash")
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	md := filepath.Join(dir, "Maildir")
	for _, sub := range []string{"cur", "new", "tmp", "Old Sent/cur", "Old Sent/new", "Work/x/cur"} {
		if err := os.MkdirAll(filepath.Join(md, sub), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	m := "From: x@example.test\nDate: Tue, 03 Jan 2023 15:04:05 +0000\nSubject: s\n\nb\n"
	for _, p := range []string{"cur/1.a:2,S", "Old Sent/cur/2.b:2,S", "Work/x/cur/3.c:2,"} {
		if err := os.WriteFile(filepath.Join(md, p), []byte(m), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	code, stdout, stderr := runInProcess(t, "import", "maildir", md, "--user", "A@example.test", "--data", data,
		"--dovecot-layout", "fs", "--folder-map", "Old Sent=Sent, Work/x=Projects/X", "--date", "header")
	if code != 0 {
		t.Fatalf("exit %d: %s %s", code, stdout, stderr)
	}
	if s := parseSummary(t, stdout); s.messages != 3 || s.failed != 0 || s.folders != 3 {
		t.Fatalf("summary %+v", s)
	}
	st, err = sqlite.Open(ctx, filepath.Join(data, "mailroom.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	want := time.Date(2023, 1, 3, 15, 4, 5, 0, time.UTC)
	for _, name := range []string{"INBOX", "Sent", "Projects/X"} {
		mb, err := st.MailboxByName(ctx, acct.ID, name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var dates []time.Time
		if err := st.ListMessages(ctx, mb.Ref(), nil, func(meta store.MessageMeta) error {
			dates = append(dates, meta.InternalDate)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if len(dates) != 1 || !dates[0].Equal(want) {
			t.Errorf("%s: %v", name, dates)
		}
	}
	for _, bad := range [][]string{
		{"import", "maildir", md, "--user", "a@example.test", "--data", data, "--dovecot-layout", "weird"},
		{"import", "maildir", md, "--user", "a@example.test", "--data", data, "--folder-map", "nodest"},
		{"import", "mbox", md, "--user", "a@example.test", "--data", data, "--mbox-format", "mboxq"},
		{"import", "maildir", md, "--data", data},
		{"export", "mbox", "--user", "a@example.test", "--data", data},
	} {
		if code, _, _ := runInProcess(t, bad...); code == 0 {
			t.Errorf("%v succeeded", bad)
		}
	}
}
