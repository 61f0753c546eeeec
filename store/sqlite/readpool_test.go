package sqlite

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/mailroom/mailroom/store"
)

// TestReadPoolNoDeadlock runs many more concurrent sessions than the read
// pool has connections, each reading message bodies and parts from inside
// its ListMessages callback (as IMAP FETCH does) and taking a Changes
// snapshot (as IDLE does): with the pool capped, all must finish.
func TestReadPoolNoDeadlock(t *testing.T) {
	// A hang guard, not a time limit: a deadlock never finishes; the test
	// takes 4-7 s under -race on an idle 2-core machine, and once took
	// more than 60 s on a loaded one.
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	s := openTest(t)
	a, err := s.CreateAccount(ctx, "pool@example.org", "h")
	if err != nil {
		t.Fatal(err)
	}
	inbox, err := s.MailboxByName(ctx, a.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	batch := make([]store.NewMessage, listChunk+10) // more than one ListMessages chunk
	for i := range batch {
		batch[i] = newMsg("x")
	}
	if _, _, err := s.Append(ctx, inbox.Ref(), batch); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, maxReadConns+16)
	for g := 0; g < maxReadConns+16; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			n := 0
			err := s.ListMessages(ctx, inbox.Ref(), nil, func(m store.MessageMeta) error {
				n++
				if n%300 != g%300 {
					return nil
				}
				if _, err := s.MessageBody(ctx, inbox.Ref(), m.ID); err != nil {
					return err
				}
				_, err := s.MessagePart(ctx, inbox.Ref(), m.ID)
				return err
			})
			if err == nil {
				_, _, _, err = s.Changes(ctx, inbox.Ref(), 0)
			}
			if err != nil {
				errs <- err
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}
