package storetest

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/mailroom/mailroom/message"
	"github.com/mailroom/mailroom/store"
)

// partRaws are messages of varied MIME structure whose tree, stored at
// delivery, ListParts and MessagePart must give back exactly.
var partRaws = append([]string{
	"From: a@example.org\r\nSubject: mixed\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b1\r\n\r\npreamble\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nhello\r\n--b1\r\nContent-Type: application/pdf; name=\"a.pdf\"\r\nContent-Disposition: attachment; filename=a.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nQUJD\r\n--b1--\r\n",
	"Subject: forward\nContent-Type: message/rfc822\n\nFrom: c@example.net\nTo: d@example.net, \"Group\": e@x, f@y;\nSubject: inner\nContent-Type: multipart/alternative; boundary=\"x y\"\n\n--x y\nContent-Type: text/plain\n\nplain\n--x y\nContent-Type: text/html; charset*=utf-8''%E2%82%AC\nContent-Language: en, de\n\n<p>html</p>\n--x y--\n",
	"Content-Type: multipart/digest; boundary=d\r\n\r\n--d\r\n\r\nSubject: digest part\r\n\r\nbody\r\n--d--\r\n",
}, headerRaws...)

// listParts returns the trees ListParts gives for uids, by UID, and checks
// that its metadata is ListMessages'.
func listParts(t *testing.T, s store.Store, ref store.MailboxRef, uids []uint32) map[uint32]*message.Part {
	t.Helper()
	got := map[uint32]*message.Part{}
	var ms []store.MessageMeta
	err := s.ListParts(ctx(t), ref, uids, func(m store.MessageMeta, p *message.Part) error {
		if p == nil {
			return fmt.Errorf("UID %d: nil part", m.UID)
		}
		got[m.UID] = p
		ms = append(ms, m)
		return nil
	})
	if err != nil {
		t.Fatalf("ListParts: %v", err)
	}
	if want := metas(t, s, ref, uids); !reflect.DeepEqual(ms, want) && (len(ms) > 0 || len(want) > 0) {
		t.Fatalf("ListParts metadata differs from ListMessages:\n%+v\n%+v", ms, want)
	}
	return got
}

// checkParts checks that ref holds exactly raws (by UID) and that
// ListParts gives each one's parsed tree.
func checkParts(t *testing.T, what string, s store.Store, ref store.MailboxRef, raws map[uint32]string) {
	t.Helper()
	got := listParts(t, s, ref, nil)
	if len(got) != len(raws) {
		t.Fatalf("%s: ListParts gave %d messages, want %d", what, len(got), len(raws))
	}
	for uid, raw := range raws {
		if p, want := got[uid], message.Parse([]byte(raw)); !reflect.DeepEqual(p, want) {
			t.Errorf("%s: UID %d tree\n%+v\nwant\n%+v", what, uid, p, want)
		}
	}
}

// testListParts: the tree given at delivery comes back from ListParts and
// MessagePart for messages stored by Append and Deliver and copied or
// moved; a tree that does not span its message is not trusted.
func testListParts(t *testing.T, s store.Store) {
	a := mustAccount(t, s, "alice@example.org")
	inbox := mustMailbox(t, s, a.ID, "INBOX")
	arch := mustMailbox(t, s, a.ID, "Archive")
	appended := map[uint32]string{}
	var msgs []store.NewMessage
	for _, raw := range partRaws {
		msgs = append(msgs, headerMessage(raw))
	}
	for i, uid := range mustAppend(t, s, inbox.Ref(), msgs...) {
		appended[uid] = partRaws[i]
	}
	checkParts(t, "Append", s, inbox.Ref(), appended)
	delivered := map[uint32]string{}
	for _, raw := range partRaws {
		d, err := s.Deliver(ctx(t), []store.Target{{AccountID: a.ID, MailboxID: arch.ID}}, headerMessage(raw))
		if err != nil {
			t.Fatal(err)
		}
		delivered[d[0].UID] = raw
	}
	checkParts(t, "Deliver", s, arch.Ref(), delivered)
	_, pairs, _, err := s.Move(ctx(t), arch.Ref(), uidsOf(t, s, arch.Ref()), inbox.Ref())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pairs {
		appended[p.Dst] = delivered[p.Src]
	}
	checkParts(t, "Move", s, inbox.Ref(), appended)

	// MessagePart agrees with ListParts.
	ms := metas(t, s, inbox.Ref(), nil)
	for _, m := range ms[:3] {
		p, err := s.MessagePart(ctx(t), inbox.Ref(), m.ID)
		if want := message.Parse([]byte(appended[m.UID])); err != nil || !reflect.DeepEqual(p, want) {
			t.Fatalf("MessagePart(UID %d) = %+v, %v; want %+v", m.UID, p, err, want)
		}
	}

	// A subset, unsorted, with a UID that does not exist.
	got := listParts(t, s, inbox.Ref(), []uint32{3, 1, 999})
	if len(got) != 2 || !reflect.DeepEqual(got[1], message.Parse([]byte(appended[1]))) || !reflect.DeepEqual(got[3], message.Parse([]byte(appended[3]))) {
		t.Fatalf("ListParts of a subset: %v", got)
	}

	// A message given without a tree, and one whose tree is not its
	// message's (it ends before the message does), get the parse of
	// their bytes.
	raw := partRaws[0]
	uids := mustAppend(t, s, arch.Ref(),
		store.NewMessage{Raw: []byte(raw)},
		store.NewMessage{Raw: []byte(raw), Part: &message.Part{MediaType: "image", MediaSubtype: "png", BodyEnd: 3}})
	got = listParts(t, s, arch.Ref(), uids)
	for _, uid := range uids {
		if !reflect.DeepEqual(got[uid], message.Parse([]byte(raw))) {
			t.Errorf("UID %d without a fitting tree: %+v", uid, got[uid])
		}
	}
	if h := listHeaders(t, s, arch.Ref(), uids); h[uids[0]] != wantHeader([]byte(raw)) || h[uids[1]] != wantHeader([]byte(raw)) {
		t.Errorf("headers of messages without a fitting tree: %v", h)
	}
}

// testListPartsBatches: ListParts walks many messages over several
// batches, stops at a callback error and knows missing mailboxes.
func testListPartsBatches(t *testing.T, s store.Store) {
	a := mustAccount(t, s, "alice@example.org")
	inbox := mustMailbox(t, s, a.ID, "INBOX")
	const n = 700 // more than one batch of any sensible chunked reader
	msgs := make([]store.NewMessage, n)
	for i := range msgs {
		msgs[i] = testMessage(fmt.Sprintf("m%d %s", i, strings.Repeat("x", i%7)))
	}
	mustAppend(t, s, inbox.Ref(), msgs...)
	got := listParts(t, s, inbox.Ref(), nil)
	if len(got) != n {
		t.Fatalf("ListParts gave %d messages, want %d", len(got), n)
	}
	for i, m := range msgs {
		if !reflect.DeepEqual(got[uint32(i+1)], m.Part) {
			t.Fatalf("UID %d: tree %+v, want %+v", i+1, got[uint32(i+1)], m.Part)
		}
	}
	if err := s.ListParts(ctx(t), inbox.Ref(), []uint32{}, func(store.MessageMeta, *message.Part) error {
		return errors.New("called for an empty UID list")
	}); err != nil {
		t.Fatal(err)
	}
	stop := errors.New("stop")
	calls := 0
	err := s.ListParts(ctx(t), inbox.Ref(), nil, func(store.MessageMeta, *message.Part) error {
		calls++
		if calls == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || calls != 3 {
		t.Fatalf("callback error: err %v after %d calls", err, calls)
	}
	err = s.ListParts(ctx(t), store.MailboxRef{MailboxID: 987654}, nil, func(store.MessageMeta, *message.Part) error { return nil })
	wantErr(t, "ListParts of missing mailbox", err, store.ErrNotFound)
}
