package smtpserver

import (
	"fmt"
	"strings"
	"testing"

	"github.com/mailroom/mailroom/internal/authtest"
)

// aliasMap is a lower-cased alias table, as config.AliasTable provides.
type aliasMap map[string][]string

var _ Aliases = aliasMap(nil)

func (m aliasMap) AliasTargets(key string) ([]string, bool) {
	t, ok := m[key]
	return t, ok
}

func (m aliasMap) AliasDomain(domain string) bool {
	for k := range m {
		if strings.HasSuffix(k, "@"+domain) {
			return true
		}
	}
	return false
}

// testAliases: accounts are alice, bob, postmaster @example.com and
// carol@other.test.
var testAliases = aliasMap{
	"sales@example.com":     {"alice@example.com"},
	"team@example.com":      {"alice@example.com", "bob@example.com", "x@remote.example", "sales@example.com"},
	"outer@example.com":     {"inner@example.com", "alice@example.com"},
	"inner@example.com":     {"bob@example.com", "sales@example.com"},
	"loop1@example.com":     {"loop2@example.com"},
	"loop2@example.com":     {"loop1@example.com"},
	"info@aliasonly.test":   {"bob@example.com"},
	"@other.test":           {"carol@other.test"},
	"postmaster@other.test": {"bob@example.com"},
	"fwd@example.com":       {"y@remote.example"},
	"dead@example.com":      {"nobody@example.com"},
}

func init() {
	// chain0 -> chain1 -> ... -> chain11 -> alice: deeper than maxAliasDepth.
	for i := range 11 {
		testAliases[fmt.Sprintf("chain%d@example.com", i)] = []string{fmt.Sprintf("chain%d@example.com", i+1)}
	}
	testAliases["chain11@example.com"] = []string{"alice@example.com"}
}

func aliasHarness(t *testing.T, q *fakeQueue, delim string) *harness {
	return newHarness(t, ModeMX, func(c *Config) {
		c.Aliases = testAliases
		c.RecipientDelimiter = delim
		if q != nil {
			c.Queue = q
		}
	})
}

// rcpt opens a transaction and returns the reply to one RCPT.
func rcpt(c *client, addr string) string {
	c.t.Helper()
	c.cmd("RSET", "250 ")
	c.cmd("MAIL FROM:<sender@remote.example>", "250 ")
	c.send("RCPT TO:<" + addr + ">\r\n")
	lines := c.reply()
	return lines[len(lines)-1]
}

func TestAliasToLocalAccount(t *testing.T) {
	h := aliasHarness(t, nil, "+")
	c := h.dial()
	c.cmd("EHLO c", "250 ")
	c.sendMail("sender@remote.example", []string{"Sales@Example.com"}, simpleMessage)
	if n := len(h.inbox("alice@example.com")); n != 1 {
		t.Fatalf("alice has %d messages, want 1", n)
	}
}

// An alias to two accounts, a remote address and another alias: one
// copy per account, the remote address queued with the original sender.
func TestAliasLocalAndRemoteTargets(t *testing.T) {
	q := &fakeQueue{}
	h := aliasHarness(t, q, "+")
	c := h.dial()
	c.cmd("EHLO c", "250 ")
	c.sendMail("sender@remote.example", []string{"team@example.com", "alice@example.com", "fwd@example.com"}, simpleMessage)
	for _, a := range []string{"alice@example.com", "bob@example.com"} {
		if n := len(h.inbox(a)); n != 1 {
			t.Errorf("%s has %d messages, want 1", a, n)
		}
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.got) != 1 || strings.Join(q.got[0].rcpts, ",") != "x@remote.example,y@remote.example" || q.got[0].from != "sender@remote.example" ||
		!strings.Contains(string(q.got[0].raw), "Hello Bob.") {
		t.Fatalf("queued %+v", q.got)
	}
	// Aliases do not open the relay: a remote address given directly is
	// still refused to an unauthenticated client.
	if r := rcpt(c, "x@remote.example"); !strings.HasPrefix(r, "554 5.7.1") {
		t.Fatalf("direct remote RCPT: %q", r)
	}
}

// Without an outbound queue, an alias to a remote address is refused.
func TestAliasRemoteWithoutQueue(t *testing.T) {
	c := aliasHarness(t, nil, "+").dial()
	c.cmd("EHLO c", "250 ")
	if r := rcpt(c, "fwd@example.com"); !strings.HasPrefix(r, "550 5.7.1") {
		t.Fatalf("RCPT fwd@: %q", r)
	}
}

func TestAliasNestedAndDuplicates(t *testing.T) {
	h := aliasHarness(t, nil, "+")
	c := h.dial()
	c.cmd("EHLO c", "250 ")
	// outer -> inner -> {bob, sales -> alice}, alice: one copy each.
	c.sendMail("sender@remote.example", []string{"outer@example.com"}, simpleMessage)
	for _, a := range []string{"alice@example.com", "bob@example.com"} {
		if n := len(h.inbox(a)); n != 1 {
			t.Errorf("%s has %d messages, want 1", a, n)
		}
	}
}

func TestAliasLoopAndDepth(t *testing.T) {
	c := aliasHarness(t, nil, "+").dial()
	c.cmd("EHLO c", "250 ")
	for _, a := range []string{"loop1@example.com", "chain0@example.com"} {
		if r := rcpt(c, a); !strings.HasPrefix(r, "550 5.4.6") {
			t.Errorf("RCPT %s: %q, want 550 5.4.6", a, r)
		}
	}
	// Within the depth limit the chain resolves.
	if r := rcpt(c, "chain4@example.com"); !strings.HasPrefix(r, "250 ") {
		t.Errorf("RCPT chain4: %q", r)
	}
	// An alias whose only target has no mailbox is an unknown user.
	if r := rcpt(c, "dead@example.com"); !strings.HasPrefix(r, "550 5.1.1") {
		t.Errorf("RCPT dead@: %q", r)
	}
}

func TestSubaddressing(t *testing.T) {
	h := aliasHarness(t, nil, "+")
	c := h.dial()
	c.cmd("EHLO c", "250 ")
	c.sendMail("sender@remote.example", []string{"alice+news@example.com", "sales+x@example.com"}, simpleMessage)
	if n := len(h.inbox("alice@example.com")); n != 1 {
		t.Fatalf("alice has %d messages, want 1", n)
	}
	if r := rcpt(c, "+news@example.com"); !strings.HasPrefix(r, "550 5.1.1") {
		t.Errorf("RCPT +news@: %q", r)
	}

	c2 := aliasHarness(t, nil, "").dial()
	c2.cmd("EHLO c", "250 ")
	if r := rcpt(c2, "alice+news@example.com"); !strings.HasPrefix(r, "550 5.1.1") {
		t.Errorf("delimiter off: RCPT alice+news@: %q", r)
	}
}

func TestCatchAllAndAliasOnlyDomain(t *testing.T) {
	h := aliasHarness(t, nil, "+")
	c := h.dial()
	c.cmd("EHLO c", "250 ")
	c.sendMail("sender@remote.example", []string{"anything@other.test", "info@aliasonly.test"}, simpleMessage)
	if n := len(h.inbox("carol@other.test")); n != 1 {
		t.Errorf("carol has %d messages, want 1", n)
	}
	if n := len(h.inbox("bob@example.com")); n != 1 {
		t.Errorf("bob has %d messages, want 1", n)
	}
	// An alias-only domain is local: unknown users there get 5.1.1, not
	// a relay refusal; example.com has no catch-all.
	for _, a := range []string{"nobody@aliasonly.test", "nobody@example.com"} {
		if r := rcpt(c, a); !strings.HasPrefix(r, "550 5.1.1") {
			t.Errorf("RCPT %s: %q, want 550 5.1.1", a, r)
		}
	}
}

func TestPostmasterRouting(t *testing.T) {
	// With aliases: postmaster@other.test is an alias to bob.
	h := aliasHarness(t, nil, "+")
	c := h.dial()
	c.cmd("EHLO c", "250 ")
	c.sendMail("sender@remote.example", []string{"postmaster@other.test", "postmaster"}, simpleMessage)
	if n := len(h.inbox("bob@example.com")); n != 1 {
		t.Errorf("bob has %d messages, want 1", n)
	}
	if n := len(h.inbox("postmaster@example.com")); n != 1 {
		t.Errorf("postmaster@example.com has %d messages, want 1", n)
	}

	// No postmaster account anywhere: the first account of the domain,
	// and for the bare <postmaster> the first account of all.
	hash := authtest.Credentials(testPassword)
	mem := newMemStore(hash, "zed@solo.test", "amy@solo.test", "bea@two.test")
	h2 := startServer(t, mem, ModeMX)
	h2.inboxFn = mem.inbox
	c2 := h2.dial()
	c2.cmd("EHLO c", "250 ")
	c2.sendMail("sender@remote.example", []string{"Postmaster@two.test"}, simpleMessage)
	c2.sendMail("sender@remote.example", []string{"postmaster@solo.test", "postmaster"}, simpleMessage)
	if n := len(h2.inbox("bea@two.test")); n != 1 {
		t.Errorf("bea has %d messages, want 1", n)
	}
	if n := len(h2.inbox("amy@solo.test")); n != 1 {
		t.Errorf("amy has %d messages, want 1 (two RCPTs, one copy)", n)
	}
	if n := len(h2.inbox("zed@solo.test")); n != 0 {
		t.Errorf("zed has %d messages, want 0", n)
	}
	// Postmaster of a foreign domain is still relaying.
	if r := rcpt(c2, "postmaster@remote.example"); !strings.HasPrefix(r, "554 5.7.1") {
		t.Errorf("RCPT postmaster@remote.example: %q", r)
	}
}
