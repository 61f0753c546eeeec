package smtpserver

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/xdg-go/scram"
)

// scramAuth runs AUTH mech with an xdg-go/scram conversation and returns
// the final reply line.
func (c *client) scramAuth(mech string, conv *scram.ClientConversation) string {
	c.t.Helper()
	first, err := conv.Step("")
	if err != nil {
		c.t.Fatal(err)
	}
	c.send("AUTH " + mech + " " + base64.StdEncoding.EncodeToString([]byte(first)) + "\r\n")
	for {
		lines := c.reply()
		last := lines[len(lines)-1]
		if !strings.HasPrefix(last, "334 ") {
			return last
		}
		ch, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(last, "334 "))
		if err != nil {
			c.t.Fatalf("challenge %q: %v", last, err)
		}
		resp := ""
		if !conv.Done() {
			if resp, err = conv.Step(string(ch)); err != nil {
				c.send("*\r\n")
				continue
			}
		}
		c.send(base64.StdEncoding.EncodeToString([]byte(resp)) + "\r\n")
	}
}

// TestSCRAMPlusAfterSTARTTLS authenticates with SCRAM-SHA-256-PLUS
// (tls-exporter channel binding) using xdg-go/scram's client, with
// scram_plus on.
func TestSCRAMPlusAfterSTARTTLS(t *testing.T) {
	srvTLS, cliTLS := testTLS(t)
	h := newHarness(t, ModeSubmission, noPlaintext, func(c *Config) {
		c.TLSConfig = srvTLS
		c.Auth.WithSCRAMPlus(true)
	})
	c := h.dial()
	c.cmd("EHLO client.example", "250 ")
	st := c.startTLS(cliTLS)
	ehlo := c.cmd("EHLO client.example", "250 ")
	if !hasLine(ehlo, "AUTH PLAIN LOGIN SCRAM-SHA-256 SCRAM-SHA-256-PLUS") {
		t.Fatalf("EHLO %q", ehlo)
	}
	cb, err := scram.NewTLSExporterBinding(&st)
	if err != nil {
		t.Fatal(err)
	}
	cl, _ := scram.SHA256.NewClient("alice@example.com", "wrong", "")
	if got := c.scramAuth("SCRAM-SHA-256-PLUS", cl.NewConversationWithChannelBinding(cb)); !strings.HasPrefix(got, "535 5.7.8") {
		t.Errorf("wrong password: %q", got)
	}
	cl, _ = scram.SHA256.NewClient("alice@example.com", testPassword, "")
	conv := cl.NewConversationWithChannelBinding(cb)
	if got := c.scramAuth("SCRAM-SHA-256-PLUS", conv); !strings.HasPrefix(got, "235 2.7.0") {
		t.Fatalf("SCRAM-SHA-256-PLUS: %q", got)
	}
	if !conv.Valid() {
		t.Error("server signature not verified")
	}
	c.sendMail("alice@example.com", []string{"bob@example.com"}, simpleMessage)
}

// TestSCRAMUnknownUserLikeWrongPassword: same reply for both.
func TestSCRAMUnknownUserLikeWrongPassword(t *testing.T) {
	h := newHarness(t, ModeSubmission)
	c := h.dial()
	c.cmd("EHLO client.example", "250 ")
	var replies []string
	for _, user := range []string{"alice@example.com", "nobody@example.com"} {
		cl, _ := scram.SHA256.NewClient(user, "wrong", "")
		replies = append(replies, c.scramAuth("SCRAM-SHA-256", cl.NewConversation()))
	}
	if replies[0] != replies[1] || !strings.HasPrefix(replies[0], "535 5.7.8") {
		t.Errorf("wrong password %q, unknown user %q", replies[0], replies[1])
	}
}
