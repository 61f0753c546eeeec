package smtpserver

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/mailroom/mailroom/delivery"
	"github.com/mailroom/mailroom/store"
)

// signQueue is the outbound side of a transactional Deliverer: it marks
// what it signs and counts kicks.
type signQueue struct {
	mu    sync.Mutex
	kicks int
}

func (q *signQueue) Sign(raw []byte, domain string) []byte {
	if domain == "" {
		return raw
	}
	return append([]byte("DKIM-Signature: d="+domain+"\r\n"), raw...)
}

func (q *signQueue) Kick() {
	q.mu.Lock()
	q.kicks++
	q.mu.Unlock()
}

// onePathHarness is a submission server whose Deliverer commits into the
// SQLite store in one transaction (as serve wires it).
func onePathHarness(t *testing.T) (*harness, *signQueue) {
	q := &signQueue{}
	h := newHarness(t, ModeSubmission, func(c *Config) {
		d, err := delivery.New(delivery.Config{Store: c.Store, Queue: q, Hostname: c.Hostname, Logger: c.Logger})
		if err != nil {
			t.Fatal(err)
		}
		if !d.Transactional() {
			t.Fatal("Deliverer over SQLite is not transactional")
		}
		c.Deliverer = d
	})
	return h, q
}

func (h *harness) queued() []store.QueueItem {
	h.t.Helper()
	items, err := h.full.QueueItems(context.Background())
	if err != nil {
		h.t.Fatal(err)
	}
	return items
}

// Issue 13 point 2: data.go queued the remote recipients, then delivered
// locally in a second transaction; when that failed, the client got 451
// and its retry queued the remote copy a second time. Now the local part
// failing (bob's account deleted between RCPT and the end of DATA)
// stores nothing, the client gets 451 4.3.0, and the retry queues exactly
// one copy.
func TestLocalFailureDoesNotQueueTwice(t *testing.T) {
	h, q := onePathHarness(t)
	c := h.dial()
	c.do("EHLO c", 250, "")
	c.login("alice@example.com")
	c.do("MAIL FROM:<alice@example.com>", 250, "2.0.0")
	c.do("RCPT TO:<bob@example.com>", 250, "2.0.0")
	c.do("RCPT TO:<x@remote.example>", 250, "2.0.0")
	c.do("DATA", 354, "")
	if err := h.full.DeleteAccount(context.Background(), "bob@example.com"); err != nil {
		t.Fatal(err)
	}
	c.send(simpleMessage + ".\r\n")
	c.want(451, "4.3.0")
	if items := h.queued(); len(items) != 0 {
		t.Fatalf("451 but %d queue items stored", len(items))
	}

	// The retry: bob is gone now, x gets one queued copy.
	c.do("MAIL FROM:<alice@example.com>", 250, "2.0.0")
	c.do("RCPT TO:<bob@example.com>", 550, "5.1.1")
	c.do("RCPT TO:<x@remote.example>", 250, "2.0.0")
	c.do("DATA", 354, "")
	c.send(simpleMessage + ".\r\n")
	c.want(250, "2.0.0")
	items := h.queued()
	if len(items) != 1 || len(items[0].Recipients) != 1 || items[0].Recipients[0].Addr != "x@remote.example" || items[0].From != "alice@example.com" {
		t.Fatalf("queue after retry: %+v", items)
	}
	q.mu.Lock()
	kicks := q.kicks
	q.mu.Unlock()
	if kicks != 1 {
		t.Fatalf("%d kicks, want 1", kicks)
	}
}

// A mixed transaction on the one path: the local copy and the signed
// queue entry are both there after 250, the local copy unsigned.
func TestMixedRecipientsOneTransaction(t *testing.T) {
	h, _ := onePathHarness(t)
	c := h.dial()
	c.do("EHLO c", 250, "")
	c.login("alice@example.com")
	c.sendMail("alice@example.com", []string{"bob@example.com", "x@remote.example", "X@remote.example"}, simpleMessage)
	local := h.inbox("bob@example.com")
	if len(local) != 1 || strings.Contains(string(local[0]), "DKIM-Signature") {
		t.Fatalf("bob's copies: %q", local)
	}
	items := h.queued()
	if len(items) != 1 || len(items[0].Recipients) != 1 {
		t.Fatalf("queue: %+v", items)
	}
	raw, err := h.full.QueueMessage(context.Background(), items[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(raw), "DKIM-Signature: d=example.com\r\n") || !strings.Contains(string(raw), "Hello Bob.") {
		t.Fatalf("queued copy %q", raw)
	}
}
