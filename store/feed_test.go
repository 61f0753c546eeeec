package store

import (
	"reflect"
	"sync"
	"testing"
)

func TestFeedDeliversAndCoalesces(t *testing.T) {
	var f Feed
	ch, cancel := f.Watch(1)
	defer cancel()
	other, cancelOther := f.Watch(2)
	defer cancelOther()

	f.Publish(Change{AccountID: 1, MailboxID: 5})
	f.Publish(Change{AccountID: 1, MailboxID: 5}) // coalesces, must not block
	if got := <-ch; !reflect.DeepEqual(got, Change{AccountID: 1, MailboxID: 5}) {
		t.Fatalf("got %+v", got)
	}
	select {
	case c := <-ch:
		t.Fatalf("expected coalesced notifications, got extra %+v", c)
	default:
	}
	select {
	case c := <-other:
		t.Fatalf("account 2 got a change of account 1: %+v", c)
	default:
	}

	// Different mailboxes coalesce into MailboxID 0.
	f.Publish(Change{AccountID: 1, MailboxID: 5})
	f.Publish(Change{AccountID: 1, MailboxID: 6})
	if got := <-ch; !reflect.DeepEqual(got, Change{AccountID: 1, MailboxID: 0}) {
		t.Fatalf("merged change = %+v, want MailboxID 0", got)
	}

	// Metadata changes of one mailbox keep their entry names; with a
	// change of another kind they become MailboxID 0.
	f.Publish(Change{AccountID: 1, MailboxID: 5, Metadata: []string{"/private/a"}})
	f.Publish(Change{AccountID: 1, MailboxID: 5, Metadata: []string{"/shared/b", "/private/a"}})
	if got := <-ch; !reflect.DeepEqual(got, Change{AccountID: 1, MailboxID: 5, Metadata: []string{"/private/a", "/shared/b"}}) {
		t.Fatalf("merged metadata change = %+v", got)
	}
	f.Publish(Change{AccountID: 1, MailboxID: 5, Metadata: []string{"/private/a"}})
	f.Publish(Change{AccountID: 1, MailboxID: 5})
	if got := <-ch; !reflect.DeepEqual(got, Change{AccountID: 1}) {
		t.Fatalf("metadata merged with a message change = %+v, want MailboxID 0", got)
	}
}

func TestFeedCancel(t *testing.T) {
	var f Feed
	ch, cancel := f.Watch(1)
	if n := f.Subscribers(1); n != 1 {
		t.Fatalf("subscribers = %d", n)
	}
	cancel()
	cancel()
	if _, ok := <-ch; ok {
		t.Fatal("channel not closed after cancel")
	}
	if n := f.Subscribers(1); n != 0 {
		t.Fatalf("subscribers after cancel = %d", n)
	}
	f.Publish(Change{AccountID: 1}) // no subscriber: must not panic
}

func TestFeedConcurrent(t *testing.T) {
	var f Feed
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for j := 0; j < 200; j++ {
				f.Publish(Change{AccountID: 1, MailboxID: int64(j % 3)})
			}
		}()
		go func() {
			defer wg.Done()
			for j := 0; j < 50; j++ {
				ch, cancel := f.Watch(1)
				f.Publish(Change{AccountID: 1, MailboxID: 9})
				if _, ok := <-ch; !ok {
					t.Error("closed channel before cancel")
				}
				cancel()
			}
		}()
	}
	wg.Wait()
}

func TestFeedWatchFunc(t *testing.T) {
	var f Feed
	var got []Change
	cancel := f.WatchFunc(1, func(c Change) { got = append(got, c) })
	f.Publish(Change{AccountID: 1, MailboxID: 7})
	f.Publish(Change{AccountID: 2, MailboxID: 8})
	if len(got) != 1 || got[0].MailboxID != 7 {
		t.Fatalf("got %+v", got)
	}
	if n := f.Subscribers(1); n != 1 {
		t.Fatalf("%d subscribers", n)
	}
	cancel()
	cancel()
	f.Publish(Change{AccountID: 1, MailboxID: 7})
	if len(got) != 1 || f.Subscribers(1) != 0 {
		t.Fatalf("after cancel: got %+v, %d subscribers", got, f.Subscribers(1))
	}
}
