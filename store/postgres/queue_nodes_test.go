package postgres

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/mailroom/mailroom/queue"
	"github.com/mailroom/mailroom/store"
)

// countingSink is an SMTP server that counts the messages each recipient
// gets.
type countingSink struct {
	mu   sync.Mutex
	msgs int
	per  map[string]int
}

func (c *countingSink) NewSession(*smtp.Conn) (smtp.Session, error) { return &countSession{c: c}, nil }

type countSession struct {
	c     *countingSink
	rcpts []string
}

func (s *countSession) Reset()                               { s.rcpts = nil }
func (s *countSession) Logout() error                        { return nil }
func (s *countSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *countSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.rcpts = append(s.rcpts, to)
	return nil
}
func (s *countSession) Data(r io.Reader) error {
	if _, err := io.Copy(io.Discard, r); err != nil {
		return err
	}
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	s.c.msgs++
	for _, r := range s.rcpts {
		s.c.per[r]++
	}
	return nil
}

// Two nodes run the outbound queue on one database: every message is
// delivered exactly once.
func TestTwoNodesQueueDeliversOnce(t *testing.T) {
	const n = 40
	ctx := context.Background()
	dsn := testDSN(t)
	n1, n2 := openDSN(t, dsn), openDSN(t, dsn)
	sink := &countingSink{per: map[string]int{}}
	srv := smtp.NewServer(sink)
	srv.Domain = "sink.test"
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	for i := range n {
		rcpts := []string{fmt.Sprintf("r%d@remote.test", i), fmt.Sprintf("s%d@other.test", i)}
		if _, err := n1.Enqueue(ctx, store.QueuedMessage{From: "", Recipients: rcpts, Raw: []byte("Subject: q\r\n\r\nhi\r\n")}); err != nil {
			t.Fatal(err)
		}
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for i, st := range []*Store{n1, n2} {
		q := queue.New(queue.Config{
			Store: st, Hostname: "mail.example.org", Logger: log, Owner: fmt.Sprintf("node-%d", i+1),
			RelayHost: l.Addr().String(), PollInterval: 20 * time.Millisecond, Workers: 4,
			CommandTimeout: 30 * time.Second, // a late reply on a loaded machine must not defer a message
		})
		q.Start()
		t.Cleanup(func() { q.Shutdown(context.Background()) })
	}
	deadline := time.Now().Add(60 * time.Second) // a hang guard
	for {
		items, err := n1.QueueItems(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(items) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d messages still queued", len(items))
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // room for a duplicate to show
	sink.mu.Lock()
	defer sink.mu.Unlock()
	if sink.msgs != n {
		t.Fatalf("%d messages delivered for %d queued", sink.msgs, n)
	}
	for i := range n {
		for _, r := range []string{fmt.Sprintf("r%d@remote.test", i), fmt.Sprintf("s%d@other.test", i)} {
			if sink.per[r] != 1 {
				t.Errorf("%s got %d copies", r, sink.per[r])
			}
		}
	}
}
