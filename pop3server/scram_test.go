package pop3server

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/xdg-go/scram"
)

// TestSCRAMWithIndependentClient logs in with SCRAM-SHA-256 driven by
// xdg-go/scram's client (RFC 5034 AUTH exchange).
func TestSCRAMWithIndependentClient(t *testing.T) {
	ts := newTestServer(t, nil)
	run := func(pass string) string {
		c := ts.dial(t)
		cl, _ := scram.SHA256.NewClient(testUser, pass, "")
		conv := cl.NewConversation()
		first, _ := conv.Step("")
		line := c.cmd("AUTH SCRAM-SHA-256 " + base64.StdEncoding.EncodeToString([]byte(first)))
		for strings.HasPrefix(line, "+ ") {
			ch, err := base64.StdEncoding.DecodeString(line[2:])
			if err != nil {
				t.Fatal(err)
			}
			resp := ""
			if !conv.Done() {
				if resp, err = conv.Step(string(ch)); err != nil {
					t.Fatalf("client: %v", err)
				}
			}
			line = c.cmd(base64.StdEncoding.EncodeToString([]byte(resp)))
		}
		if strings.HasPrefix(line, "+OK") && !conv.Valid() {
			t.Error("server signature not verified")
		}
		return line
	}
	if got := run("wrong"); !strings.HasPrefix(got, "-ERR [AUTH]") {
		t.Errorf("wrong password: %q", got)
	}
	if got := run(testPass); got != "+OK maildrop locked and ready" {
		t.Errorf("SCRAM login: %q", got)
	}
}
