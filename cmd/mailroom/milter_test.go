package main

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	gomilter "github.com/emersion/go-milter"
)

// rejectingMilter refuses every message at its end with its own reply.
type rejectingMilter struct{ gomilter.NoOpMilter }

func (rejectingMilter) Body(m *gomilter.Modifier) (gomilter.Response, error) {
	return gomilter.NewResponseStr('y', "554 5.7.1 Filtered by the test milter"), nil
}

// TestServeMilterAndGreylist: [[milters]] and [greylist] reach the MX
// listener of a real serve process: the first attempt is greylisted
// (451), the retry (delay 0) reaches the milter, whose own reply the
// client gets; the submission listener has no milter.
func TestServeMilterAndGreylist(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &gomilter.Server{NewMilter: func() gomilter.Milter { return rejectingMilter{} }}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })

	dir := t.TempDir()
	cfg := `data = "d"
hostname = "mx.example.test"
smtp = "127.0.0.1:0"
submission = ""
pop3 = ""
imap = ""
smtps = ""
pop3s = ""
imaps = ""
[[milters]]
address = "inet:` + l.Addr().String() + `"
[greylist]
enabled = true
delay = "0s"
`
	if err := os.WriteFile(filepath.Join(dir, "m.toml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := runCLI(t, dir, "pw\n", "user", "add", "dana@example.test", "--password-stdin", "--config", "m.toml"); err != nil {
		t.Fatal(err)
	}
	p := startServe(t, dir, "--config", "m.toml")
	addr := p.addr(t, "smtp")
	msg := []byte("From: x@remote.test\r\nTo: dana@example.test\r\nSubject: hi\r\n\r\nhello\r\n")
	err = sendMailNoTLS(addr, "x@remote.test", []string{"dana@example.test"}, msg)
	if err == nil || !strings.Contains(err.Error(), "451") || !strings.Contains(err.Error(), "Greylisted") {
		t.Fatalf("first attempt: %v, want 451 Greylisted", err)
	}
	err = sendMailNoTLS(addr, "x@remote.test", []string{"dana@example.test"}, msg)
	if err == nil || !strings.Contains(err.Error(), "554") || !strings.Contains(err.Error(), "Filtered by the test milter") {
		t.Fatalf("retry: %v, want the milter's 554", err)
	}
}
