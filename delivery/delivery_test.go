package delivery_test

import (
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/mailroom/mailroom/delivery"
	"github.com/mailroom/mailroom/message"
	"github.com/mailroom/mailroom/store"
	"github.com/mailroom/mailroom/store/sqlite"
)

var testLog = slog.New(slog.NewTextHandler(io.Discard, nil))

// signingQueue is a delivery.Queue that marks what it signs and counts
// kicks.
type signingQueue struct {
	mu     sync.Mutex
	signed []string // sign domains asked for
	kicks  int
}

const sigHeader = "DKIM-Signature: test\r\n"

func (q *signingQueue) Sign(raw []byte, domain string) []byte {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.signed = append(q.signed, domain)
	if domain == "" {
		return raw
	}
	return append([]byte(sigHeader), raw...)
}

func (q *signingQueue) Kick() {
	q.mu.Lock()
	q.kicks++
	q.mu.Unlock()
}

type aliasMap map[string][]string

func (m aliasMap) AliasTargets(key string) ([]string, bool) { t, ok := m[key]; return t, ok }
func (m aliasMap) AliasDomain(domain string) bool {
	for k := range m {
		if strings.HasSuffix(k, "@"+domain) {
			return true
		}
	}
	return false
}

type quotaFunc func(email string) (int64, int64)

func (f quotaFunc) Limits(email string) (int64, int64) { return f(email) }

func openStore(t *testing.T, emails ...string) *sqlite.Store {
	t.Helper()
	st, err := sqlite.OpenWith(t.Context(), filepath.Join(t.TempDir(), "mail.db"), nil, sqlite.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	for _, e := range emails {
		if _, err := st.CreateAccount(t.Context(), e, "x"); err != nil {
			t.Fatal(err)
		}
	}
	return st
}

func newDeliverer(t *testing.T, cfg delivery.Config) *delivery.Deliverer {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = testLog
	}
	if cfg.Hostname == "" {
		cfg.Hostname = "mx.example.com"
	}
	d, err := delivery.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func newMessage(raw string) store.NewMessage {
	return store.NewMessage{Raw: []byte(raw), Part: message.Parse([]byte(raw))}
}

const testRaw = "From: <alice@example.com>\r\nSubject: s\r\n\r\nbody\r\n"

func resolve(t *testing.T, d *delivery.Deliverer, addr string, relay bool) delivery.Recipient {
	t.Helper()
	rc, err := d.Resolve(t.Context(), delivery.Request{Addr: addr, Relay: relay})
	if err != nil {
		t.Fatalf("Resolve(%s): %v", addr, err)
	}
	return rc
}

func inboxCount(t *testing.T, st store.Store, email string) uint32 {
	t.Helper()
	a, err := st.AccountByEmail(t.Context(), email)
	if err != nil {
		t.Fatal(err)
	}
	mb, err := st.MailboxByName(t.Context(), a.ID, store.Inbox)
	if err != nil {
		t.Fatal(err)
	}
	s, err := st.MailboxStatus(t.Context(), mb.Ref())
	if err != nil {
		t.Fatal(err)
	}
	return s.Messages
}

func queueItems(t *testing.T, st store.Store) []store.QueueItem {
	t.Helper()
	items, err := st.QueueItems(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return items
}

// The double send of issue 13 point 2: the remote copy was queued in one
// transaction and the local copies written in a second; when the second
// failed the client got 451, retried, and the remote recipient got the
// message twice. Now a failure of the local part stores nothing, and the
// retry queues exactly one copy.
func TestLocalFailureQueuesNothing(t *testing.T) {
	st := openStore(t, "alice@example.com", "bob@example.com")
	q := &signingQueue{}
	d := newDeliverer(t, delivery.Config{Store: st, Queue: q})
	env := delivery.Envelope{
		From:       "alice@example.com",
		Recipients: []delivery.Recipient{resolve(t, d, "bob@example.com", true), resolve(t, d, "x@remote.example", true)},
		SignDomain: "example.com",
	}
	// Bob's account goes between RCPT and the end of DATA: the local
	// part fails inside the transaction, after the queue row was
	// written.
	if err := st.DeleteAccount(t.Context(), "bob@example.com"); err != nil {
		t.Fatal(err)
	}
	_, err := d.Deliver(t.Context(), env, newMessage(testRaw))
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Deliver = %v, want ErrNotFound", err)
	}
	if items := queueItems(t, st); len(items) != 0 {
		t.Fatalf("failed delivery left %d queue items", len(items))
	}
	if q.kicks != 0 {
		t.Fatalf("queue kicked %d times for nothing", q.kicks)
	}

	// The client's retry: bob is unknown now, the remote copy is queued
	// once.
	if _, err := d.Resolve(t.Context(), delivery.Request{Addr: "bob@example.com", Relay: true}); !errors.Is(err, delivery.ErrNoSuchUser) {
		t.Fatalf("Resolve(bob) after delete = %v", err)
	}
	env.Recipients = env.Recipients[1:]
	res, err := d.Deliver(t.Context(), env, newMessage(testRaw))
	if err != nil {
		t.Fatal(err)
	}
	items := queueItems(t, st)
	if len(items) != 1 || items[0].ID != res.QueueID || len(items[0].Recipients) != 1 || items[0].Recipients[0].Addr != "x@remote.example" || items[0].From != "alice@example.com" {
		t.Fatalf("queue after retry: %+v (result %+v)", items, res)
	}
	raw, err := st.QueueMessage(t.Context(), res.QueueID)
	if err != nil || string(raw) != sigHeader+testRaw {
		t.Fatalf("queued bytes %q, %v; want them signed", raw, err)
	}
	if q.kicks != 1 {
		t.Fatalf("%d kicks, want 1", q.kicks)
	}
}

// Local copies and the queue entry in one call: each account once, each
// remote address once, the local copies unsigned, the queued one signed.
func TestDeliverLocalAndRemote(t *testing.T) {
	st := openStore(t, "alice@example.com", "bob@example.com")
	q := &signingQueue{}
	d := newDeliverer(t, delivery.Config{Store: st, Queue: q, Aliases: aliasMap{
		"team@example.com": {"alice@example.com", "bob@example.com", "x@remote.example"},
	}})
	env := delivery.Envelope{From: "s@remote.example", Recipients: []delivery.Recipient{
		resolve(t, d, "team@example.com", false),
		resolve(t, d, "alice@example.com", false),
	}}
	res, err := d.Deliver(t.Context(), env, newMessage(testRaw))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Delivered) != 2 || res.QueueID == 0 {
		t.Fatalf("result %+v", res)
	}
	for _, a := range []string{"alice@example.com", "bob@example.com"} {
		if n := inboxCount(t, st, a); n != 1 {
			t.Errorf("%s has %d messages, want 1", a, n)
		}
	}
	raw, err := st.QueueMessage(t.Context(), res.QueueID)
	if err != nil || string(raw) != testRaw {
		t.Fatalf("forwarded copy %q, %v: must not be signed (SignDomain empty)", raw, err)
	}
	if _, err := d.Deliver(t.Context(), delivery.Envelope{}, newMessage(testRaw)); !errors.Is(err, delivery.ErrNoRecipients) {
		t.Fatalf("Deliver without recipients = %v", err)
	}
}

func TestDeliverJunk(t *testing.T) {
	st := openStore(t, "alice@example.com")
	d := newDeliverer(t, delivery.Config{Store: st})
	res, err := d.Deliver(t.Context(), delivery.Envelope{Recipients: []delivery.Recipient{resolve(t, d, "alice@example.com", false)}, Junk: true}, newMessage(testRaw))
	if err != nil {
		t.Fatal(err)
	}
	a, _ := st.AccountByEmail(t.Context(), "alice@example.com")
	junk, err := st.MailboxByName(t.Context(), a.ID, "Junk")
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Delivered) != 1 || res.Delivered[0].MailboxID != junk.ID {
		t.Fatalf("delivered %+v, want Junk %d", res.Delivered, junk.ID)
	}
}

// The typed errors of Resolve.
func TestResolveErrors(t *testing.T) {
	st := openStore(t, "alice@example.com", "full@example.com")
	full := quotaFunc(func(email string) (int64, int64) {
		if email == "full@example.com" {
			return 0, 1
		}
		return 0, 0
	})
	aliases := aliasMap{
		"loop1@example.com": {"loop2@example.com"},
		"loop2@example.com": {"loop1@example.com"},
		"fwd@example.com":   {"y@remote.example"},
		"two@example.com":   {"full@example.com", "alice@example.com"},
	}
	withQueue := newDeliverer(t, delivery.Config{Store: st, Queue: &signingQueue{}, Aliases: aliases, Quota: full})
	noQueue := newDeliverer(t, delivery.Config{Store: st, Aliases: aliases, Quota: full})
	a, _ := st.AccountByEmail(t.Context(), "full@example.com")
	if _, err := st.Deliver(t.Context(), []store.Target{{AccountID: a.ID}}, newMessage(testRaw)); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		d    *delivery.Deliverer
		req  delivery.Request
		want error
	}{
		{withQueue, delivery.Request{Addr: "nobody@example.com"}, delivery.ErrNoSuchUser},
		{withQueue, delivery.Request{Addr: "a@b@example.com"}, delivery.ErrBadAddress},
		{withQueue, delivery.Request{Addr: "x@remote.example"}, delivery.ErrRelayDenied},
		{noQueue, delivery.Request{Addr: "x@remote.example", Relay: true}, delivery.ErrRelayUnavailable},
		{noQueue, delivery.Request{Addr: "fwd@example.com"}, delivery.ErrRelayUnavailable},
		{withQueue, delivery.Request{Addr: "loop1@example.com"}, delivery.ErrLoop},
		{withQueue, delivery.Request{Addr: "full@example.com"}, delivery.ErrMailboxFull},
		{withQueue, delivery.Request{Addr: "full@example.com", IgnoreQuota: true}, nil},
		{withQueue, delivery.Request{Addr: "x@remote.example", Relay: true}, nil},
		{withQueue, delivery.Request{Addr: "fwd@example.com"}, nil},
	} {
		_, err := tc.d.Resolve(t.Context(), tc.req)
		if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
			t.Errorf("Resolve(%+v) = %v, want %v", tc.req, err, tc.want)
		}
	}
	// Behind an alias with several targets a full account is skipped.
	rc := resolve(t, withQueue, "two@example.com", false)
	if len(rc.Accounts) != 1 || rc.Accounts[0].Email != "alice@example.com" || !rc.ViaAlias {
		t.Fatalf("two@ resolved to %+v", rc)
	}
}

// A store without DeliverAndEnqueue needs a Committer: New refuses to
// fall back to two transactions on its own.
func TestNewNeedsTransactionalStore(t *testing.T) {
	st := openStore(t)
	var dir delivery.Directory = struct{ delivery.Directory }{st}
	if _, err := delivery.New(delivery.Config{Store: dir}); err == nil {
		t.Fatal("New accepted a store without DeliverAndEnqueue and no Committer")
	}
	d := newDeliverer(t, delivery.Config{Store: st})
	if !d.Transactional() || d.Outbound() {
		t.Fatalf("Transactional %v, Outbound %v; want true, false", d.Transactional(), d.Outbound())
	}
}
