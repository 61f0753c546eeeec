package queue

import (
	"bytes"
	"context"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/mailroom/mailroom/auth"
	"github.com/mailroom/mailroom/internal/authtest"
	"github.com/mailroom/mailroom/mailauth"
	"github.com/mailroom/mailroom/smtpserver"
	"github.com/mailroom/mailroom/store"
)

func serveSMTP(t *testing.T, cfg smtpserver.Config) string {
	t.Helper()
	srv := smtpserver.New(cfg)
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

// The whole path: alice submits to bob@remote.test; the queue finds the
// second mailroom through the test resolver and delivers, DKIM-signed;
// the receiving side verifies the signature.
func TestEndToEndSubmissionToSecondMailroom(t *testing.T) {
	ctx := context.Background()
	const pw = "secret pw"
	hash := authtest.Credentials(pw)
	sender, _ := newStoreWith(t)
	if _, err := sender.CreateAccount(ctx, "alice@example.org", hash); err != nil {
		t.Fatal(err)
	}
	receiver, _ := newStoreWith(t)
	if _, err := receiver.CreateAccount(ctx, "bob@remote.test", hash); err != nil {
		t.Fatal(err)
	}
	res := newTestResolver()
	res.addMX("remote.test", "mx.remote.test")
	res.txt["example.org"] = []string{"v=spf1 ip4:127.0.0.1 -all"}
	res.txt["_dmarc.example.org"] = []string{"v=DMARC1; p=reject"}
	// The receiving mailroom checks SPF, DKIM and DMARC itself.
	mxAddr := serveSMTP(t, smtpserver.Config{Mode: smtpserver.ModeMX, Hostname: "mx.remote.test", Store: receiver,
		Auth: auth.NewAuthenticator(receiver, testLog, nil), Logger: testLog,
		Inbound:    mailauth.New(mailauth.Config{Hostname: "mx.remote.test", Resolver: res}),
		LookupAddr: func(context.Context, string) ([]string, error) { return nil, nil }})
	_, mxPort, _ := net.SplitHostPort(mxAddr)
	imapAddr := serveIMAP(t, receiver)
	keyDir := t.TempDir()
	recs, err := GenerateDKIM(keyDir, "example.org")
	if err != nil || len(recs) != 2 {
		t.Fatalf("GenerateDKIM: %v, %v", recs, err)
	}
	for _, r := range recs {
		res.txt[r.Name] = []string{r.Value}
	}
	cfg := fastConfig(sender, res, map[string]string{"mx.remote.test": mxPort})
	cfg.Signer = NewDKIMSigner(keyDir)
	q := startQueue(t, cfg)

	subAddr := serveSMTP(t, smtpserver.Config{Mode: smtpserver.ModeSubmission, Hostname: "mail.example.org", Store: sender,
		Auth: auth.NewAuthenticator(sender, testLog, nil), Logger: testLog, Queue: q,
		LookupAddr: func(context.Context, string) ([]string, error) { return nil, nil }})
	c, err := smtp.Dial(subAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Auth(sasl.NewPlainClient("", "alice@example.org", pw)); err != nil {
		t.Fatal(err)
	}
	if err := c.SendMail("alice@example.org", []string{"bob@remote.test", "alice@example.org"}, strings.NewReader(testMsg)); err != nil {
		t.Fatalf("submission: %v", err)
	}

	waitFor(t, "delivery to bob", func() bool { return len(inbox(t, receiver, "bob@remote.test")) == 1 })
	waitFor(t, "the queue to empty", queueEmpty(t, sender))
	if got := inbox(t, sender, "alice@example.org"); len(got) != 1 {
		t.Fatalf("local copy for alice: %d messages", len(got))
	}
	raw := fetchOverIMAP(t, imapAddr, "bob@remote.test", pw)
	// The receiver's trace fields: Return-Path, Received, then its
	// Authentication-Results (RFC 5321 §4.4), all in the header.
	ar, _, _ := bytes.Cut(raw, []byte("\r\n\r\n"))
	for _, want := range []string{"Authentication-Results: mx.remote.test;", "spf=pass", "dkim=pass", "header.d=example.org", "dmarc=pass"} {
		if !bytes.Contains(ar, []byte(want)) {
			t.Fatalf("receiver's Authentication-Results lacks %q:\n%s", want, raw)
		}
	}
	if !bytes.Contains(raw, []byte("Subject: hello")) || !bytes.Contains(raw, []byte("Hi Bob.")) {
		t.Fatalf("delivered message:\n%s", raw)
	}
	vs, err := dkim.VerifyWithOptions(bytes.NewReader(raw), &dkim.VerifyOptions{
		LookupTXT: func(d string) ([]string, error) { return res.LookupTXT(ctx, d) },
	})
	if err != nil || len(vs) != 2 {
		t.Fatalf("DKIM: %d verifications, %v", len(vs), err)
	}
	for _, v := range vs {
		if v.Err != nil || v.Domain != "example.org" {
			t.Fatalf("DKIM signature of %s: %v", v.Domain, v.Err)
		}
	}
}

func TestRetryAfterTemporaryFailure(t *testing.T) {
	st, _ := newStoreWith(t, "alice@example.org")
	sk := startSink(t, func(rcpt string, attempt int) error {
		if attempt == 1 {
			return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try later"}
		}
		return nil
	})
	res := newTestResolver()
	res.addMX("remote.test", "mx.remote.test")
	q := startQueue(t, fastConfig(st, res, map[string]string{"mx.remote.test": sk.port()}))
	if _, err := q.Enqueue(context.Background(), "alice@example.org", []string{"bob@remote.test"}, []byte(testMsg)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "delivery after a retry", func() bool { return len(sk.messages()) == 1 })
	waitFor(t, "the queue to empty", queueEmpty(t, st))
	if n := sk.attempts["bob@remote.test"]; n != 2 {
		t.Fatalf("%d RCPT attempts, want 2", n)
	}
	if got := inbox(t, st, "alice@example.org"); len(got) != 0 {
		t.Fatalf("DSN after a successful retry: %s", got[0])
	}
	if m := sk.messages()[0]; m.from != "alice@example.org" || !strings.Contains(m.data, "Hi Bob.") {
		t.Fatalf("sink got %+v", m)
	}
}

func TestPermanentFailureSendsOneDSN(t *testing.T) {
	st, _ := newStoreWith(t, "alice@example.org")
	sk := startSink(t, func(rcpt string, attempt int) error {
		if strings.HasPrefix(rcpt, "nobody@") {
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
		}
		return nil
	})
	res := newTestResolver()
	res.addMX("remote.test", "mx.remote.test")
	q := startQueue(t, fastConfig(st, res, map[string]string{"mx.remote.test": sk.port()}))
	if _, err := q.Enqueue(context.Background(), "alice@example.org", []string{"bob@remote.test", "nobody@remote.test"}, []byte(testMsg)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the queue to empty", queueEmpty(t, st))
	time.Sleep(100 * time.Millisecond) // a second DSN would come now
	dsns := inbox(t, st, "alice@example.org")
	if len(dsns) != 1 {
		t.Fatalf("%d DSNs, want 1", len(dsns))
	}
	d := string(dsns[0])
	for _, want := range []string{
		"Return-Path: <>", "multipart/report; report-type=delivery-status", "Content-Type: message/delivery-status",
		"Final-Recipient: rfc822; nobody@remote.test", "Action: failed", "Status: 5.1.1",
		"Diagnostic-Code: smtp; 550 5.1.1 no such user", "Content-Type: text/rfc822-headers", "Subject: hello",
	} {
		if !strings.Contains(d, want) {
			t.Fatalf("DSN lacks %q:\n%s", want, d)
		}
	}
	if strings.Contains(d, "Final-Recipient: rfc822; bob@") || strings.Contains(d, "Hi Bob.") {
		t.Fatalf("DSN names the delivered recipient or carries the body:\n%s", d)
	}
	if len(sk.messages()) != 1 {
		t.Fatalf("sink got %d messages", len(sk.messages()))
	}
}

func TestNullSenderIsNeverBounced(t *testing.T) {
	st, _ := newStoreWith(t, "alice@example.org")
	sk := startSink(t, func(string, int) error {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no"}
	})
	res := newTestResolver()
	res.addMX("remote.test", "mx.remote.test")
	q := startQueue(t, fastConfig(st, res, map[string]string{"mx.remote.test": sk.port()}))
	if _, err := q.Enqueue(context.Background(), "", []string{"bob@remote.test"}, []byte(testMsg)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the queue to empty", queueEmpty(t, st))
	if got := inbox(t, st, "alice@example.org"); len(got) != 0 {
		t.Fatalf("a bounce was bounced: %s", got[0])
	}
}

func TestNullMXAndUnknownDomainFailAtOnce(t *testing.T) {
	st, _ := newStoreWith(t, "alice@example.org")
	res := newTestResolver()
	res.mx["nullmx.test"] = []*net.MX{{Host: ".", Pref: 0}}
	q := startQueue(t, fastConfig(st, res, nil))
	if _, err := q.Enqueue(context.Background(), "alice@example.org", []string{"a@nullmx.test", "b@nxdomain.test"}, []byte(testMsg)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the queue to empty", queueEmpty(t, st))
	dsns := inbox(t, st, "alice@example.org")
	if len(dsns) != 1 || !bytes.Contains(dsns[0], []byte("null MX")) || !bytes.Contains(dsns[0], []byte("b@nxdomain.test")) {
		t.Fatalf("DSNs: %q", dsns)
	}
}

// MX hosts are tried in preference order; an unreachable first one falls
// through to the next; a domain without MX is its own host (A fallback).
func TestMXOrderAndFallback(t *testing.T) {
	st, _ := newStoreWith(t, "alice@example.org")
	sk := startSink(t, nil)
	dead, _ := net.Listen("tcp", "127.0.0.1:0")
	_, deadPort, _ := net.SplitHostPort(dead.Addr().String())
	dead.Close()
	res := newTestResolver()
	res.addMX("remote.test", "mx1.remote.test", "mx2.remote.test")
	res.a["plain.test"] = true
	q := startQueue(t, fastConfig(st, res, map[string]string{"mx1.remote.test": deadPort, "mx2.remote.test": sk.port(), "plain.test": sk.port()}))
	if _, err := q.Enqueue(context.Background(), "alice@example.org", []string{"bob@remote.test", "carol@remote.test", "dave@plain.test"}, []byte(testMsg)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the queue to empty", queueEmpty(t, st))
	msgs := sk.messages()
	if len(msgs) != 2 {
		t.Fatalf("%d transactions, want 2 (one per domain): %+v", len(msgs), msgs)
	}
	for _, m := range msgs {
		if strings.Contains(strings.Join(m.rcpts, ","), "remote.test") && len(m.rcpts) != 2 {
			t.Fatalf("remote.test recipients split over connections: %+v", m.rcpts)
		}
	}
}

// A restart while a message waits for a retry loses nothing and delivers
// nothing twice.
func TestRestartMidQueue(t *testing.T) {
	ctx := context.Background()
	_, path := newStoreWith(t, "alice@example.org")
	var accept atomic.Bool
	sk := startSink(t, func(string, int) error {
		if !accept.Load() {
			return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "later"}
		}
		return nil
	})
	res := newTestResolver()
	res.addMX("remote.test", "mx.remote.test")
	ports := map[string]string{"mx.remote.test": sk.port()}

	st1 := openStore(t, path)
	q1 := New(fastConfig(st1, res, ports))
	q1.Start()
	id, err := q1.Enqueue(ctx, "alice@example.org", []string{"bob@remote.test", "carol@remote.test"}, []byte(testMsg))
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a failed attempt", func() bool {
		it, err := st1.QueueItem(ctx, id)
		return err == nil && it.Recipients[0].Attempts >= 1 && it.Recipients[1].Attempts >= 1
	})
	if err := q1.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	st1.Close()

	accept.Store(true)
	st2 := openStore(t, path)
	it, err := st2.QueueItem(ctx, id)
	if err != nil || !it.Pending() {
		t.Fatalf("after restart: %+v, %v", it, err)
	}
	q2 := New(fastConfig(st2, res, ports))
	q2.Start()
	waitFor(t, "the queue to empty", queueEmpty(t, st2))
	q2.Shutdown(ctx)
	st2.Close()

	st3 := openStore(t, path)
	defer st3.Close()
	q3 := New(fastConfig(st3, res, ports))
	q3.Start()
	time.Sleep(150 * time.Millisecond)
	q3.Shutdown(ctx)
	if msgs := sk.messages(); len(msgs) != 1 || len(msgs[0].rcpts) != 2 {
		t.Fatalf("deliveries %+v, want exactly one with both recipients", msgs)
	}
	if got := inbox(t, st3, "alice@example.org"); len(got) != 0 {
		t.Fatalf("unexpected DSN")
	}
}

// Recipients that keep failing temporarily fail for good after Lifetime.
func TestExpiry(t *testing.T) {
	st, _ := newStoreWith(t, "alice@example.org")
	sk := startSink(t, func(string, int) error {
		return &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 4, 5}, Message: "busy"}
	})
	res := newTestResolver()
	res.addMX("remote.test", "mx.remote.test")
	cfg := fastConfig(st, res, map[string]string{"mx.remote.test": sk.port()})
	cfg.Lifetime = 200 * time.Millisecond
	q := startQueue(t, cfg)
	if _, err := q.Enqueue(context.Background(), "alice@example.org", []string{"bob@remote.test"}, []byte(testMsg)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the queue to empty", queueEmpty(t, st))
	dsns := inbox(t, st, "alice@example.org")
	if len(dsns) != 1 || !bytes.Contains(dsns[0], []byte("Status: 4.4.7")) || !bytes.Contains(dsns[0], []byte("gave up after")) {
		t.Fatalf("DSNs %q", dsns)
	}
	_ = store.RcptFailed
}
