package storetest

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
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

// testReadBodies: ReadBodies hands fn the id, UID and exact bytes of
// each message asked for that the mailbox has, in UID order, returns
// fn's error as is, and hands nothing of a mailbox the ref does not name
// (another account's, or one with another UIDVALIDITY); nor does
// ReadHeaders, whose headers checkHeaders compares with ListHeaders's.
func testReadBodies(t *testing.T, s store.Store) {
	a := mustAccount(t, s, "alice@example.org")
	b := mustAccount(t, s, "bob@example.org")
	inbox := mustMailbox(t, s, a.ID, "INBOX")
	msgs := make([]store.NewMessage, 70)
	for i := range msgs {
		msgs[i] = testMessage(fmt.Sprintf("m%d %s", i, strings.Repeat("x", i*101)))
	}
	mustAppend(t, s, inbox.Ref(), msgs...)
	ids := map[uint32]int64{}
	for _, m := range metas(t, s, inbox.Ref(), nil) {
		ids[m.UID] = m.ID
	}
	var got []uint32
	err := s.ReadBodies(ctx(t), inbox.Ref(), []uint32{2, 4, 5, 64, 70, 5000}, func(id int64, uid uint32, raw []byte) error {
		if id != ids[uid] || string(raw) != string(msgs[uid-1].Raw) {
			return fmt.Errorf("UID %d: id %d, body %.40q; want id %d, body %.40q", uid, id, raw, ids[uid], msgs[uid-1].Raw)
		}
		got = append(got, uid)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	wantUIDs(t, "ReadBodies", got, []uint32{2, 4, 5, 64, 70})

	stop := errors.New("stop")
	calls := 0
	err = s.ReadBodies(ctx(t), inbox.Ref(), []uint32{1, 2, 3}, func(int64, uint32, []byte) error {
		calls++
		return stop
	})
	if !errors.Is(err, stop) || calls != 1 {
		t.Fatalf("callback error: err %v after %d calls", err, calls)
	}

	foreign := inbox.Ref()
	foreign.AccountID = b.ID
	stale := inbox.Ref()
	stale.UIDValidity++
	for what, ref := range map[string]store.MailboxRef{"another account's": foreign, "another UIDVALIDITY's": stale} {
		err := s.ReadBodies(ctx(t), ref, []uint32{1, 2}, func(_ int64, uid uint32, _ []byte) error {
			return fmt.Errorf("UID %d handed", uid)
		})
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			t.Errorf("ReadBodies of %s mailbox: %v", what, err)
		}
		err = s.ReadHeaders(ctx(t), ref, []uint32{1, 2}, func(_ int64, uid uint32, _ []byte) error {
			return fmt.Errorf("UID %d header handed", uid)
		})
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			t.Errorf("ReadHeaders of %s mailbox: %v", what, err)
		}
	}
}

// testReadMessageBody: ReadMessageBody hands fn exactly MessageBody's
// bytes (empty, large, any line endings), returns fn's error as is, and is
// ErrNotFound for a message not in the mailbox.
func testReadMessageBody(t *testing.T, s store.Store) {
	a := mustAccount(t, s, "alice@example.org")
	inbox := mustMailbox(t, s, a.ID, "INBOX")
	other := mustMailbox(t, s, a.ID, "Archive")
	var msgs []store.NewMessage
	for _, c := range wireCases {
		msgs = append(msgs, wireMessage(c.raw))
	}
	big := "Subject: big\r\n\r\n" + strings.Repeat("0123456789abcdef\r\n", 1<<16)
	msgs = append(msgs, wireMessage(big))
	mustAppend(t, s, inbox.Ref(), msgs...)
	ms := metas(t, s, inbox.Ref(), nil)
	for i, m := range ms {
		var got []byte
		calls := 0
		err := s.ReadMessageBody(ctx(t), inbox.Ref(), m.ID, func(raw []byte) error {
			calls++
			got = append([]byte(nil), raw...)
			return nil
		})
		if err != nil || calls != 1 || string(got) != string(msgs[i].Raw) {
			t.Errorf("message %d: %d calls, %d bytes, %v; want %d bytes", i, calls, len(got), err, len(msgs[i].Raw))
		}
	}
	stop := errors.New("stop")
	if err := s.ReadMessageBody(ctx(t), inbox.Ref(), ms[0].ID, func([]byte) error { return stop }); err != stop {
		t.Errorf("fn's error: got %v", err)
	}
	for what, ref := range map[string]store.MailboxRef{"other mailbox": other.Ref(), "missing": inbox.Ref()} {
		id := ms[0].ID
		if what == "missing" {
			id = ms[len(ms)-1].ID + 1000
		}
		err := s.ReadMessageBody(ctx(t), ref, id, func([]byte) error { t.Errorf("%s: fn called", what); return nil })
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s: %v, want ErrNotFound", what, err)
		}
	}
}
