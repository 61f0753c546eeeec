package smtpserver

import (
	"context"
	"log/slog"
	"net"
	"net/textproto"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gomilter "github.com/emersion/go-milter"

	"github.com/mailroom/mailroom/delivery"
	"github.com/mailroom/mailroom/milter"
)

// fakeMilter is a milter (go-milter's server side) whose answers a test
// scripts; it records what it was shown.
type fakeMilter struct {
	mu sync.Mutex
	// Answers per stage; nil is continue. rcpt answers per address.
	connect, helo, mail gomilter.Response
	rcpt                map[string]gomilter.Response
	// eom runs at the end of the message; nil accepts.
	eom func(m *gomilter.Modifier) (gomilter.Response, error)

	// Seen.
	conns               int
	host, heloName      string
	from                string
	mailMacros          map[string]string
	rcpts               []string
	headers             [][2]string
	body                []byte
	eomMacros           map[string]string
	aborts, eoms, mails int
}

type fakeSession struct {
	gomilter.NoOpMilter
	f *fakeMilter
}

func (s fakeSession) Connect(host, family string, port uint16, addr net.IP, m *gomilter.Modifier) (gomilter.Response, error) {
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	s.f.conns++
	s.f.host = host
	return orContinue(s.f.connect), nil
}

func (s fakeSession) Helo(name string, m *gomilter.Modifier) (gomilter.Response, error) {
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	s.f.heloName = name
	return orContinue(s.f.helo), nil
}

func (s fakeSession) MailFrom(from string, m *gomilter.Modifier) (gomilter.Response, error) {
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	s.f.mails++
	s.f.from = from
	s.f.mailMacros = m.Macros
	s.f.rcpts, s.f.headers, s.f.body = nil, nil, nil
	return orContinue(s.f.mail), nil
}

func (s fakeSession) RcptTo(to string, m *gomilter.Modifier) (gomilter.Response, error) {
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	s.f.rcpts = append(s.f.rcpts, to)
	return orContinue(s.f.rcpt[to]), nil
}

func (s fakeSession) Header(name, value string, m *gomilter.Modifier) (gomilter.Response, error) {
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	s.f.headers = append(s.f.headers, [2]string{name, value})
	return gomilter.RespContinue, nil
}

func (s fakeSession) Headers(h textproto.MIMEHeader, m *gomilter.Modifier) (gomilter.Response, error) {
	return gomilter.RespContinue, nil
}

func (s fakeSession) BodyChunk(chunk []byte, m *gomilter.Modifier) (gomilter.Response, error) {
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	s.f.body = append(s.f.body, chunk...)
	return gomilter.RespContinue, nil
}

func (s fakeSession) Body(m *gomilter.Modifier) (gomilter.Response, error) {
	s.f.mu.Lock()
	s.f.eoms++
	s.f.eomMacros = m.Macros
	eom := s.f.eom
	s.f.mu.Unlock()
	if eom == nil {
		return gomilter.RespAccept, nil
	}
	return eom(m)
}

func (s fakeSession) Abort(m *gomilter.Modifier) error {
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	s.f.aborts++
	return nil
}

func orContinue(r gomilter.Response) gomilter.Response {
	if r == nil {
		return gomilter.RespContinue
	}
	return r
}

// startFakeMilter serves f on 127.0.0.1:0 and returns its
// "inet:host:port" address.
func startFakeMilter(t *testing.T, f *fakeMilter) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &gomilter.Server{
		NewMilter: func() gomilter.Milter { return fakeSession{f: f} },
		Actions:   gomilter.OptAddHeader | gomilter.OptChangeHeader | gomilter.OptQuarantine,
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return "inet:" + l.Addr().String()
}

// milterHarness is an MX harness whose listener has the milters cfgs.
func milterHarness(t *testing.T, cfgs ...milter.Config) *harness {
	t.Helper()
	ch, err := milter.NewChain(cfgs, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	return newHarness(t, ModeMX, func(c *Config) { c.Filter = ch })
}

func (f *fakeMilter) snapshot() fakeMilter {
	f.mu.Lock()
	defer f.mu.Unlock()
	return fakeMilter{
		conns: f.conns, host: f.host, heloName: f.heloName, from: f.from, mailMacros: f.mailMacros,
		rcpts: append([]string(nil), f.rcpts...), headers: append([][2]string(nil), f.headers...),
		body: append([]byte(nil), f.body...), eomMacros: f.eomMacros, aborts: f.aborts, eoms: f.eoms, mails: f.mails,
	}
}

// junkCount is the number of messages in the Junk mailbox of email.
func (h *harness) junkCount(email string) int {
	h.t.Helper()
	ctx := context.Background()
	a, err := h.full.AccountByEmail(ctx, email)
	if err != nil {
		h.t.Fatal(err)
	}
	junk, err := h.full.MailboxByName(ctx, a.ID, "Junk")
	if err != nil {
		h.t.Fatal(err)
	}
	st, err := h.full.MailboxStatus(ctx, junk.Ref())
	if err != nil {
		h.t.Fatal(err)
	}
	return int(st.Messages)
}

const milterMessage = "From: Sender <s@sender.test>\r\nTo: alice@example.com\r\nSubject: hi\r\nX-Remove-Me: yes\r\n\r\nHello Alice.\r\n"

// Every stage reaches the milter with what the client sent, and the
// header changes it asks for at the end of the message are in the stored
// copy: add (at the end of the header), insert (at the top), change, and
// delete (change to empty).
func TestMilterStagesAndHeaderChanges(t *testing.T) {
	t.Parallel()
	f := &fakeMilter{eom: func(m *gomilter.Modifier) (gomilter.Response, error) {
		m.AddHeader("X-Filter", "checked\n\tfolded")
		m.InsertHeader(0, "X-Top", "first")
		m.ChangeHeader(1, "Subject", "[tagged] hi")
		m.ChangeHeader(1, "X-Remove-Me", "")
		return gomilter.RespAccept, nil
	}}
	h := milterHarness(t, milter.Config{Address: startFakeMilter(t, f)})
	c := h.dial()
	c.cmd("EHLO client.sender.test", "250 ")
	final := c.sendMail("s@sender.test", []string{"alice@example.com"}, milterMessage)
	id := strings.TrimPrefix(final, "250 2.0.0 OK: queued as ")

	got := f.snapshot()
	if got.conns != 1 || got.heloName != "client.sender.test" || got.host != "localhost" || got.from != "s@sender.test" {
		t.Fatalf("milter saw conns %d helo %q host %q from %q", got.conns, got.heloName, got.host, got.from)
	}
	if len(got.rcpts) != 1 || got.rcpts[0] != "alice@example.com" {
		t.Fatalf("milter saw rcpts %q", got.rcpts)
	}
	if got.mailMacros["i"] != id || got.eomMacros["i"] != id || got.mailMacros["{mail_addr}"] != "s@sender.test" {
		t.Fatalf("macros at MAIL %v, at EOM %v; queue id %s", got.mailMacros, got.eomMacros, id)
	}
	var names []string
	for _, hf := range got.headers {
		names = append(names, hf[0])
	}
	if want := []string{"Return-Path", "Received", "From", "To", "Subject", "X-Remove-Me"}; strings.Join(names, ",") != strings.Join(want, ",") {
		t.Fatalf("milter saw header fields %q, want %q", names, want)
	}
	if got.headers[4][1] != "hi" {
		t.Fatalf("Subject value shown as %q", got.headers[4][1])
	}
	if string(got.body) != "Hello Alice.\r\n" {
		t.Fatalf("milter saw body %q", got.body)
	}

	msgs := h.inbox("alice@example.com")
	if len(msgs) != 1 {
		t.Fatalf("%d messages in INBOX", len(msgs))
	}
	raw := msgs[0]
	if want := []string{"X-Top", "Return-Path", "Received", "From", "To", "Subject", "X-Filter"}; strings.Join(headerNames(raw), ",") != strings.Join(want, ",") {
		t.Fatalf("stored header fields %q, want %q", headerNames(raw), want)
	}
	if v := headerValue(raw, "Subject"); v != "[tagged] hi" {
		t.Fatalf("Subject %q", v)
	}
	if v := headerValue(raw, "X-Filter"); v != "checked folded" && v != "checked\tfolded" {
		t.Fatalf("X-Filter %q", v)
	}
	if !strings.Contains(string(raw), "X-Filter: checked\r\n\tfolded\r\n\r\nHello Alice.\r\n") {
		t.Fatalf("stored message:\n%s", raw)
	}
}

// Reject, tempfail and the milter's own reply at each stage become the
// client's replies; nothing is stored.
func TestMilterRefusals(t *testing.T) {
	t.Parallel()
	t.Run("reply code at end of message", func(t *testing.T) {
		t.Parallel()
		f := &fakeMilter{eom: func(m *gomilter.Modifier) (gomilter.Response, error) {
			return gomilter.NewResponseStr('y', "554 5.7.1 Spam message rejected"), nil
		}}
		h := milterHarness(t, milter.Config{Address: startFakeMilter(t, f)})
		c := h.dial()
		c.cmd("EHLO client.test", "250 ")
		c.do("MAIL FROM:<s@sender.test>", 250, "2.0.0")
		c.do("RCPT TO:<alice@example.com>", 250, "2.0.0")
		c.do("DATA", 354, "")
		c.send(milterMessage + ".\r\n")
		r := c.want(554, "5.7.1")
		if r.text[len(r.text)-1] != "Spam message rejected" {
			t.Fatalf("reply text %q", r.text)
		}
		if n := len(h.inbox("alice@example.com")); n != 0 {
			t.Fatalf("%d messages stored", n)
		}
		// The session goes on: the next message is filtered too.
		c.do("MAIL FROM:<s@sender.test>", 250, "2.0.0")
		if got := f.snapshot(); got.mails != 2 || got.conns != 1 {
			t.Fatalf("milter saw %d MAILs on %d connections", got.mails, got.conns)
		}
	})
	t.Run("reject one recipient", func(t *testing.T) {
		t.Parallel()
		f := &fakeMilter{rcpt: map[string]gomilter.Response{"bob@example.com": gomilter.RespReject}}
		h := milterHarness(t, milter.Config{Address: startFakeMilter(t, f)})
		c := h.dial()
		c.cmd("EHLO client.test", "250 ")
		c.do("MAIL FROM:<s@sender.test>", 250, "2.0.0")
		c.do("RCPT TO:<bob@example.com>", 550, "5.7.1")
		c.do("RCPT TO:<alice@example.com>", 250, "2.0.0")
		c.do("DATA", 354, "")
		c.send(milterMessage + ".\r\n")
		c.want(250, "2.0.0")
		if n, m := len(h.inbox("alice@example.com")), len(h.inbox("bob@example.com")); n != 1 || m != 0 {
			t.Fatalf("alice has %d, bob %d messages", n, m)
		}
	})
	t.Run("tempfail at MAIL", func(t *testing.T) {
		t.Parallel()
		f := &fakeMilter{mail: gomilter.RespTempFail}
		h := milterHarness(t, milter.Config{Address: startFakeMilter(t, f)})
		c := h.dial()
		c.cmd("EHLO client.test", "250 ")
		c.do("MAIL FROM:<s@sender.test>", 451, "4.7.1")
		c.do("RCPT TO:<alice@example.com>", 502, "5.5.1") // go-smtp: no transaction
	})
	t.Run("reject at connect", func(t *testing.T) {
		t.Parallel()
		f := &fakeMilter{connect: gomilter.RespReject}
		h := milterHarness(t, milter.Config{Address: startFakeMilter(t, f)})
		c := h.dial()
		c.cmd("EHLO client.test", "250 ")
		c.do("MAIL FROM:<s@sender.test>", 550, "5.7.1")
		c.do("RSET", 250, "2.0.0")
		// The refusal holds for the connection, without asking again.
		c.do("MAIL FROM:<t@sender.test>", 550, "5.7.1")
		if got := f.snapshot(); got.conns != 1 || got.mails != 0 {
			t.Fatalf("milter saw %d connects, %d MAILs", got.conns, got.mails)
		}
	})
}

// Accept, discard and quarantine let the message in: accept at connect
// ends the milter's part, discard answers 250 and stores nothing,
// quarantine (and the spam header) files it in Junk.
func TestMilterAcceptDiscardQuarantine(t *testing.T) {
	t.Parallel()
	t.Run("accept at connect", func(t *testing.T) {
		t.Parallel()
		f := &fakeMilter{connect: gomilter.RespAccept}
		h := milterHarness(t, milter.Config{Address: startFakeMilter(t, f)})
		c := h.dial()
		c.cmd("EHLO client.test", "250 ")
		c.sendMail("s@sender.test", []string{"alice@example.com"}, milterMessage)
		c.sendMail("s@sender.test", []string{"alice@example.com"}, milterMessage)
		if n := len(h.inbox("alice@example.com")); n != 2 {
			t.Fatalf("%d messages stored", n)
		}
		if got := f.snapshot(); got.conns != 1 || got.mails != 0 || got.eoms != 0 {
			t.Fatalf("milter saw %d connects, %d MAILs, %d ends", got.conns, got.mails, got.eoms)
		}
	})
	t.Run("discard", func(t *testing.T) {
		t.Parallel()
		f := &fakeMilter{eom: func(*gomilter.Modifier) (gomilter.Response, error) { return gomilter.RespDiscard, nil }}
		h := milterHarness(t, milter.Config{Address: startFakeMilter(t, f)})
		c := h.dial()
		c.cmd("EHLO client.test", "250 ")
		c.sendMail("s@sender.test", []string{"alice@example.com"}, milterMessage)
		if n, j := len(h.inbox("alice@example.com")), h.junkCount("alice@example.com"); n != 0 || j != 0 {
			t.Fatalf("discarded message stored: INBOX %d, Junk %d", n, j)
		}
	})
	t.Run("discard at RCPT", func(t *testing.T) {
		t.Parallel()
		f := &fakeMilter{rcpt: map[string]gomilter.Response{"alice@example.com": gomilter.RespDiscard}}
		h := milterHarness(t, milter.Config{Address: startFakeMilter(t, f)})
		c := h.dial()
		c.cmd("EHLO client.test", "250 ")
		c.sendMail("s@sender.test", []string{"alice@example.com"}, milterMessage)
		if n := len(h.inbox("alice@example.com")); n != 0 {
			t.Fatalf("discarded message stored (%d)", n)
		}
		if got := f.snapshot(); got.eoms != 0 {
			t.Fatalf("milter shown the message after discarding it")
		}
	})
	t.Run("quarantine", func(t *testing.T) {
		t.Parallel()
		f := &fakeMilter{eom: func(m *gomilter.Modifier) (gomilter.Response, error) {
			m.Quarantine("looks bad")
			return gomilter.RespAccept, nil
		}}
		h := milterHarness(t, milter.Config{Address: startFakeMilter(t, f)})
		c := h.dial()
		c.cmd("EHLO client.test", "250 ")
		c.sendMail("s@sender.test", []string{"alice@example.com"}, milterMessage)
		if n, j := len(h.inbox("alice@example.com")), h.junkCount("alice@example.com"); n != 0 || j != 1 {
			t.Fatalf("INBOX %d, Junk %d; want 0, 1", n, j)
		}
	})
	t.Run("spam header", func(t *testing.T) {
		t.Parallel()
		f := &fakeMilter{eom: func(m *gomilter.Modifier) (gomilter.Response, error) {
			m.AddHeader("X-Spam", "Yes")
			return gomilter.RespAccept, nil
		}}
		h := milterHarness(t, milter.Config{Address: startFakeMilter(t, f), SpamHeader: "X-Spam"})
		c := h.dial()
		c.cmd("EHLO client.test", "250 ")
		c.sendMail("s@sender.test", []string{"alice@example.com"}, milterMessage)
		if n, j := len(h.inbox("alice@example.com")), h.junkCount("alice@example.com"); n != 0 || j != 1 {
			t.Fatalf("INBOX %d, Junk %d; want 0, 1", n, j)
		}
		// A sender's own X-Spam: Yes is not the milter's verdict.
		f.mu.Lock()
		f.eom = nil
		f.mu.Unlock()
		c.sendMail("s@sender.test", []string{"alice@example.com"}, "X-Spam: Yes\r\n"+milterMessage)
		if n := len(h.inbox("alice@example.com")); n != 1 {
			t.Fatalf("INBOX %d after a sender-set X-Spam", n)
		}
	})
	t.Run("RSET aborts", func(t *testing.T) {
		t.Parallel()
		f := &fakeMilter{}
		h := milterHarness(t, milter.Config{Address: startFakeMilter(t, f)})
		c := h.dial()
		c.cmd("EHLO client.test", "250 ")
		c.do("MAIL FROM:<s@sender.test>", 250, "2.0.0")
		c.do("RSET", 250, "2.0.0")
		c.do("NOOP", 250, "2.0.0")
		deadline := time.Now().Add(30 * time.Second)
		for f.snapshot().aborts == 0 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if got := f.snapshot(); got.aborts != 1 {
			t.Fatalf("milter saw %d aborts", got.aborts)
		}
	})
}

// A milter that cannot be reached: on_error = "tempfail" (the default)
// answers 451 4.7.1, "accept" lets the mail through unfiltered.
func TestMilterUnreachable(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "inet:" + l.Addr().String()
	l.Close() // nothing listens there now
	t.Run("tempfail", func(t *testing.T) {
		t.Parallel()
		h := milterHarness(t, milter.Config{Address: dead, ConnectTimeout: 2 * time.Second})
		c := h.dial()
		c.cmd("EHLO client.test", "250 ")
		r := c.do("MAIL FROM:<s@sender.test>", 451, "4.7.1")
		if r.text[0] != "Service unavailable - try again later" {
			t.Fatalf("reply text %q", r.text)
		}
	})
	t.Run("accept", func(t *testing.T) {
		t.Parallel()
		h := milterHarness(t, milter.Config{Address: dead, ConnectTimeout: 2 * time.Second, OnErrorAccept: true})
		c := h.dial()
		c.cmd("EHLO client.test", "250 ")
		c.sendMail("s@sender.test", []string{"alice@example.com"}, milterMessage)
		if n := len(h.inbox("alice@example.com")); n != 1 {
			t.Fatalf("%d messages stored", n)
		}
	})
}

// Two milters see the message in order, the second with the first's
// changes; the first refusal wins.
func TestMilterChain(t *testing.T) {
	t.Parallel()
	first := &fakeMilter{eom: func(m *gomilter.Modifier) (gomilter.Response, error) {
		m.AddHeader("X-First", "1")
		return gomilter.RespAccept, nil
	}}
	second := &fakeMilter{}
	h := milterHarness(t, milter.Config{Address: startFakeMilter(t, first)}, milter.Config{Address: startFakeMilter(t, second)})
	c := h.dial()
	c.cmd("EHLO client.test", "250 ")
	c.sendMail("s@sender.test", []string{"alice@example.com"}, milterMessage)
	got := second.snapshot()
	if n := len(got.headers); n == 0 || got.headers[n-1][0] != "X-First" {
		t.Fatalf("second milter saw %q", got.headers)
	}
	if raw := h.inbox("alice@example.com"); len(raw) != 1 || headerValue(raw[0], "X-First") != "1" {
		t.Fatalf("stored %d messages", len(raw))
	}
}

// Header changes over max_header_bytes are a milter failure: with
// on_error = tempfail the message gets 451 4.7.1 and nothing is stored.
func TestMilterHeaderBytesLimit(t *testing.T) {
	t.Parallel()
	f := &fakeMilter{eom: func(m *gomilter.Modifier) (gomilter.Response, error) {
		m.AddHeader("X-Big", strings.Repeat("x", 2000))
		return gomilter.RespAccept, nil
	}}
	h := milterHarness(t, milter.Config{Address: startFakeMilter(t, f), MaxHeaderBytes: 1000})
	c := h.dial()
	c.cmd("EHLO client.test", "250 ")
	c.do("MAIL FROM:<s@sender.test>", 250, "2.0.0")
	c.do("RCPT TO:<alice@example.com>", 250, "2.0.0")
	c.do("DATA", 354, "")
	c.send(milterMessage + ".\r\n")
	c.want(451, "4.7.1")
	if n := len(h.inbox("alice@example.com")); n != 0 {
		t.Fatalf("%d messages stored", n)
	}
}

// Sieve runs on the message as the milters left it: a script can file
// by a header the milter added (as users do with Rspamd's X-Spam).
func TestMilterHeadersReachSieve(t *testing.T) {
	t.Parallel()
	f := &fakeMilter{eom: func(m *gomilter.Modifier) (gomilter.Response, error) {
		m.AddHeader("X-Filtered", "yes")
		return gomilter.RespAccept, nil
	}}
	ch, err := milter.NewChain([]milter.Config{{Address: startFakeMilter(t, f)}}, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, ModeMX, func(c *Config) {
		d, err := delivery.New(delivery.Config{Store: c.Store, Queue: &signQueue{}, Hostname: c.Hostname, Logger: c.Logger, Now: c.Now})
		if err != nil {
			t.Fatal(err)
		}
		c.Deliverer = d
		c.Filter = ch
	})
	ctx := context.Background()
	bob, err := h.full.AccountByEmail(ctx, "bob@example.com")
	if err != nil {
		t.Fatal(err)
	}
	script := "require [\"fileinto\", \"mailbox\"];\nif header :is \"X-Filtered\" \"yes\" { fileinto :create \"Filtered\"; }\n"
	if _, err := h.full.PutSieveScript(ctx, bob.ID, "rules", []byte(script)); err != nil {
		t.Fatal(err)
	}
	if err := h.full.ActivateSieveScript(ctx, bob.ID, "rules"); err != nil {
		t.Fatal(err)
	}
	c := h.dial()
	c.cmd("EHLO client.test", "250 ")
	c.sendMail("s@sender.test", []string{"bob@example.com"}, milterMessage)
	if _, raws := h.mailboxMessages("bob@example.com", "Filtered"); len(raws) != 1 {
		t.Fatalf("Filtered has %d messages, want 1", len(raws))
	}
}

// brokenListener closes every connection it accepts while broken is
// set: a milter that fails at once.
type brokenListener struct {
	net.Listener
	broken atomic.Bool
}

func (l *brokenListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil || !l.broken.Load() {
			return c, err
		}
		c.Close()
	}
}

// A milter that failed is tried again at the next MAIL: once it works,
// mail flows on the same connection.
func TestMilterRetriedAfterFailure(t *testing.T) {
	t.Parallel()
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := &brokenListener{Listener: inner}
	l.broken.Store(true)
	f := &fakeMilter{}
	srv := &gomilter.Server{NewMilter: func() gomilter.Milter { return fakeSession{f: f} }, Actions: gomilter.OptAddHeader}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	h := milterHarness(t, milter.Config{Address: "inet:" + inner.Addr().String(), ConnectTimeout: 2 * time.Second, CommandTimeout: 5 * time.Second})
	c := h.dial()
	c.cmd("EHLO client.test", "250 ")
	c.do("MAIL FROM:<s@sender.test>", 451, "4.7.1")
	l.broken.Store(false)
	c.sendMail("s@sender.test", []string{"alice@example.com"}, milterMessage)
	if got := f.snapshot(); got.conns != 1 || got.eoms != 1 {
		t.Fatalf("milter saw %d connects, %d messages", got.conns, got.eoms)
	}
}
