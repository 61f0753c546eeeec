package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// TestServeSpamLearning: with [rspamd] controller set, a message a user
// moves into Junk over IMAP reaches the controller's /learnspam with the
// configured password, and the metric counts it.
func TestServeSpamLearning(t *testing.T) {
	t.Parallel()
	type req struct{ path, password, body string }
	got := make(chan req, 10)
	ctrl := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- req{r.URL.Path, r.Header.Get("Password"), string(b)}
		io.WriteString(w, `{"success":true}`)
	}))
	t.Cleanup(ctrl.Close)

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
[rspamd]
controller = "` + ctrl.URL + `"
password = "q1w2e3"
`
	if err := os.WriteFile(filepath.Join(dir, "m.toml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := runCLI(t, dir, "pw\n", "user", "add", "dana@example.test", "--password-stdin", "--config", "m.toml"); err != nil {
		t.Fatal(err)
	}
	p := startServe(t, dir, "--config", "m.toml")
	if err := sendMailNoTLS(p.addr(t, "smtp"), "x@remote.test", []string{"dana@example.test"},
		[]byte("From: x@remote.test\r\nTo: dana@example.test\r\nSubject: pills\r\n\r\ncheap\r\n")); err != nil {
		t.Fatal(err)
	}
	c, err := imapclient.DialInsecure(p.addr(t, "imap"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login("dana@example.test", "pw").Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Move(imap.UIDSetNum(1), "Junk").Wait(); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-got:
		if r.path != "/learnspam" || r.password != "q1w2e3" {
			t.Fatalf("controller got %s with password %q, want /learnspam with q1w2e3", r.path, r.password)
		}
		// The stored message, with the MX's trace fields on top.
		if want := "Subject: pills\r\n\r\ncheap\r\n"; len(r.body) < len(want) || r.body[len(r.body)-len(want):] != want {
			t.Fatalf("body %q does not end with the message", r.body)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("no submission to the controller within 30 s; log:\n%s", p.log())
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		m := scrapeMetrics(t, http.DefaultClient, "http://"+p.addr(t, "http")+"/metrics")
		if m["mailroom_spam_learn_total{kind=spam,outcome=learned}"] == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("mailroom_spam_learn_total{kind=spam,outcome=learned} = %v, want 1", m["mailroom_spam_learn_total{kind=spam,outcome=learned}"])
		}
		time.Sleep(50 * time.Millisecond)
	}
}
