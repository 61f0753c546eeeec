package smtpserver

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// pythonClient logs in with AUTH LOGIN (with and without an initial
// response) and AUTH PLAIN, sends one message each time and checks the
// replies. It prints one line per message and exits non-zero on failure.
const pythonClient = `
import smtplib, sys
from email.message import EmailMessage

host, port, user, password, rcpt = sys.argv[1:]
variants = [("LOGIN", False), ("LOGIN", True), ("PLAIN", True)]
for mech, initial in variants:
    s = smtplib.SMTP(host, int(port), timeout=10)
    s.ehlo("python.example")
    assert s.has_extn("auth") and "LOGIN" in s.esmtp_features["auth"], s.esmtp_features
    s.user, s.password = user, password
    code, resp = s.auth(mech, getattr(s, "auth_" + mech.lower()), initial_response_ok=initial)
    assert code == 235, (code, resp)
    msg = EmailMessage()
    msg["From"] = user
    msg["To"] = rcpt
    msg["Subject"] = "via %s initial=%s" % (mech, initial)
    msg.set_content("Hello from smtplib.\n")
    assert s.send_message(msg) == {}
    code, resp = s.noop()
    assert code == 250, (code, resp)
    # The reply to the end of data names the queue id.
    s.mail(user)
    s.rcpt(rcpt)
    code, resp = s.data(msg.as_bytes().replace(b"\n", b"\r\n"))
    assert code == 250 and b"queued as" in resp, (code, resp)
    print("sent", mech, initial, resp.decode())
    s.quit()
`

func TestPythonSmtplib(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Fatal("python3 is required for this test (CI installs it)")
	}
	h := newHarness(t, ModeSubmission)
	script := filepath.Join(t.TempDir(), "client.py")
	if err := os.WriteFile(script, []byte(pythonClient), 0o600); err != nil {
		t.Fatal(err)
	}
	host, port, _ := net.SplitHostPort(h.addr)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, py, script, host, port, "alice@example.com", testPassword, "bob@example.com").CombinedOutput()
	if err != nil {
		t.Fatalf("python client failed: %v\n%s", err, out)
	}
	if n := strings.Count(string(out), "sent "); n != 3 {
		t.Fatalf("python sent %d rounds, want 3:\n%s", n, out)
	}
	msgs := h.inbox("bob@example.com")
	if len(msgs) != 6 {
		t.Fatalf("bob has %d messages, want 6", len(msgs))
	}
	for _, m := range msgs {
		if !strings.Contains(string(m), "Hello from smtplib.\r\n") || !strings.Contains(string(m), " with ESMTPA id ") {
			t.Errorf("unexpected message:\n%s", m)
		}
	}
}
