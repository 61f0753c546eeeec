package storetest

import (
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/mailroom/mailroom/store"
)

// testListBodies: ListBodies streams the same metadata as ListMessages
// plus each message's exact bytes, in UID order, over several batches.
func testListBodies(t *testing.T, s store.Store) {
	a := mustAccount(t, s, "alice@example.org")
	inbox := mustMailbox(t, s, a.ID, "INBOX")
	const n = 300 // more than one batch of any sensible chunked reader
	msgs := make([]store.NewMessage, n)
	for i := range msgs {
		msgs[i] = testMessage(fmt.Sprintf("m%d", i), "$K")
	}
	mustAppend(t, s, inbox.Ref(), msgs...)
	want := metas(t, s, inbox.Ref(), nil)
	var got []store.MessageMeta
	err := s.ListBodies(ctx(t), inbox.Ref(), nil, func(m store.MessageMeta, raw []byte) error {
		i := len(got)
		if string(raw) != string(msgs[i].Raw) {
			return fmt.Errorf("message %d: body %q, want %q", i, raw, msgs[i].Raw)
		}
		got = append(got, m)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("ListBodies metadata differs from ListMessages")
	}

	sel := []uint32{299, 2, 5, 150, 5000} // unsorted; 5000 does not exist
	var gotUIDs []uint32
	err = s.ListBodies(ctx(t), inbox.Ref(), sel, func(m store.MessageMeta, raw []byte) error {
		if string(raw) != string(msgs[m.UID-1].Raw) {
			return fmt.Errorf("UID %d: wrong body %q", m.UID, raw)
		}
		gotUIDs = append(gotUIDs, m.UID)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	wantUIDs(t, "ListBodies subset", gotUIDs, []uint32{2, 5, 150, 299})
	if err := s.ListBodies(ctx(t), inbox.Ref(), []uint32{}, func(store.MessageMeta, []byte) error {
		return errors.New("called for an empty UID list")
	}); err != nil {
		t.Fatal(err)
	}

	stop := errors.New("stop")
	calls := 0
	err = s.ListBodies(ctx(t), inbox.Ref(), nil, func(store.MessageMeta, []byte) error {
		calls++
		if calls == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || calls != 3 {
		t.Fatalf("callback error: err %v after %d calls", err, calls)
	}
	err = s.ListBodies(ctx(t), store.MailboxRef{MailboxID: 987654}, nil, func(store.MessageMeta, []byte) error { return nil })
	wantErr(t, "ListBodies of missing mailbox", err, store.ErrNotFound)
}
