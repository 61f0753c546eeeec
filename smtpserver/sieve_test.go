package smtpserver

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailroom/mailroom/delivery"
	"github.com/mailroom/mailroom/message"
	"github.com/mailroom/mailroom/sieve"
	"github.com/mailroom/mailroom/store"
)

// sieveClock is the injected clock of the Sieve tests.
type sieveClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *sieveClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *sieveClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// sieveHarness is an MX server over SQLite whose Deliverer runs Sieve
// and has an outbound queue, with bob's active script set to script.
func sieveHarness(t *testing.T, script string, lim sieve.Limits) (*harness, *sieveClock) {
	t.Helper()
	clock := &sieveClock{t: time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)}
	h := newHarness(t, ModeMX, func(c *Config) {
		c.Now = clock.now
		d, err := delivery.New(delivery.Config{Store: c.Store, Queue: &signQueue{}, Hostname: c.Hostname, Logger: c.Logger, Now: clock.now,
			Sieve: delivery.SieveConfig{Limits: lim}})
		if err != nil {
			t.Fatal(err)
		}
		c.Deliverer = d
	})
	ctx := context.Background()
	bob, err := h.full.AccountByEmail(ctx, "bob@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.full.PutSieveScript(ctx, bob.ID, "rules", []byte(script)); err != nil {
		t.Fatal(err)
	}
	if err := h.full.ActivateSieveScript(ctx, bob.ID, "rules"); err != nil {
		t.Fatal(err)
	}
	return h, clock
}

// mailboxMessages returns the metadata and bytes of the messages in one
// of bob's mailboxes; a missing mailbox is nil.
func (h *harness) mailboxMessages(email, name string) ([]store.MessageMeta, [][]byte) {
	h.t.Helper()
	ctx := context.Background()
	acct, err := h.full.AccountByEmail(ctx, email)
	if err != nil {
		h.t.Fatal(err)
	}
	mb, err := h.full.MailboxByName(ctx, acct.ID, name)
	if err != nil {
		return nil, nil
	}
	var metas []store.MessageMeta
	var raws [][]byte
	if err := h.full.ListBodies(ctx, mb.Ref(), nil, func(m store.MessageMeta, raw []byte) error {
		metas = append(metas, m)
		raws = append(raws, append([]byte(nil), raw...))
		return nil
	}); err != nil {
		h.t.Fatal(err)
	}
	return metas, raws
}

func (h *harness) queuedRaw(id int64) []byte {
	h.t.Helper()
	raw, err := h.full.QueueMessage(context.Background(), id)
	if err != nil {
		h.t.Fatal(err)
	}
	return raw
}

const sortScript = `require ["fileinto", "mailbox", "imap4flags", "editheader"];
if header :contains "List-Id" "golang-nuts" {
	fileinto :create :flags ["\\Flagged", "lists"] "Lists/Go";
	stop;
}
if header :is "Subject" "junk" {
	discard;
	stop;
}
if address :is "from" "boss@remote.example" {
	redirect "me@remote.example";
	stop;
}
addheader "X-Sorted" "no rule matched";
`

func mxMail(from, subject, extra string) string {
	return "From: <" + from + ">\r\nTo: <bob@example.com>\r\nSubject: " + subject + "\r\nMessage-ID: <" + subject + "@remote.example>\r\n" + extra + "\r\nbody\r\n"
}

// A mailing-list message is filed into a folder the script creates,
// with the flags it sets; INBOX stays empty.
func TestSieveFileIntoCreateWithFlags(t *testing.T) {
	h, _ := sieveHarness(t, sortScript, sieve.Limits{})
	c := h.dial()
	c.do("EHLO c", 250, "")
	c.sendMail("x@remote.example", []string{"bob@example.com"}, mxMail("x@remote.example", "release", "List-Id: Go <golang-nuts.googlegroups.com>\r\n"))
	metas, raws := h.mailboxMessages("bob@example.com", "Lists/Go")
	if len(metas) != 1 || !slices.Equal(metas[0].Flags, []string{`\Flagged`, "lists"}) {
		t.Fatalf("Lists/Go holds %+v", metas)
	}
	if headerValue(raws[0], "Subject") != "release" {
		t.Fatalf("filed message %q", raws[0])
	}
	if n := len(h.inbox("bob@example.com")); n != 0 {
		t.Fatalf("INBOX holds %d messages; fileinto cancels the implicit keep", n)
	}
	// The next one goes into the now existing folder.
	c.sendMail("x@remote.example", []string{"bob@example.com"}, mxMail("x@remote.example", "again", "List-Id: <golang-nuts.googlegroups.com>\r\n"))
	if metas, _ := h.mailboxMessages("bob@example.com", "Lists/Go"); len(metas) != 2 {
		t.Fatalf("Lists/Go holds %d messages, want 2", len(metas))
	}
	// No rule: kept in INBOX, with the header the script added; alice
	// (no script) gets the plain copy of the same transaction.
	c.sendMail("x@remote.example", []string{"bob@example.com", "alice@example.com"}, mxMail("x@remote.example", "hello", ""))
	inbox := h.inbox("bob@example.com")
	if len(inbox) != 1 || headerValue(inbox[0], "X-Sorted") != "no rule matched" {
		t.Fatalf("bob's INBOX %q", inbox)
	}
	if a := h.inbox("alice@example.com"); len(a) != 1 || headerValue(a[0], "X-Sorted") != "" {
		t.Fatalf("alice's INBOX %q", a)
	}
}

func TestSieveDiscard(t *testing.T) {
	h, _ := sieveHarness(t, sortScript, sieve.Limits{})
	c := h.dial()
	c.do("EHLO c", 250, "")
	c.sendMail("x@remote.example", []string{"bob@example.com"}, mxMail("x@remote.example", "junk", ""))
	if n := len(h.inbox("bob@example.com")); n != 0 {
		t.Fatalf("discarded message kept: INBOX holds %d", n)
	}
	if items := h.queued(); len(items) != 0 {
		t.Fatalf("discard queued %+v", items)
	}
}

// A redirect is a queue entry from the original sender, marked against
// loops, in the same transaction; a message already redirected by bob
// is kept instead.
func TestSieveRedirect(t *testing.T) {
	h, _ := sieveHarness(t, sortScript, sieve.Limits{})
	c := h.dial()
	c.do("EHLO c", 250, "")
	c.sendMail("boss@remote.example", []string{"bob@example.com"}, mxMail("boss@remote.example", "report", ""))
	items := h.queued()
	if len(items) != 1 || items[0].From != "boss@remote.example" || len(items[0].Recipients) != 1 || items[0].Recipients[0].Addr != "me@remote.example" {
		t.Fatalf("queue %+v", items)
	}
	raw := h.queuedRaw(items[0].ID)
	if headerValue(raw, delivery.RedirectHeader) != "bob@example.com" || headerValue(raw, "Subject") != "report" {
		t.Fatalf("redirected bytes %q", raw)
	}
	if n := len(h.inbox("bob@example.com")); n != 0 {
		t.Fatalf("redirect without :copy kept a copy: INBOX holds %d", n)
	}
	// The message comes back (the remote address forwards to bob).
	c.sendMail("boss@remote.example", []string{"bob@example.com"}, delivery.RedirectHeader+": bob@example.com\r\n"+mxMail("boss@remote.example", "report", ""))
	if items := h.queued(); len(items) != 1 {
		t.Fatalf("redirect loop queued again: %+v", items)
	}
	if n := len(h.inbox("bob@example.com")); n != 1 {
		t.Fatalf("looping message not kept: INBOX holds %d", n)
	}
}

// Vacation answers once per sender per :days period, from the null
// sender, with Auto-Submitted; list mail and a second message within the
// period get no reply; after the period the sender gets one again.
func TestSieveVacationOncePerPeriod(t *testing.T) {
	h, clock := sieveHarness(t, `require "vacation";
vacation :days 2 :subject "Away" "I am away until Monday.";
`, sieve.Limits{})
	c := h.dial()
	c.do("EHLO c", 250, "")
	replies := func() []store.QueueItem {
		var out []store.QueueItem
		for _, it := range h.queued() {
			if it.From == "" {
				out = append(out, it)
			}
		}
		return out
	}
	c.sendMail("x@remote.example", []string{"bob@example.com"}, mxMail("x@remote.example", "q1", ""))
	r := replies()
	if len(r) != 1 || r[0].Recipients[0].Addr != "x@remote.example" {
		t.Fatalf("replies %+v", r)
	}
	raw := h.queuedRaw(r[0].ID)
	if headerValue(raw, "Auto-Submitted") != "auto-replied" || headerValue(raw, "Subject") != "Away" ||
		headerValue(raw, "In-Reply-To") != "<q1@remote.example>" || headerValue(raw, "From") != "<bob@example.com>" {
		t.Fatalf("reply %q", raw)
	}
	if p := message.Parse(raw); p.MediaType != "text" || p.MediaSubtype != "plain" {
		t.Fatalf("reply type %s/%s", p.MediaType, p.MediaSubtype)
	}
	if n := len(h.inbox("bob@example.com")); n != 1 {
		t.Fatalf("vacation must keep the message: INBOX holds %d", n)
	}
	clock.add(24 * time.Hour)
	c.sendMail("x@remote.example", []string{"bob@example.com"}, mxMail("x@remote.example", "q2", ""))
	c.sendMail("y@remote.example", []string{"bob@example.com"}, mxMail("y@remote.example", "list", "List-Id: <l.remote.example>\r\n"))
	c.sendMail("z@remote.example", []string{"bob@example.com"}, mxMail("z@remote.example", "bulk", "Precedence: bulk\r\n"))
	if r := replies(); len(r) != 1 {
		t.Fatalf("%d replies within the period and to list/bulk mail, want still 1", len(r))
	}
	clock.add(25 * time.Hour)
	c.sendMail("x@remote.example", []string{"bob@example.com"}, mxMail("x@remote.example", "q3", ""))
	if r := replies(); len(r) != 2 {
		t.Fatalf("%d replies after the period, want 2", len(r))
	}
}

// reject sends a DSN back to the sender through the queue and stores
// nothing.
func TestSieveReject(t *testing.T) {
	h, _ := sieveHarness(t, `require "reject";
if header :contains "Subject" "offer" { reject "No offers, please."; }
`, sieve.Limits{})
	c := h.dial()
	c.do("EHLO c", 250, "")
	c.sendMail("spam@remote.example", []string{"bob@example.com"}, mxMail("spam@remote.example", "great offer", ""))
	items := h.queued()
	if len(items) != 1 || items[0].From != "" || items[0].Recipients[0].Addr != "spam@remote.example" {
		t.Fatalf("queue %+v", items)
	}
	raw := h.queuedRaw(items[0].ID)
	p := message.Parse(raw)
	if p.MediaType != "multipart" || p.MediaSubtype != "report" || len(p.Parts) != 3 || p.Parts[1].MediaSubtype != "delivery-status" {
		t.Fatalf("rejection structure %+v", p)
	}
	status := string(raw[p.Parts[1].BodyStart:p.Parts[1].BodyEnd])
	if !strings.Contains(status, "Status: 5.7.1") || !strings.Contains(status, "Final-Recipient: rfc822; bob@example.com") {
		t.Fatalf("delivery-status %q", status)
	}
	text, _ := message.Decode(raw[p.Parts[0].BodyStart:p.Parts[0].BodyEnd], p.Parts[0].Encoding)
	if !strings.Contains(string(text), "No offers, please.") {
		t.Fatalf("rejection text %q", text)
	}
	if n := len(h.inbox("bob@example.com")); n != 0 {
		t.Fatalf("rejected message stored: INBOX holds %d", n)
	}
}

// A script over its limits (here: evaluation steps) fails, and the
// message is kept: a broken script never loses mail.
func TestSieveBrokenScriptKeeps(t *testing.T) {
	var keys []string
	for i := 0; i < 200; i++ {
		keys = append(keys, `"nomatch`+strings.Repeat("x", i%7)+`"`)
	}
	h, _ := sieveHarness(t, `require "fileinto";
if header :contains "Subject" [`+strings.Join(keys, ",")+`] { fileinto "Nowhere"; }
discard;
`, sieve.Limits{MaxSteps: 50})
	c := h.dial()
	c.do("EHLO c", 250, "")
	c.sendMail("x@remote.example", []string{"bob@example.com"}, mxMail("x@remote.example", "hello", ""))
	if n := len(h.inbox("bob@example.com")); n != 1 {
		t.Fatalf("a failing script must keep: INBOX holds %d", n)
	}
}

// A global sieve_before script files spam for every account, whatever
// the personal script says; a sieve_after script runs after it.
func TestSieveGlobalBeforeAfter(t *testing.T) {
	compile := func(src string) *sieve.Script {
		sc, err := sieve.Compile([]byte(src), sieve.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		return sc
	}
	before := compile(`require "fileinto"; if header :is "X-Spam" "yes" { fileinto "Junk"; stop; }`)
	after := compile(`require "imap4flags"; addflag "\\Seen";`)
	clock := &sieveClock{t: time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)}
	h := newHarness(t, ModeMX, func(c *Config) {
		d, err := delivery.New(delivery.Config{Store: c.Store, Queue: &signQueue{}, Hostname: c.Hostname, Logger: c.Logger, Now: clock.now,
			Sieve: delivery.SieveConfig{Before: []*sieve.Script{before}, After: []*sieve.Script{after}}})
		if err != nil {
			t.Fatal(err)
		}
		c.Deliverer = d
	})
	c := h.dial()
	c.do("EHLO c", 250, "")
	c.sendMail("x@remote.example", []string{"alice@example.com"}, mxMail("x@remote.example", "buy", "X-Spam: yes\r\n"))
	c.sendMail("x@remote.example", []string{"alice@example.com"}, mxMail("x@remote.example", "hello", ""))
	if metas, _ := h.mailboxMessages("alice@example.com", "Junk"); len(metas) != 1 {
		t.Fatalf("Junk holds %d messages, want the spam", len(metas))
	}
	metas, _ := h.mailboxMessages("alice@example.com", "INBOX")
	if len(metas) != 1 || !metas[0].HasFlag(store.FlagSeen) {
		t.Fatalf("INBOX %+v: the implicit keep with sieve_after's flag", metas)
	}
}
