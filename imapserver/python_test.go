package imapserver

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const pythonScript = `
import imaplib, sys
host, port, user, pw = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
M = imaplib.IMAP4(host, port)
M.login(user, pw)
typ, data = M.list()
assert typ == 'OK', data
assert any(b'"/" INBOX' in d for d in data), data
typ, data = M.create('Py/Sub')
assert typ == 'OK', data
typ, data = M.append('Py/Sub', '(\\Flagged)', None, b'Subject: from python\r\n\r\nbody\r\n')
assert typ == 'OK', data
typ, data = M.select('Py/Sub')
assert typ == 'OK' and data == [b'1'], data
typ, data = M.search(None, 'FLAGGED')
assert data == [b'1'], data
typ, data = M.fetch('1', '(BODY.PEEK[HEADER.FIELDS (SUBJECT)] FLAGS)')
assert typ == 'OK', data
assert b'Subject: from python' in data[0][1], data
typ, data = M.uid('STORE', '1', '+FLAGS', '(\\Deleted)')
assert typ == 'OK', data
typ, data = M.expunge()
assert data == [b'1'], data
typ, data = M.status('INBOX', '(MESSAGES UIDNEXT)')
assert typ == 'OK', data
M.close()
M.logout()
print('python ok')
`

// TestPythonImaplib runs Python's imaplib against the server.
func TestPythonImaplib(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Fatalf("python3 is required for this test: %v", err)
	}
	ts := startTestServer(t)
	script := filepath.Join(t.TempDir(), "client.py")
	if err := os.WriteFile(script, []byte(pythonScript), 0o600); err != nil {
		t.Fatal(err)
	}
	host, port, _ := strings.Cut(ts.addr, ":")
	// A hang guard: Python's start and its session under -race on a
	// loaded machine must fit in it.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, py, script, host, port, testUser, testPass).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "python ok") {
		t.Fatalf("python: %v\n%s", err, out)
	}
}
