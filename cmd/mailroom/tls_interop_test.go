package main

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

// pythonTLSClient logs in over every TLS path with Python's standard
// library, verifying the self-signed certificate against its file.
const pythonTLSClient = `
import imaplib, poplib, smtplib, ssl, sys
ca, user, pw = sys.argv[1:4]
addr = dict(a.split("=", 1) for a in sys.argv[4:])
ctx = ssl.create_default_context(cafile=ca)
def hp(name):
    h, p = addr[name].rsplit(":", 1)
    return h, int(p)

h, p = hp("submission")
s = smtplib.SMTP(h, p, timeout=10)
s.starttls(context=ctx)
s.login(user, pw)
s.sendmail(user, [user], b"Subject: via starttls\r\n\r\nhi\r\n")
s.quit()
h, p = hp("smtps")
s = smtplib.SMTP_SSL(h, p, context=ctx, timeout=10)
s.login(user, pw)
s.quit()

h, p = hp("pop3")
c = poplib.POP3(h, p, timeout=10)
c.stls(context=ctx)
c.user(user); c.pass_(pw)
n, _ = c.stat()
assert n == 1, n
c.quit()
h, p = hp("pop3s")
c = poplib.POP3_SSL(h, p, context=ctx, timeout=10)
c.user(user); c.pass_(pw)
c.quit()

h, p = hp("imap")
m = imaplib.IMAP4(h, p)
m.starttls(ssl_context=ctx)
m.login(user, pw)
typ, data = m.select("INBOX")
assert typ == "OK" and data[0] == b"1", (typ, data)
m.logout()
h, p = hp("imaps")
m = imaplib.IMAP4_SSL(h, p, ssl_context=ctx)
m.login(user, pw)
m.logout()
print("all ok")
`

// TestTLSInteropPythonAndOpenSSL runs the real binary with every listener
// and the zero-configuration certificate, and connects with Python's
// smtplib/poplib/imaplib (STARTTLS, STLS and implicit TLS) and with
// "openssl s_client -starttls smtp|pop3|imap".
func TestTLSInteropPythonAndOpenSSL(t *testing.T) {
	t.Parallel()
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Fatal("python3 is required for this test (CI installs it)")
	}
	dir := t.TempDir()
	if _, err := runCLI(t, dir, "s3cret\n", "user", "add", "alice@example.test", "--password-stdin"); err != nil {
		t.Fatal(err)
	}
	p := startServe(t, dir, append([]string{"--hostname", "mail.example.test"}, loopbackPorts...)...)
	ca := filepath.Join(dir, "mailroom-data", "tls", "selfsigned.crt")
	script := filepath.Join(dir, "tls.py")
	if err := os.WriteFile(script, []byte(pythonTLSClient), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{script, ca, "alice@example.test", "s3cret"}
	for _, proto := range []string{"submission", "smtps", "pop3", "pop3s", "imap", "imaps"} {
		args = append(args, proto+"="+p.addr(t, proto))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, py, args...).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "all ok") {
		t.Fatalf("python: %v\n%s\nserver log:\n%s", err, out, p.log())
	}

	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Fatal("openssl is required for this test")
	}
	for proto, listener := range map[string]string{"smtp": "smtp", "pop3": "pop3", "imap": "imap"} {
		host, port, _ := net.SplitHostPort(p.addr(t, listener))
		cmd := exec.CommandContext(ctx, openssl, "s_client", "-starttls", proto, "-connect", net.JoinHostPort(host, port),
			"-CAfile", ca, "-verify_return_error", "-servername", "mail.example.test", "-brief")
		cmd.Stdin = strings.NewReader("")
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "Verification: OK") {
			t.Errorf("openssl s_client -starttls %s: %v\n%s", proto, err, out)
		}
	}
}
