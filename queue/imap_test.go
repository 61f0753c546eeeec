package queue

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"

	"github.com/mailroom/mailroom/auth"
	"github.com/mailroom/mailroom/imapserver"
	"github.com/mailroom/mailroom/store"
)

func serveIMAP(t *testing.T, st store.Store) string {
	t.Helper()
	srv := imapserver.New(imapserver.Config{Hostname: "imap.remote.test", Store: st, Auth: auth.NewAuthenticator(st, testLog, nil), Logger: testLog})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return l.Addr().String()
}

// fetchOverIMAP logs in as user and returns BODY[] of INBOX message 1.
func fetchOverIMAP(t *testing.T, addr, user, pass string) []byte {
	t.Helper()
	c, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Authenticate(sasl.NewPlainClient("", user, pass)); err != nil {
		t.Fatalf("IMAP authenticate: %v", err)
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	sect := &imap.FetchItemBodySection{Peek: true}
	msgs, err := c.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{sect}}).Collect()
	if err != nil || len(msgs) != 1 {
		t.Fatalf("IMAP fetch: %d messages, %v", len(msgs), err)
	}
	return msgs[0].FindBodySection(sect)
}
