package delivery_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mailroom/mailroom/delivery"
	"github.com/mailroom/mailroom/internal/srs"
)

func srsRewriter(t *testing.T, domain string) *srs.Rewriter {
	t.Helper()
	rw, err := srs.New(domain, [][]byte{[]byte("sixteen byte key!")}, 0, func() time.Time { return testEpoch })
	if err != nil {
		t.Fatal(err)
	}
	return rw
}

// An authenticated sender's direct remote recipient keeps its sender;
// the same message forwarded by an alias to another domain goes in a
// second queue entry with the SRS sender, in the same transaction as
// the local copy.
func TestSRSDirectAndForwarded(t *testing.T) {
	t.Parallel()
	st := openStore(t, "alice@example.com")
	q := &signingQueue{}
	d := newDeliverer(t, delivery.Config{Store: st, Queue: q, SRS: srsRewriter(t, "mx.example.com"),
		Aliases: aliasMap{"list@example.com": {"far@remote.example", "alice@example.com"}}})
	env := delivery.Envelope{From: "s@sender.example", Recipients: []delivery.Recipient{
		resolve(t, d, "direct@remote.example", true), resolve(t, d, "list@example.com", true)}}
	res, err := d.Deliver(t.Context(), env, newMessage(testRaw))
	if err != nil {
		t.Fatal(err)
	}
	items := queueItems(t, st)
	if len(items) != 2 || res.QueueID == 0 || len(res.Delivered) != 1 {
		t.Fatalf("result %+v, queue %+v: want the local copy and two queue entries", res, items)
	}
	byRcpt := map[string]string{}
	for _, it := range items {
		if len(it.Recipients) != 1 {
			t.Fatalf("item %+v: want one recipient", it)
		}
		byRcpt[it.Recipients[0].Addr] = it.From
	}
	if byRcpt["direct@remote.example"] != "s@sender.example" {
		t.Errorf("direct recipient's sender %q", byRcpt["direct@remote.example"])
	}
	fwd := byRcpt["far@remote.example"]
	if !strings.HasPrefix(fwd, "SRS0=") || !strings.HasSuffix(fwd, "@mx.example.com") {
		t.Errorf("forwarded sender %q, want SRS0", fwd)
	}
	if n := inboxCount(t, st, "alice@example.com"); n != 1 {
		t.Errorf("alice has %d messages", n)
	}
	// The SRS address resolves back to the sender, relay or not.
	rc, err := d.Resolve(t.Context(), delivery.Request{Addr: fwd})
	if err != nil || len(rc.Remote) != 1 || rc.Remote[0] != "s@sender.example" || rc.ViaAlias {
		t.Errorf("Resolve(%s) = %+v, %v", fwd, rc, err)
	}
}

// A sender in a local domain (our SPF covers it) and the null sender are
// forwarded as they are.
func TestSRSKeepsLocalAndNullSenders(t *testing.T) {
	t.Parallel()
	st := openStore(t, "alice@example.com")
	d := newDeliverer(t, delivery.Config{Store: st, Queue: &signingQueue{}, SRS: srsRewriter(t, "mx.example.com"),
		Aliases: aliasMap{"fwd@example.com": {"far@remote.example"}}})
	for _, from := range []string{"alice@example.com", ""} {
		env := delivery.Envelope{From: from, Recipients: []delivery.Recipient{resolve(t, d, "fwd@example.com", false)}}
		if _, err := d.Deliver(t.Context(), env, newMessage(testRaw)); err != nil {
			t.Fatal(err)
		}
	}
	items := queueItems(t, st)
	if len(items) != 2 || items[0].From != "alice@example.com" || items[1].From != "" {
		t.Fatalf("queue %+v", items)
	}
}

// A Sieve redirect to another domain is sent with the SRS sender.
func TestSRSSieveRedirect(t *testing.T) {
	t.Parallel()
	st := openStore(t, "alice@example.com")
	a, _ := st.AccountByEmail(t.Context(), "alice@example.com")
	if _, err := st.PutSieveScript(t.Context(), a.ID, "r", []byte(`redirect "far@remote.example";`)); err != nil {
		t.Fatal(err)
	}
	if err := st.ActivateSieveScript(t.Context(), a.ID, "r"); err != nil {
		t.Fatal(err)
	}
	rw := srsRewriter(t, "mx.example.com")
	d := newDeliverer(t, delivery.Config{Store: st, Queue: &signingQueue{}, SRS: rw, Now: func() time.Time { return testEpoch }})
	env := delivery.Envelope{From: "s@remote.example", Recipients: []delivery.Recipient{resolve(t, d, "alice@example.com", false)}}
	if _, err := d.Deliver(t.Context(), env, newMessage(testRaw)); err != nil {
		t.Fatal(err)
	}
	items := queueItems(t, st)
	if len(items) != 1 || items[0].Recipients[0].Addr != "far@remote.example" {
		t.Fatalf("queue %+v", items)
	}
	if orig, err := rw.Reverse(items[0].From); err != nil || orig != "s@remote.example" {
		t.Fatalf("redirect sent from %q (reverses to %q, %v)", items[0].From, orig, err)
	}
}

// Forged and malformed SRS addresses are unknown users.
func TestSRSForgedIsNoSuchUser(t *testing.T) {
	t.Parallel()
	st := openStore(t, "alice@example.com")
	d := newDeliverer(t, delivery.Config{Store: st, Queue: &signingQueue{}, SRS: srsRewriter(t, "mx.example.com")})
	good, _ := srsRewriter(t, "mx.example.com").Forward("s@remote.example")
	other, _ := srs.New("mx.example.com", [][]byte{[]byte("another key, 16+")}, 0, func() time.Time { return testEpoch })
	forged, _ := other.Forward("s@remote.example")
	if _, err := d.Resolve(t.Context(), delivery.Request{Addr: good}); err != nil {
		t.Fatalf("good %s: %v", good, err)
	}
	for _, addr := range []string{forged, "SRS0=x@mx.example.com", "srs1=abcd=first.example==bad@mx.example.com"} {
		if _, err := d.Resolve(t.Context(), delivery.Request{Addr: addr}); !errors.Is(err, delivery.ErrNoSuchUser) {
			t.Errorf("Resolve(%s) = %v, want ErrNoSuchUser", addr, err)
		}
	}
}
