package transfer

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/mailroom/mailroom/store"
)

// dovecotBinary is Debian's dovecot (packages dovecot-core and
// dovecot-imapd; scripts/test-deps installs them).
const dovecotBinary = "/usr/sbin/dovecot"

// startDovecot runs a Dovecot IMAP server on a loopback port with a
// configuration generated under dir: one user "old" (password
// sourcePass) whose Maildir is dir/mail. It returns the address.
func startDovecot(t *testing.T, dir string) string {
	t.Helper()
	return startDovecotLayout(t, dir, "")
}

// startDovecotLayout is startDovecot with a suffix for the Maildir
// location: "" for Maildir++, ":LAYOUT=fs".
func startDovecotLayout(t *testing.T, dir, layout string) string {
	t.Helper()
	if _, err := os.Stat(dovecotBinary); err != nil || !fileExists("/usr/lib/dovecot/imap") {
		if os.Getenv("MAILROOM_REQUIRE_DOVECOT") != "" {
			t.Fatalf("MAILROOM_REQUIRE_DOVECOT is set but Dovecot's IMAP server is not installed (apt-get install dovecot-imapd)")
		}
		t.Skip("Dovecot's IMAP server not installed (dovecot-imapd); scripts/test-deps installs it and sets MAILROOM_REQUIRE_DOVECOT")
	}
	// Mail may not be accessed as root: as root the mail user is nobody,
	// otherwise the user running the test (Dovecot then runs unprivileged).
	mailUser, loginUser, internalUser := currentUser(t), currentUser(t), currentUser(t)
	if os.Geteuid() == 0 {
		mailUser, loginUser, internalUser = lookupUser(t, "nobody"), lookupUser(t, "dovenull"), lookupUser(t, "dovecot")
		// Dovecot's processes must reach dir.
		for d := dir; d != "/" && d != os.TempDir(); d = filepath.Dir(d) {
			if err := os.Chmod(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, d := range []string{"run", "state"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(dir, "passwd"), "old:{PLAIN}"+sourcePass+"\n", time.Time{})
	if os.Geteuid() == 0 {
		chownTree(t, filepath.Join(dir, "mail"), mailUser)
		if err := os.Chmod(filepath.Join(dir, "passwd"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// The port is free when chosen, not when Dovecot binds it: another
	// socket of this machine's parallel tests (a client's ephemeral port
	// too) can take it in between. Dovecot then exits, and it is started
	// again on another port.
	for attempt := 1; ; attempt++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		addr, inUse := runDovecot(t, dir, dovecotConf(t, dir, layout, port, mailUser, loginUser, internalUser), port)
		if !inUse {
			return addr
		}
		if attempt == 5 {
			t.Fatalf("Dovecot found its port taken %d times", attempt)
		}
		t.Logf("Dovecot's port %d was taken before it bound it; trying another", port)
	}
}

// dovecotConf writes the configuration of startDovecotLayout for port
// and returns its path.
func dovecotConf(t *testing.T, dir, layout string, port int, mailUser, loginUser, internalUser string) string {
	t.Helper()
	conf := fmt.Sprintf(`base_dir = %[1]s/run
state_dir = %[1]s/state
log_path = %[1]s/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
default_login_user = %[3]s
default_internal_user = %[4]s
first_valid_uid = 1
mail_location = maildir:%[1]s/mail%[7]s
passdb {
  driver = passwd-file
  args = %[1]s/passwd
}
userdb {
  driver = static
  args = uid=%[2]s gid=%[6]s home=%[1]s/home
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = %[5]d
  }
  inet_listener imaps {
    port = 0
  }
}
service auth {
  user = %[4]s
}
`, dir, uidOf(t, mailUser), loginUser, internalUser, port, gidOf(t, mailUser), layout)
	confPath := filepath.Join(dir, "dovecot.conf")
	writeFile(t, confPath, conf, time.Time{})
	if err := os.Chmod(confPath, 0o644); err != nil {
		t.Fatal(err)
	}
	return confPath
}

// runDovecot starts Dovecot on confPath and waits until it listens on
// port; inUse reports that it exited because the port was taken.
func runDovecot(t *testing.T, dir, confPath string, port int) (addr string, inUse bool) {
	t.Helper()
	cmd := exec.Command(dovecotBinary, "-F", "-c", confPath)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	logPath := filepath.Join(dir, "dovecot.log")
	addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.Now().Add(30 * time.Second)
	for {
		// Dovecot's greeting, not just a listener: what took the port
		// would accept the connection too.
		greeting, err := dialGreeting(addr)
		if err == nil && strings.Contains(greeting, "Dovecot") {
			return addr, false
		}
		select {
		case <-exited: // out is complete
			log, _ := os.ReadFile(logPath)
			if strings.Contains(out.String()+string(log), "in use") {
				os.Remove(logPath)
				return "", true
			}
			t.Fatalf("Dovecot exited: %s\n%s\n%s", cmd.ProcessState, out.String(), log)
		default:
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			<-exited
			log, _ := os.ReadFile(logPath)
			t.Fatalf("Dovecot did not listen on %s: %v\n%s\n%s", addr, err, out.String(), log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// dialGreeting returns the first line the server on addr sends.
func dialGreeting(addr string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return "", fmt.Errorf("greeting: %w", err)
	}
	return line, nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func currentUser(t *testing.T) string {
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	return u.Username
}

func lookupUser(t *testing.T, name string) string {
	if _, err := user.Lookup(name); err != nil {
		t.Fatalf("user %s: %v", name, err)
	}
	return name
}

func uidOf(t *testing.T, name string) string {
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	return u.Uid
}

func gidOf(t *testing.T, name string) string {
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	return u.Gid
}

func chownTree(t *testing.T, root, name string) {
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	err = filepath.Walk(root, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Chown(p, uid, gid)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestImportIMAPFromDovecot pulls a Maildir account served by a real
// Dovecot: folders (Maildir++ "." hierarchy), flags, keywords, dates,
// and Dovecot's UIDs and UIDVALIDITY.
func TestImportIMAPFromDovecot(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	md := filepath.Join(dir, "mail")
	mkMaildir(t, md)
	writeFile(t, filepath.Join(md, "cur", "1500000000.M1P1.host:2,FSa"), msg("d1", "flagged", "one\n"), t1)
	writeFile(t, filepath.Join(md, "cur", "1500000001.M2P1.host:2,"), msg("d2", "plain", "two\n"), t2)
	writeFile(t, filepath.Join(md, "dovecot-keywords"), "0 $Work\n", time.Time{})
	writeFile(t, filepath.Join(md, "dovecot-uidlist"), "3 V777 N50\n40 :1500000000.M1P1.host\n41 :1500000001.M2P1.host\n", time.Time{})
	mkMaildir(t, filepath.Join(md, ".Lists.go"))
	writeFile(t, filepath.Join(md, ".Lists.go", "cur", "1.M1.host:2,S"), msg("g1", "go", "g\n"), t1)
	addr := startDovecot(t, dir)

	ctx := context.Background()
	st := openStore(t)
	a := account(t, st, "new@example.test")
	src, err := ParseIMAPURL("imap://old@" + addr)
	if err != nil {
		t.Fatal(err)
	}
	src.Password = sourcePass
	stats, err := ImportIMAP(ctx, st, src, Options{AccountID: a.ID})
	if err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "dovecot.log"))
		t.Fatalf("%v\n%s", err, log)
	}
	if stats.Messages != 3 || stats.Failed != 0 {
		t.Fatalf("stats %+v", stats)
	}
	inbox, err := st.MailboxByName(ctx, a.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	if inbox.UIDValidity != 777 {
		t.Errorf("INBOX UIDVALIDITY %d, want Dovecot's 777", inbox.UIDValidity)
	}
	raws, metas := bodies(t, st, a.ID, "INBOX")
	if got := uidsOfMetas(metas); !reflect.DeepEqual(got, []uint32{40, 41}) {
		t.Fatalf("INBOX UIDs %v, want Dovecot's [40 41]", got)
	}
	if !strings.Contains(raws[0], "<d1@") || !metas[0].InternalDate.Equal(t1) {
		t.Errorf("first message %q at %v", raws[0][:40], metas[0].InternalDate)
	}
	wantFlagsEq(t, metas[0].Flags, "$Work", store.FlagFlagged, store.FlagSeen)
	wantFlagsEq(t, metas[1].Flags)
	if raws, _ := bodies(t, st, a.ID, "Lists/go"); len(raws) != 1 || !strings.Contains(raws[0], "<g1@") {
		t.Errorf("Lists/go: %q", raws)
	}
	// A re-run downloads nothing.
	stats, err = ImportIMAP(ctx, st, src, Options{AccountID: a.ID})
	if err != nil || stats.Messages != 0 || stats.Skipped != 3 {
		t.Fatalf("re-run: %+v %v", stats, err)
	}
	// Dovecot has CONDSTORE: the import kept its HIGHESTMODSEQ.
	state, err := st.ImportFolder(ctx, a.ID, src.Key(), "INBOX")
	if err != nil || state.UIDValidity != 777 || state.HighestModSeq == 0 || state.LastUID != 41 {
		t.Fatalf("import state of INBOX: %+v, %v", state, err)
	}

	// Flags change at Dovecot and a message arrives there: the next run
	// fetches the new message and sets the changed flags on the copies.
	c, err := dialIMAP(src)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := loginIMAP(c, src); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Store(imap.UIDSetNum(40), &imap.StoreFlags{Op: imap.StoreFlagsDel, Silent: true, Flags: []imap.Flag{imap.FlagFlagged, "$Work"}}, nil).Collect(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Store(imap.UIDSetNum(41), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagAnswered, "$Later"}}, nil).Collect(); err != nil {
		t.Fatal(err)
	}
	newRaw := strings.ReplaceAll(msg("d3", "new", "three\n"), "\n", "\r\n") // as IMAP serves it
	app := c.Append("INBOX", int64(len(newRaw)), &imap.AppendOptions{Flags: []imap.Flag{imap.FlagSeen}, Time: t2})
	if _, err := app.Write([]byte(newRaw)); err != nil {
		t.Fatal(err)
	}
	if err := app.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := app.Wait(); err != nil {
		t.Fatal(err)
	}
	if err := c.Logout().Wait(); err != nil {
		t.Fatal(err)
	}
	stats, err = ImportIMAP(ctx, st, src, Options{AccountID: a.ID})
	if err != nil || stats.Messages != 1 || stats.Skipped != 3 || stats.FlagsUpdated != 2 || stats.Failed != 0 {
		t.Fatalf("re-run after changes at Dovecot: %+v %v", stats, err)
	}
	raws, metas = bodies(t, st, a.ID, "INBOX")
	if got := uidsOfMetas(metas); !reflect.DeepEqual(got, []uint32{40, 41, 50}) {
		t.Fatalf("INBOX UIDs %v, want Dovecot's [40 41 50] (its UIDNEXT was 50)", got)
	}
	wantFlagsEq(t, metas[0].Flags, store.FlagSeen)
	wantFlagsEq(t, metas[1].Flags, "$Later", store.FlagAnswered)
	wantFlagsEq(t, metas[2].Flags, store.FlagSeen)
	if raws[2] != newRaw || !metas[2].InternalDate.Equal(t2) {
		t.Errorf("new message %q at %v", raws[2], metas[2].InternalDate)
	}
}
