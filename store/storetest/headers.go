package storetest

import (
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/mailroom/mailroom/message"
	"github.com/mailroom/mailroom/store"
)

// headerRaws are messages whose top-level header ListHeaders must cut
// exactly where message.Parse puts the body start.
var headerRaws = []string{
	"From: a@example.org\r\nSubject: crlf\r\n\r\nbody\r\n",
	"From: a@example.org\nSubject: bare lf\n\nbody\n",
	"Subject: no body, no blank line\r\n",
	"Subject: no body, no final newline",
	"Subject: only a header\r\n\r\n",
	"\r\nno header: starts with a blank line\r\n",
	"\nno header, bare LF\n",
	"not a field line\r\nSubject: x\r\n\r\nbody\r\n",
	"",
	"Subject: nul \x00 and \xff bytes\r\nX: \x00\r\n\r\n\x00body",
	"Subject: folded\r\n continued\r\n\tagain\r\n\r\n" + strings.Repeat("large body line\r\n", 20000),
	"Subject: mixed\r\nTo: b@example.com\n\r\nbody",
}

func headerMessage(raw string) store.NewMessage {
	return store.NewMessage{Raw: []byte(raw), Part: message.Parse([]byte(raw))}
}

func wantHeader(raw []byte) string {
	return string(raw[:message.Parse(raw).BodyStart])
}

// listHeaders returns the headers ListHeaders gives for uids, by UID, and
// checks that its metadata is ListMessages'.
func listHeaders(t *testing.T, s store.Store, mailboxID store.MailboxRef, uids []uint32) map[uint32]string {
	t.Helper()
	got := map[uint32]string{}
	var ms []store.MessageMeta
	err := s.ListHeaders(ctx(t), mailboxID, uids, func(m store.MessageMeta, h []byte) error {
		if h == nil {
			return fmt.Errorf("UID %d: nil header", m.UID)
		}
		got[m.UID] = string(h)
		ms = append(ms, m)
		return nil
	})
	if err != nil {
		t.Fatalf("ListHeaders: %v", err)
	}
	if want := metas(t, s, mailboxID, uids); !reflect.DeepEqual(ms, want) && (len(ms) > 0 || len(want) > 0) {
		t.Fatalf("ListHeaders metadata differs from ListMessages:\n%+v\n%+v", ms, want)
	}
	return got
}

// checkHeaders checks that mailboxID holds exactly raws (by UID) and
// that ListHeaders gives each one's header.
func checkHeaders(t *testing.T, what string, s store.Store, mailboxID store.MailboxRef, raws map[uint32]string) {
	t.Helper()
	got := listHeaders(t, s, mailboxID, nil)
	if len(got) != len(raws) {
		t.Fatalf("%s: ListHeaders gave %d messages, want %d", what, len(got), len(raws))
	}
	for uid, raw := range raws {
		if h, ok := got[uid]; !ok || h != wantHeader([]byte(raw)) {
			t.Errorf("%s: UID %d header %q (present %v), want %q", what, uid, h, ok, wantHeader([]byte(raw)))
		}
	}
	// ReadHeaders hands the same headers, in UID order.
	uids := slices.Sorted(maps.Keys(raws))
	var order []uint32
	err := s.ReadHeaders(ctx(t), mailboxID, uids, func(_ int64, uid uint32, hdr []byte) error {
		if raw, ok := raws[uid]; !ok || string(hdr) != wantHeader([]byte(raw)) {
			t.Errorf("%s: ReadHeaders: UID %d header %q (asked for %v), want %q", what, uid, hdr, ok, wantHeader([]byte(raw)))
		}
		order = append(order, uid)
		return nil
	})
	if err != nil {
		t.Fatalf("%s: ReadHeaders: %v", what, err)
	}
	wantUIDs(t, what+": ReadHeaders", order, uids)
}

// testListHeaders: ListHeaders gives each message's top-level header
// (raw[:BodyStart]) for messages stored by Append and Deliver and copied
// or moved, CRLF, bare LF, without body or without header alike.
func testListHeaders(t *testing.T, s store.Store) {
	a := mustAccount(t, s, "alice@example.org")
	b := mustAccount(t, s, "bob@example.org")
	inbox := mustMailbox(t, s, a.ID, "INBOX")
	arch := mustMailbox(t, s, a.ID, "Archive")
	trash := mustMailbox(t, s, a.ID, "Trash")
	bInbox := mustMailbox(t, s, b.ID, "INBOX")

	appended := map[uint32]string{}
	var msgs []store.NewMessage
	for _, raw := range headerRaws {
		msgs = append(msgs, headerMessage(raw))
	}
	for i, uid := range mustAppend(t, s, inbox.Ref(), msgs...) {
		appended[uid] = headerRaws[i]
	}
	checkHeaders(t, "Append", s, inbox.Ref(), appended)

	delivered := map[uint32]string{}
	for _, raw := range headerRaws {
		d, err := s.Deliver(ctx(t), []store.Target{{AccountID: a.ID, MailboxID: arch.ID}, {AccountID: b.ID}}, headerMessage(raw))
		if err != nil {
			t.Fatal(err)
		}
		if d[1].MailboxID != bInbox.ID || d[0].UID != d[1].UID {
			t.Fatalf("Deliver: %+v", d)
		}
		delivered[d[0].UID] = raw
	}
	checkHeaders(t, "Deliver", s, arch.Ref(), delivered)
	checkHeaders(t, "Deliver, second account", s, bInbox.Ref(), delivered)

	// Copy and Move share the bytes; the header goes with them, and stays
	// while any copy does.
	_, pairs, err := s.Copy(ctx(t), inbox.Ref(), uidsOf(t, s, inbox.Ref()), trash.Ref())
	if err != nil {
		t.Fatal(err)
	}
	copied := map[uint32]string{}
	for _, p := range pairs {
		copied[p.Dst] = appended[p.Src]
	}
	if len(copied) != len(headerRaws) {
		t.Fatalf("Copy copied %d messages, want %d", len(copied), len(headerRaws))
	}
	checkHeaders(t, "Copy", s, trash.Ref(), copied)
	_, pairs, _, err = s.Move(ctx(t), arch.Ref(), uidsOf(t, s, arch.Ref()), inbox.Ref())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pairs {
		appended[p.Dst] = delivered[p.Src]
	}
	if len(appended) != 2*len(headerRaws) {
		t.Fatalf("Move moved %d messages, want %d", len(appended)-len(headerRaws), len(headerRaws))
	}
	checkHeaders(t, "Move", s, inbox.Ref(), appended)
	checkHeaders(t, "Move source", s, arch.Ref(), nil)
	if _, _, err := s.Expunge(ctx(t), trash.Ref(), nil, false); err != nil {
		t.Fatal(err)
	}
	checkHeaders(t, "after the copies' expunge", s, inbox.Ref(), appended)
	if err := s.DeleteAccount(ctx(t), b.Email); err != nil {
		t.Fatal(err)
	}
	checkHeaders(t, "after the other account's deletion", s, inbox.Ref(), appended)

	// A subset, unsorted, with a UID that does not exist.
	got := listHeaders(t, s, inbox.Ref(), []uint32{3, 1, 999})
	if len(got) != 2 || got[1] != wantHeader([]byte(appended[1])) || got[3] != wantHeader([]byte(appended[3])) {
		t.Fatalf("ListHeaders of a subset: %v", got)
	}
}

// testListHeadersBatches: ListHeaders walks many messages over several
// batches, stops at a callback error and knows missing mailboxes.
func testListHeadersBatches(t *testing.T, s store.Store) {
	a := mustAccount(t, s, "alice@example.org")
	inbox := mustMailbox(t, s, a.ID, "INBOX")
	const n = 700 // more than one batch of any sensible chunked reader
	msgs := make([]store.NewMessage, n)
	for i := range msgs {
		msgs[i] = testMessage(fmt.Sprintf("m%d", i))
	}
	mustAppend(t, s, inbox.Ref(), msgs...)
	got := listHeaders(t, s, inbox.Ref(), nil)
	if len(got) != n {
		t.Fatalf("ListHeaders gave %d messages, want %d", len(got), n)
	}
	for i, m := range msgs {
		if want := string(m.Raw[:m.Part.BodyStart]); got[uint32(i+1)] != want {
			t.Fatalf("UID %d: header %q, want %q", i+1, got[uint32(i+1)], want)
		}
	}
	sel := make([]uint32, 0, n)
	for uid := uint32(n); uid >= 1; uid -= 2 {
		sel = append(sel, uid)
	}
	if got := listHeaders(t, s, inbox.Ref(), sel); len(got) != len(sel) {
		t.Fatalf("ListHeaders of %d UIDs gave %d", len(sel), len(got))
	}
	if err := s.ListHeaders(ctx(t), inbox.Ref(), []uint32{}, func(store.MessageMeta, []byte) error {
		return errors.New("called for an empty UID list")
	}); err != nil {
		t.Fatal(err)
	}
	stop := errors.New("stop")
	calls := 0
	err := s.ListHeaders(ctx(t), inbox.Ref(), nil, func(store.MessageMeta, []byte) error {
		calls++
		if calls == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || calls != 3 {
		t.Fatalf("callback error: err %v after %d calls", err, calls)
	}
	err = s.ListHeaders(ctx(t), store.MailboxRef{MailboxID: 987654}, nil, func(store.MessageMeta, []byte) error { return nil })
	wantErr(t, "ListHeaders of missing mailbox", err, store.ErrNotFound)
}
