package pop3server

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/mailroom/mailroom/store/sqlite"
)

// Issue 11 item 22: deleting the account ends its POP3 session. A session
// waiting for a command is woken by the change feed and told -ERR at once,
// then closed.
func TestAccountDeletedEndsSession(t *testing.T) {
	ts, st := newSQLiteServer(t, msgFirst)
	c := ts.login(t)
	if err := st.DeleteAccount(t.Context(), testUser); err != nil {
		t.Fatal(err)
	}
	if got := c.line(); got != "-ERR [SYS/PERM] account was deleted" {
		t.Fatalf("after account deletion: %q", got)
	}
	// No command was sent, so goneCheckInterval's check cannot have
	// answered: only the feed's wake-up sends this line (before the read
	// deadline, a hang guard, where a 2 s bound could trip under -race).
	c.closed()
}

// A change to the account that does not delete it (a mailbox created by
// IMAP) wakes the session, which goes on reading: a command line half
// sent at that moment is not lost.
func TestAccountChangeKeepsPartialCommand(t *testing.T) {
	ts, st := newSQLiteServer(t, msgFirst)
	c := ts.login(t)
	if _, err := c.conn.Write([]byte("NO")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // let the server read the start
	if _, err := st.CreateMailbox(t.Context(), ts.acct.ID, "Elsewhere", ""); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	c.expect("OP", "+OK")
	c.expectPrefix("STAT", "+OK 1 ")
}

// With SQLite, mailroom user delete runs in another process, whose change
// feed this server does not hear: the session ends at its next command
// once goneCheckInterval has passed.
func TestAccountDeletedByOtherProcess(t *testing.T) {
	dir := t.TempDir()
	ts, _ := newSQLiteServerAt(t, filepath.Join(dir, "mail.db"), msgFirst)
	c := ts.login(t)
	other, err := sqlite.Open(t.Context(), filepath.Join(dir, "mail.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if err := other.DeleteAccount(t.Context(), testUser); err != nil {
		t.Fatal(err)
	}
	time.Sleep(goneCheckInterval + 100*time.Millisecond)
	c.expect("STAT", "-ERR [SYS/PERM] account was deleted")
	c.closed()
}
