package transfer

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"

	"github.com/mailroom/mailroom/store"
)

// exportedMsg is a message as a server shows it over IMAP, or as the
// store holds it.
type exportedMsg struct {
	UID   uint32
	Flags []string
	Date  int64
	Raw   string
}

type exportedFolder struct {
	UIDValidity uint32
	Msgs        []exportedMsg
}

// TestExportMaildirIntoDovecot exports an account with `mailroom export
// maildir` (both layouts), points Debian's Dovecot at the tree and
// compares what Dovecot serves over IMAP with the store: folders (nested,
// non-ASCII), messages byte for byte, UIDs and UIDVALIDITY, flags and
// keywords, internal dates.
func TestExportMaildirIntoDovecot(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		layout Layout
		loc    string
	}{
		{"maildir++", LayoutMaildirPP, ""},
		{"fs", LayoutFS, ":LAYOUT=fs"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := openStore(t)
			a := account(t, st, "export@example.test")
			crlf := func(id, subject, body string) store.NewMessage {
				return newMsg(strings.ReplaceAll(msg(id, subject, body), "\n", "\r\n"), t1)
			}
			inbox, _ := st.MailboxByName(ctx, a.ID, "INBOX")
			in := []store.NewMessage{
				crlf("e1", "seen", "one\n"),
				crlf("e2", "gone", "two\n"),
				crlf("e3", "flags", "three\n"),
				crlf("e4", "plain", "four\n"),
			}
			in[0].Flags = []string{store.FlagSeen}
			in[2].Flags = []string{"$Forwarded", "$Label1", "$Work", store.FlagAnswered, store.FlagDraft, store.FlagFlagged, store.FlagSeen}
			in[3].InternalDate = t2
			if _, _, err := st.Append(ctx, inbox.Ref(), in); err != nil {
				t.Fatal(err)
			}
			if _, _, err := st.Expunge(ctx, inbox.Ref(), []uint32{2}, false); err != nil {
				t.Fatal(err)
			}
			for _, f := range []struct {
				name string
				msgs []store.NewMessage
			}{
				{"Lists/gö", []store.NewMessage{crlf("g1", "go", "g\n"), crlf("g2", "go2", "g2\n")}},
				{"Sent", []store.NewMessage{crlf("s1", "sent", "s\n")}},
			} {
				m, err := st.MailboxByName(ctx, a.ID, f.name)
				if err != nil {
					if m, err = st.CreateMailbox(ctx, a.ID, f.name, ""); err != nil {
						t.Fatal(err)
					}
				}
				f.msgs[0].Flags = []string{"$Work", store.FlagSeen}
				if _, _, err := st.Append(ctx, m.Ref(), f.msgs); err != nil {
					t.Fatal(err)
				}
			}
			dir := t.TempDir()
			stats, err := ExportMaildir(ctx, st, filepath.Join(dir, "mail"), tc.layout, Options{AccountID: a.ID})
			if err != nil || stats.Failed != 0 || stats.Messages != 6 {
				t.Fatalf("export: %+v, %v", stats, err)
			}
			addr := startDovecotLayout(t, dir, tc.loc)
			got := dovecotContent(t, dir, addr)
			want := storeContent(t, st, a.ID)
			for name, w := range want {
				if g, ok := got[name]; !reflect.DeepEqual(g, w) {
					t.Errorf("folder %q: Dovecot serves (present %v)\n%+v\nthe store holds\n%+v", name, ok, g, w)
				}
			}
			for name := range got {
				if _, ok := want[name]; !ok {
					t.Errorf("Dovecot serves a folder %q the store does not have", name)
				}
			}
		})
	}
}

// storeContent is the account's content as exportedFolders by name.
func storeContent(t *testing.T, st store.Store, acct int64) map[string]exportedFolder {
	t.Helper()
	ctx := context.Background()
	ms, err := st.Mailboxes(ctx, acct)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]exportedFolder{}
	for _, m := range ms {
		f := exportedFolder{UIDValidity: m.UIDValidity}
		err := st.ListBodies(ctx, m.Ref(), nil, func(meta store.MessageMeta, raw []byte) error {
			f.Msgs = append(f.Msgs, exportedMsg{UID: meta.UID, Flags: normFlags(meta.Flags), Date: meta.InternalDate.Unix(), Raw: string(raw)})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		out[m.Name] = f
	}
	return out
}

// dovecotContent logs in to the Dovecot at addr and reads every folder.
func dovecotContent(t *testing.T, dir, addr string) map[string]exportedFolder {
	t.Helper()
	src, err := ParseIMAPURL("imap://old@" + addr)
	if err != nil {
		t.Fatal(err)
	}
	src.Password = sourcePass
	c, err := dialIMAP(src)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := loginIMAP(c, src); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "dovecot.log"))
		t.Fatalf("login: %v\n%s", err, log)
	}
	list, err := c.List("", "*", nil).Collect()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]exportedFolder{}
	for _, l := range list {
		name := l.Mailbox
		if l.Delim != 0 && l.Delim != '/' {
			name = strings.ReplaceAll(name, string(l.Delim), "/")
		}
		sel, err := c.Select(l.Mailbox, &imap.SelectOptions{ReadOnly: true}).Wait()
		if err != nil {
			t.Fatalf("EXAMINE %q: %v", l.Mailbox, err)
		}
		f := exportedFolder{UIDValidity: sel.UIDValidity}
		if sel.NumMessages > 0 {
			msgs, err := c.Fetch(imap.UIDSet{imap.UIDRange{Start: 1, Stop: 0}}, &imap.FetchOptions{
				UID: true, Flags: true, InternalDate: true, BodySection: []*imap.FetchItemBodySection{{Peek: true}},
			}).Collect()
			if err != nil {
				t.Fatalf("FETCH in %q: %v", l.Mailbox, err)
			}
			sort.Slice(msgs, func(i, j int) bool { return msgs[i].UID < msgs[j].UID })
			for _, m := range msgs {
				var raw []byte
				for _, b := range m.BodySection {
					raw = b.Bytes
				}
				f.Msgs = append(f.Msgs, exportedMsg{UID: uint32(m.UID), Flags: normFlags(imapFlags(m.Flags)), Date: m.InternalDate.Unix(), Raw: string(raw)})
			}
		}
		out[name] = f
	}
	if err := c.Logout().Wait(); err != nil && err != io.EOF {
		t.Log(err)
	}
	return out
}

func normFlags(fs []string) []string {
	if len(fs) == 0 {
		return nil
	}
	return sortedFlags(append([]string{}, fs...))
}
