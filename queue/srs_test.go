package queue

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/mailroom/mailroom/auth"
	"github.com/mailroom/mailroom/delivery"
	"github.com/mailroom/mailroom/internal/srs"
	"github.com/mailroom/mailroom/smtpserver"
)

type srsAliases map[string][]string

func (m srsAliases) AliasTargets(key string) ([]string, bool) { t, ok := m[key]; return t, ok }
func (m srsAliases) AliasDomain(domain string) bool {
	for k := range m {
		if strings.HasSuffix(k, "@"+domain) {
			return true
		}
	}
	return false
}

// testClock is a clock the test moves.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *testClock) add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// sendOne sends one message over SMTP and returns the error of the
// first command that failed (a *smtp.SMTPError for a refusal).
func sendOne(t *testing.T, addr, from, to string) error {
	t.Helper()
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("client.test"); err != nil {
		t.Fatal(err)
	}
	if err := c.Mail(from, nil); err != nil {
		return err
	}
	if err := c.Rcpt(to, nil); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write([]byte("From: x@origin.test\r\nSubject: fwd\r\n\r\nforwarded\r\n")); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

// The whole SRS round trip through real SMTP: mail from origin.test to
// a local alias that forwards to remote.test leaves with an SRS0 sender
// in our domain; a bounce to that address is accepted at RCPT and goes
// back to the original sender; a forged or expired one is refused with
// 550 5.1.1.
func TestSRSForwardAndBounce(t *testing.T) {
	t.Parallel()
	st, _ := newStoreWith(t, "alice@example.org")
	sk := startSink(t, nil)
	res := newTestResolver()
	res.addMX("remote.test", "mx.remote.test")
	res.addMX("origin.test", "mx.remote.test")
	clock := &testClock{now: time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)}
	rw, err := srs.New("mail.example.org", [][]byte{[]byte("a key of at least sixteen")}, 0, clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	q := New(fastConfig(st, res, map[string]string{"mx.remote.test": sk.port()}))
	d, err := delivery.New(delivery.Config{Store: st, Queue: q, Hostname: "mail.example.org", Logger: testLog, SRS: rw,
		Aliases: srsAliases{"fwd@example.org": {"far@remote.test", "alice@example.org"}}})
	if err != nil {
		t.Fatal(err)
	}
	q.SetDeliverer(d)
	q.Start()
	t.Cleanup(func() { q.Shutdown(context.Background()) })
	mx := serveSMTP(t, smtpserver.Config{Mode: smtpserver.ModeMX, Hostname: "mail.example.org", Store: st, Deliverer: d,
		Auth: auth.NewAuthenticator(st, testLog, nil), Logger: testLog,
		LookupAddr: func(context.Context, string) ([]string, error) { return nil, nil }})

	if err := sendOne(t, mx, "Sender@Origin.test", "fwd@example.org"); err != nil {
		t.Fatalf("to the alias: %v", err)
	}
	waitFor(t, "the forwarded copy", func() bool { return len(sk.messages()) == 1 })
	fwd := sk.messages()[0]
	if !strings.HasPrefix(fwd.from, "SRS0=") || !strings.HasSuffix(fwd.from, "@mail.example.org") || len(fwd.rcpts) != 1 || fwd.rcpts[0] != "far@remote.test" {
		t.Fatalf("forwarded as MAIL FROM %q to %q, want an SRS0 sender", fwd.from, fwd.rcpts)
	}
	if n := len(inbox(t, st, "alice@example.org")); n != 1 {
		t.Fatalf("alice has %d messages, want the local copy", n)
	}

	// The remote side bounces to the SRS address (null sender).
	if err := sendOne(t, mx, "", fwd.from); err != nil {
		t.Fatalf("bounce to %s: %v", fwd.from, err)
	}
	waitFor(t, "the returned bounce", func() bool { return len(sk.messages()) == 2 })
	back := sk.messages()[1]
	if back.from != "" || len(back.rcpts) != 1 || back.rcpts[0] != "Sender@Origin.test" {
		t.Fatalf("bounce went as MAIL FROM %q to %q, want <> to Sender@Origin.test", back.from, back.rcpts)
	}

	// A forged hash and an expired address are unknown users.
	at := strings.IndexByte(fwd.from, '@')
	a, err := srs.Parse(fwd.from[:at])
	if err != nil {
		t.Fatal(err)
	}
	forgedHash := "AAAA"
	if strings.EqualFold(a.Hash, forgedHash) {
		forgedHash = "BBBB"
	}
	forged := []string{
		strings.Replace(fwd.from, a.Hash, forgedHash, 1),
		strings.Replace(fwd.from, "=Sender@", "=victim@", 1),
		"SRS0=abcd=ZZ=origin.test=x@mail.example.org",
		"SRS0=garbage@mail.example.org",
	}
	expired := fwd.from
	for _, addr := range forged {
		assertUnknownUser(t, sendOne(t, mx, "", addr), addr)
	}
	clock.add(22 * 24 * time.Hour)
	assertUnknownUser(t, sendOne(t, mx, "", expired), expired)
	time.Sleep(100 * time.Millisecond)
	if n := len(sk.messages()); n != 2 {
		t.Fatalf("sink got %d messages, want 2: a refused bounce went out", n)
	}
}

// A forwarded copy the remote side refuses: the queue's DSN goes to the
// SRS sender, which resolves to the original sender in another domain.
func TestSRSQueueDSNReturnsToOriginalSender(t *testing.T) {
	t.Parallel()
	st, _ := newStoreWith(t)
	sk := startSink(t, func(rcpt string, _ int) error {
		if rcpt == "dead@remote.test" {
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
		}
		return nil
	})
	res := newTestResolver()
	res.addMX("remote.test", "mx.remote.test")
	res.addMX("origin.test", "mx.remote.test")
	rw, err := srs.New("mail.example.org", [][]byte{[]byte("a key of at least sixteen")}, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	q := New(fastConfig(st, res, map[string]string{"mx.remote.test": sk.port()}))
	d, err := delivery.New(delivery.Config{Store: st, Queue: q, Hostname: "mail.example.org", Logger: testLog, SRS: rw,
		Aliases: srsAliases{"dead@example.org": {"dead@remote.test"}}})
	if err != nil {
		t.Fatal(err)
	}
	q.SetDeliverer(d)
	q.Start()
	t.Cleanup(func() { q.Shutdown(context.Background()) })
	mx := serveSMTP(t, smtpserver.Config{Mode: smtpserver.ModeMX, Hostname: "mail.example.org", Store: st, Deliverer: d,
		Auth: auth.NewAuthenticator(st, testLog, nil), Logger: testLog,
		LookupAddr: func(context.Context, string) ([]string, error) { return nil, nil }})
	if err := sendOne(t, mx, "sender@origin.test", "dead@example.org"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the DSN", func() bool { return len(sk.messages()) == 1 })
	dsn := sk.messages()[0]
	if dsn.from != "" || len(dsn.rcpts) != 1 || dsn.rcpts[0] != "sender@origin.test" || !strings.Contains(dsn.data, "Final-Recipient: rfc822; dead@remote.test") {
		t.Fatalf("DSN MAIL FROM %q to %q:\n%s", dsn.from, dsn.rcpts, dsn.data)
	}
}

func assertUnknownUser(t *testing.T, err error, addr string) {
	t.Helper()
	var se *smtp.SMTPError
	if !errors.As(err, &se) || se.Code != 550 || se.EnhancedCode != (smtp.EnhancedCode{5, 1, 1}) {
		t.Fatalf("RCPT %s: %v, want 550 5.1.1", addr, err)
	}
}
