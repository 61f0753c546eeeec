package pop3server

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// pythonClient is run with Python's poplib as an independent client.
const pythonClient = `
import poplib, sys
host, port, user, password = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
p = poplib.POP3(host, port, timeout=10)
print("welcome", p.getwelcome().decode())
print("capa", sorted(p.capa().keys()))
p.user(user)
p.pass_(password)
print("stat", p.stat())
resp, listing, octets = p.list()
print("list", resp.decode(), [l.decode() for l in listing])
resp, lines, octets = p.retr(2)
print("retr", resp.decode(), octets)
sys.stdout.write("body " + repr([l.decode() for l in lines]) + "\n")
resp, lines, octets = p.top(1, 0)
print("top", [l.decode() for l in lines])
resp, uids, octets = p.uidl()
print("uidl", [u.decode() for u in uids])
print("dele", p.dele(1).decode())
print("quit", p.quit().decode())
`

func TestPythonPoplib(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Fatal("python3 is required for this test (CI installs it):", err)
	}
	ts := newTestServer(t, nil)
	ts.store.addMessage(ts.acct.ID, msgFirst)
	ts.store.addMessage(ts.acct.ID, "Subject: dots\r\n\r\n.hidden\r\nend\r\n")
	v := ts.store.inboxes[ts.acct.ID].mb.UIDValidity

	script := filepath.Join(t.TempDir(), "client.py")
	if err := os.WriteFile(script, []byte(pythonClient), 0o600); err != nil {
		t.Fatal(err)
	}
	host, port, _ := net.SplitHostPort(ts.addr)
	cmd := exec.CommandContext(t.Context(), python, script, host, port, testUser, testPass)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("python client failed: %v\n%s", err, out)
	}
	size2 := len("Subject: dots\r\n\r\n.hidden\r\nend\r\n")
	want := []string{
		"welcome +OK pop.example.com POP3 server ready",
		"capa ['AUTH-RESP-CODE', 'IMPLEMENTATION', 'PIPELINING', 'RESP-CODES', 'SASL', 'TOP', 'UIDL', 'USER']",
		fmt.Sprintf("stat (2, %d)", len(msgFirst)+size2),
		fmt.Sprintf("list +OK 2 messages (%d octets) ['1 %d', '2 %d']", len(msgFirst)+size2, len(msgFirst), size2),
		fmt.Sprintf("retr +OK %d octets %d", size2, size2),
		"body ['Subject: dots', '', '.hidden', 'end']",
		"top ['From: alice@example.com', 'To: user@example.com', 'Subject: first', '']",
		fmt.Sprintf("uidl ['1 %d.1', '2 %d.2']", v, v),
		"dele +OK message 1 deleted",
		"quit +OK pop.example.com POP3 server signing off",
	}
	got := strings.Split(strings.TrimSpace(string(out)), "\n")
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("python output:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if uids := ts.store.uids(ts.acct.ID); len(uids) != 1 || uids[0] != 2 {
		t.Fatalf("UIDs after python QUIT: %v", uids)
	}
}
