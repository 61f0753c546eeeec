package smtpserver

import (
	"context"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/mailroom/mailroom/mailauth"
)

// txtResolver answers TXT from a map; everything else is NXDOMAIN.
type txtResolver map[string][]string

func nxdomain(name string) error {
	return &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
}

func (r txtResolver) LookupTXT(_ context.Context, name string) ([]string, error) {
	if t, ok := r[strings.ToLower(strings.TrimSuffix(name, "."))]; ok {
		return t, nil
	}
	return nil, nxdomain(name)
}
func (txtResolver) LookupMX(_ context.Context, n string) ([]*net.MX, error) { return nil, nxdomain(n) }
func (txtResolver) LookupIPAddr(_ context.Context, n string) ([]net.IPAddr, error) {
	return nil, nxdomain(n)
}
func (txtResolver) LookupAddr(_ context.Context, n string) ([]string, error) { return nil, nxdomain(n) }

var inboundDNS = txtResolver{
	"good.test":        {"v=spf1 ip4:127.0.0.1 -all"},
	"_dmarc.good.test": {"v=DMARC1; p=reject"},
	"bad.test":         {"v=spf1 ip4:192.0.2.1 -all"},
	"_dmarc.bad.test":  {"v=DMARC1; p=reject"},
}

func inboundMessage(from string) string {
	return "Authentication-Results: " + testHost + "; dmarc=pass (forged)\r\n" +
		"From: <" + from + ">\r\nTo: alice@example.com\r\nSubject: checked\r\n\r\nbody\r\n"
}

func TestInboundChecksOnMX(t *testing.T) {
	rm := &recMetrics{}
	h := newHarness(t, ModeMX, func(c *Config) {
		c.Inbound = mailauth.New(mailauth.Config{Hostname: testHost, Resolver: inboundDNS})
		c.Metrics = rm
	})
	c := h.dial()
	c.cmd("EHLO client.good.test", "250 ")

	// SPF pass, aligned: DMARC pass; the forged header is gone.
	c.sendMail("s@good.test", []string{"alice@example.com"}, inboundMessage("s@good.test"))
	got := h.inbox("alice@example.com")
	if len(got) != 1 {
		t.Fatalf("%d messages", len(got))
	}
	m := string(got[0])
	if names := headerNames(got[0]); len(names) < 3 || names[0] != "Return-Path" || names[1] != "Received" || names[2] != "Authentication-Results" {
		t.Fatalf("trace header order %q, want Return-Path, Received, Authentication-Results (RFC 5321 §4.4)", names)
	}
	if ar := headerValue(got[0], "Authentication-Results"); !strings.HasPrefix(ar, testHost+";") || !strings.Contains(ar, "spf=pass") || !strings.Contains(ar, "dmarc=pass") {
		t.Fatalf("stored message:\n%s", m)
	}
	if strings.Contains(m, "(forged)") || strings.Count(m, "Authentication-Results:") != 1 {
		t.Fatalf("forged Authentication-Results kept:\n%s", m)
	}

	// SPF fail, p=reject: 550 5.7.1 and nothing stored.
	c.cmd("MAIL FROM:<s@bad.test>", "250 ")
	c.cmd("RCPT TO:<alice@example.com>", "250 ")
	c.cmd("DATA", "354 ")
	c.send(inboundMessage("s@bad.test") + ".\r\n")
	c.expect("550 5.7.1 ")
	if n := len(h.inbox("alice@example.com")); n != 1 {
		t.Fatalf("rejected message stored: %d messages", n)
	}

	// No DMARC record at all: accepted with dmarc=none.
	c.sendMail("s@none.test", []string{"alice@example.com"}, inboundMessage("s@none.test"))
	if got := h.inbox("alice@example.com"); len(got) != 2 || !strings.Contains(string(got[1]), "dmarc=none") {
		t.Fatalf("no-policy message: %d messages", len(got))
	}

	// Each message's verdicts reached the metrics.
	rm.mu.Lock()
	defer rm.mu.Unlock()
	want := []string{
		"spf=pass", "dkim=none", "dmarc=pass",
		"spf=fail", "dkim=none", "dmarc=fail",
		"spf=none", "dkim=none", "dmarc=none",
	}
	if !slices.Equal(rm.verdicts, want) {
		t.Errorf("verdicts %q, want %q", rm.verdicts, want)
	}
}

func TestInboundQuarantineIntoJunk(t *testing.T) {
	h := newHarness(t, ModeMX, func(c *Config) {
		c.Inbound = mailauth.New(mailauth.Config{Hostname: testHost, Resolver: inboundDNS, QuarantineRejects: true})
	})
	c := h.dial()
	c.cmd("EHLO client.bad.test", "250 ")
	c.sendMail("s@bad.test", []string{"alice@example.com"}, inboundMessage("s@bad.test"))
	if n := len(h.inbox("alice@example.com")); n != 0 {
		t.Fatalf("quarantined message in INBOX (%d)", n)
	}
	ctx := context.Background()
	a, _ := h.full.AccountByEmail(ctx, "alice@example.com")
	junk, err := h.full.MailboxByName(ctx, a.ID, "Junk")
	if err != nil {
		t.Fatal(err)
	}
	if st, err := h.full.MailboxStatus(ctx, junk.Ref()); err != nil || st.Messages != 1 {
		t.Fatalf("Junk status %+v, %v", st, err)
	}
}

// Authenticated clients are not checked, and their mail to other domains
// goes to the queue; a mixed transaction does both before 250.
func TestAuthenticatedMixedRecipients(t *testing.T) {
	q := &fakeQueue{}
	h := newHarness(t, ModeSubmission, func(c *Config) { c.Queue = q })
	c := h.dial()
	c.cmd("EHLO c", "250 ")
	c.login("alice@example.com")
	c.sendMail("alice@example.com", []string{"bob@example.com", "x@remote.example", "y@remote.example"}, simpleMessage)
	if n := len(h.inbox("bob@example.com")); n != 1 {
		t.Fatalf("local copy: %d", n)
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.got) != 1 || strings.Join(q.got[0].rcpts, ",") != "x@remote.example,y@remote.example" || q.got[0].from != "alice@example.com" ||
		!strings.Contains(string(q.got[0].raw), "Hello Bob.") {
		t.Fatalf("queued %+v", q.got)
	}
	// Unauthenticated relaying is still refused.
	c2 := h.dial()
	c2.cmd("EHLO c", "250 ")
	c2.cmd("MAIL FROM:<x@remote.example>", "530 ")
}

type fakeQueue struct {
	mu  sync.Mutex
	got []queuedMsg
}

type queuedMsg struct {
	from       string
	rcpts      []string
	raw        []byte
	signDomain string
}

func (f *fakeQueue) EnqueueAs(_ context.Context, from string, rcpts []string, raw []byte, signDomain string) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.got = append(f.got, queuedMsg{from, rcpts, raw, signDomain})
	return int64(len(f.got)), nil
}

func TestUnauthenticatedRelayStillDeniedWithQueue(t *testing.T) {
	h := newHarness(t, ModeMX, func(c *Config) { c.Queue = &fakeQueue{} })
	c := h.dial()
	c.cmd("EHLO c", "250 ")
	c.cmd("MAIL FROM:<x@remote.example>", "250 ")
	c.cmd("RCPT TO:<y@elsewhere.example>", "554 5.7.1 ")
}
