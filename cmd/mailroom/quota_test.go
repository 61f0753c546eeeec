package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestServeQuota: [quota] reaches both servers. With a limit of one
// message, the second delivery is refused at RCPT with 452 4.2.2, IMAP
// GETQUOTA reports the limit, and an override lifts it for one account.
func TestServeQuota(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := `data = "d"
hostname = "mx.example.test"
smtp = "127.0.0.1:0"
submission = ""
pop3 = ""
imap = "127.0.0.1:0"
smtps = ""
pop3s = ""
imaps = ""
[quota]
messages = 1
[quota.account."Free@Example.test"]
messages = 0
`
	if err := os.WriteFile(filepath.Join(dir, "m.toml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"dana@example.test", "free@example.test"} {
		if _, err := runCLI(t, dir, "pw\n", "user", "add", u, "--password-stdin", "--config", "m.toml"); err != nil {
			t.Fatal(err)
		}
	}
	p := startServe(t, dir, "--config", "m.toml")
	smtpAddr := p.addr(t, "smtp")
	send := func(to string) error {
		msg := "From: x@remote.test\r\nTo: " + to + "\r\nSubject: hi\r\n\r\nhello\r\n"
		return sendMailNoTLS(smtpAddr, "x@remote.test", []string{to}, []byte(msg))
	}
	for i := range 2 {
		if err := send("free@example.test"); err != nil {
			t.Fatalf("delivery %d to the unlimited account: %v", i+1, err)
		}
	}
	if err := send("dana@example.test"); err != nil {
		t.Fatalf("first delivery: %v", err)
	}
	if err := send("dana@example.test"); err == nil || !strings.Contains(err.Error(), "452") {
		t.Fatalf("second delivery: %v, want 452", err)
	}

	c, err := net.Dial("tcp", p.addr(t, "imap"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	br := bufio.NewReader(c)
	br.ReadString('\n')
	fmt.Fprintf(c, "a login dana@example.test pw\r\nb getquota \"\"\r\n")
	var got []string
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("read: %v (have %q)", err, got)
		}
		got = append(got, line)
		if strings.HasPrefix(line, "b ") {
			break
		}
	}
	if !strings.Contains(strings.Join(got, ""), `* QUOTA "" (MESSAGE 1 1)`) {
		t.Fatalf("GETQUOTA: %q", got)
	}

	// With --config, and with only --data: then the config serve runs
	// with is used (before, --data alone showed "unlimited").
	for _, args := range [][]string{{"--config", "m.toml"}, {"--data", "d"}} {
		out, err := runCLI(t, dir, "", append([]string{"user", "list", "--usage"}, args...)...)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"dana@example.test  1/1 ", "free@example.test  2/unlimited "} {
			if !strings.Contains(out, want) {
				t.Errorf("user list --usage %v lacks %q:\n%s", args, want, out)
			}
		}
	}
	cmd := exec.Command(mailroomBinary(t), "user", "list", "--usage", "--data", "d")
	cmd.Dir = dir
	var errb strings.Builder
	cmd.Stderr = &errb
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	if want := "quota limits from " + filepath.Join(dir, "m.toml"); !strings.Contains(errb.String(), want) {
		t.Errorf("user list --usage --data: stderr %q, want %q", errb.String(), want)
	}
}
