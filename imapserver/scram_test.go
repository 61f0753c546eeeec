package imapserver

import (
	"testing"

	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/xdg-go/scram"
)

// scramClient adapts xdg-go/scram's client conversation to go-sasl's
// sasl.Client, which go-imap's client drives.
type scramClient struct {
	conv *scram.ClientConversation
	mech string
}

func (c *scramClient) Start() (string, []byte, error) {
	first, err := c.conv.Step("")
	return c.mech, []byte(first), err
}

func (c *scramClient) Next(challenge []byte) ([]byte, error) {
	if c.conv.Done() {
		return []byte{}, nil
	}
	resp, err := c.conv.Step(string(challenge))
	return []byte(resp), err
}

// TestSCRAMWithGoIMAP logs in with SCRAM-SHA-256 from an independent
// client (go-imap driving xdg-go/scram) over STARTTLS, with -PLUS
// offered too (scram_plus on).
func TestSCRAMWithGoIMAP(t *testing.T) {
	srvTLS, cliTLS := testTLS(t)
	ts := startTestServer(t, withTLS(srvTLS, false), func(c *Config) { c.Auth.WithSCRAMPlus(true) })
	c, err := imapclient.DialStartTLS(ts.addr, &imapclient.Options{TLSConfig: cliTLS})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if !c.Caps().Has("AUTH=SCRAM-SHA-256") || !c.Caps().Has("AUTH=SCRAM-SHA-256-PLUS") {
		t.Fatalf("caps %v", c.Caps())
	}
	bad, _ := scram.SHA256.NewClient(testUser, "wrong", "")
	if err := c.Authenticate(&scramClient{conv: bad.NewConversation(), mech: "SCRAM-SHA-256"}); err == nil {
		t.Fatal("SCRAM with a wrong password succeeded")
	}
	good, _ := scram.SHA256.NewClient(testUser, testPass, "")
	conv := good.NewConversation()
	if err := c.Authenticate(&scramClient{conv: conv, mech: "SCRAM-SHA-256"}); err != nil {
		t.Fatalf("SCRAM: %v", err)
	}
	if !conv.Valid() {
		t.Error("client did not verify the server signature")
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
}
