package storetest

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/mailroom/mailroom/message"
	"github.com/mailroom/mailroom/store"
)

var isolationTests = []test{
	{"IsolationForeignRefs", testIsolationForeignRefs},
	{"IsolationStaleRef", testIsolationStaleRef},
	{"IDsNotReused", func(t *testing.T, s store.Store) { CheckIDsNotReused(t, s) }},
}

// refOps calls every store method that names a mailbox (and, where it
// takes one, a message: msgID) with ref, and own (a mailbox the caller
// does own) as the other side of copies and moves. Each must fail with
// store.ErrNotFound when ref does not name a mailbox of its account with
// its UIDVALIDITY.
func refOps(s store.Store, own store.MailboxRef, msgID int64, uids []uint32) map[string]func(t *testing.T, ref store.MailboxRef) error {
	called := func(t *testing.T, what string) {
		t.Helper()
		t.Errorf("%s: callback called with another account's data", what)
	}
	return map[string]func(t *testing.T, ref store.MailboxRef) error{
		"MailboxByID": func(t *testing.T, ref store.MailboxRef) error {
			_, err := s.MailboxByID(ctx(t), ref)
			return err
		},
		"MailboxStatus": func(t *testing.T, ref store.MailboxRef) error {
			_, err := s.MailboxStatus(ctx(t), ref)
			return err
		},
		"Append": func(t *testing.T, ref store.MailboxRef) error {
			_, _, err := s.Append(ctx(t), ref, []store.NewMessage{testMessage("planted")})
			return err
		},
		"ListMessages": func(t *testing.T, ref store.MailboxRef) error {
			return s.ListMessages(ctx(t), ref, nil, func(store.MessageMeta) error { called(t, "ListMessages"); return nil })
		},
		"ListMessages(uids)": func(t *testing.T, ref store.MailboxRef) error {
			return s.ListMessages(ctx(t), ref, uids, func(store.MessageMeta) error { called(t, "ListMessages"); return nil })
		},
		"ListBodies": func(t *testing.T, ref store.MailboxRef) error {
			return s.ListBodies(ctx(t), ref, nil, func(store.MessageMeta, []byte) error { called(t, "ListBodies"); return nil })
		},
		"ListHeaders": func(t *testing.T, ref store.MailboxRef) error {
			return s.ListHeaders(ctx(t), ref, uids, func(store.MessageMeta, []byte) error { called(t, "ListHeaders"); return nil })
		},
		"ListParts": func(t *testing.T, ref store.MailboxRef) error {
			return s.ListParts(ctx(t), ref, uids, func(store.MessageMeta, *message.Part) error { called(t, "ListParts"); return nil })
		},
		"MessageBody": func(t *testing.T, ref store.MailboxRef) error {
			_, err := s.MessageBody(ctx(t), ref, msgID)
			return err
		},
		"ReadMessageBody": func(t *testing.T, ref store.MailboxRef) error {
			return s.ReadMessageBody(ctx(t), ref, msgID, func([]byte) error { called(t, "ReadMessageBody"); return nil })
		},
		"MessagePart": func(t *testing.T, ref store.MailboxRef) error {
			_, err := s.MessagePart(ctx(t), ref, msgID)
			return err
		},
		"UpdateFlags": func(t *testing.T, ref store.MailboxRef) error {
			_, _, err := s.UpdateFlags(ctx(t), ref, uids, store.FlagsAdd, []string{store.FlagDeleted, "Stolen"}, 0)
			return err
		},
		"Expunge(onlyDeleted)": func(t *testing.T, ref store.MailboxRef) error {
			_, _, err := s.Expunge(ctx(t), ref, nil, true)
			return err
		},
		"Expunge": func(t *testing.T, ref store.MailboxRef) error {
			_, _, err := s.Expunge(ctx(t), ref, uids, false)
			return err
		},
		"Copy from": func(t *testing.T, ref store.MailboxRef) error {
			_, _, err := s.Copy(ctx(t), ref, uids, own)
			return err
		},
		"Copy into": func(t *testing.T, ref store.MailboxRef) error {
			_, _, err := s.Copy(ctx(t), own, []uint32{1}, ref)
			return err
		},
		"Move from": func(t *testing.T, ref store.MailboxRef) error {
			_, _, _, err := s.Move(ctx(t), ref, uids, own)
			return err
		},
		"Move into": func(t *testing.T, ref store.MailboxRef) error {
			_, _, _, err := s.Move(ctx(t), own, []uint32{1}, ref)
			return err
		},
		"Changes": func(t *testing.T, ref store.MailboxRef) error {
			_, _, _, err := s.Changes(ctx(t), ref, 0)
			return err
		},
		"Deliver": func(t *testing.T, ref store.MailboxRef) error {
			if ref.UIDValidity != 0 {
				// Deliver names no UIDVALIDITY (a Target is account and
				// mailbox id); the refs without one cover it.
				return store.ErrNotFound
			}
			_, err := s.Deliver(ctx(t), []store.Target{{AccountID: ref.AccountID, MailboxID: ref.MailboxID}}, testMessage("planted"))
			return err
		},
	}
}

// snapshot is everything observable about a mailbox.
type snapshot struct {
	Status store.MailboxStatus
	Metas  []store.MessageMeta
	Bodies map[uint32]string
}

func snap(t *testing.T, s store.Store, ref store.MailboxRef) snapshot {
	t.Helper()
	sn := snapshot{Status: status(t, s, ref), Metas: metas(t, s, ref, nil), Bodies: map[uint32]string{}}
	if err := s.ListBodies(ctx(t), ref, nil, func(m store.MessageMeta, raw []byte) error {
		sn.Bodies[m.UID] = string(raw)
		return nil
	}); err != nil {
		t.Fatalf("ListBodies: %v", err)
	}
	return sn
}

// With account X's references, no operation reaches account Y's mailboxes
// or messages, whatever ids X names: Y's ids under X's account, X's own
// mailbox with Y's message ids, and X's mailboxes with a wrong
// UIDVALIDITY. Every call gets ErrNotFound, no callback sees data, and
// neither account's mailboxes change.
func testIsolationForeignRefs(t *testing.T, s store.Store) {
	x := mustAccount(t, s, "x@example.org")
	y := mustAccount(t, s, "y@example.org")
	xInbox := mustMailbox(t, s, x.ID, store.Inbox)
	mustAppend(t, s, xInbox.Ref(), testMessage("x's own"))
	yBoxes, err := s.Mailboxes(ctx(t), y.ID)
	if err != nil {
		t.Fatal(err)
	}
	var yMsgs []int64
	for _, mb := range yBoxes {
		mustAppend(t, s, mb.Ref(), testMessage("y secret in "+mb.Name, store.FlagSeen), testMessage("y second in "+mb.Name))
		for _, m := range metas(t, s, mb.Ref(), nil) {
			yMsgs = append(yMsgs, m.ID)
		}
	}
	before := map[int64]snapshot{}
	for _, mb := range yBoxes {
		before[mb.ID] = snap(t, s, mb.Ref())
	}
	xBefore := snap(t, s, xInbox.Ref())
	uids := []uint32{1, 2}

	type bad struct {
		name string
		ref  store.MailboxRef
	}
	var refs []bad
	for _, mb := range yBoxes {
		refs = append(refs,
			bad{fmt.Sprintf("y's %s as x", mb.Name), store.MailboxRef{AccountID: x.ID, MailboxID: mb.ID}},
			bad{fmt.Sprintf("y's %s as x with its UIDVALIDITY", mb.Name), store.MailboxRef{AccountID: x.ID, MailboxID: mb.ID, UIDValidity: mb.UIDValidity}},
		)
	}
	refs = append(refs,
		bad{"x's INBOX with a wrong UIDVALIDITY", store.MailboxRef{AccountID: x.ID, MailboxID: xInbox.ID, UIDValidity: xInbox.UIDValidity + 1}},
		bad{"x's INBOX under y's account", store.MailboxRef{AccountID: y.ID, MailboxID: xInbox.ID}},
		bad{"no account", store.MailboxRef{MailboxID: yBoxes[0].ID}},
	)
	for _, b := range refs {
		for name, op := range refOps(s, xInbox.Ref(), yMsgs[0], uids) {
			err := op(t, b.ref)
			if !errors.Is(err, store.ErrNotFound) {
				t.Errorf("%s with %s (%+v): %v, want ErrNotFound", name, b.name, b.ref, err)
			}
		}
	}
	// x's own mailbox and y's message ids.
	for _, id := range yMsgs {
		if raw, err := s.MessageBody(ctx(t), xInbox.Ref(), id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("MessageBody(x's INBOX, y's message %d) = %q, %v; want ErrNotFound", id, raw, err)
		}
		if _, err := s.MessagePart(ctx(t), xInbox.Ref(), id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("MessagePart(x's INBOX, y's message %d): %v; want ErrNotFound", id, err)
		}
	}
	for _, mb := range yBoxes {
		if got := snap(t, s, mb.Ref()); !reflect.DeepEqual(got, before[mb.ID]) {
			t.Errorf("y's %s changed:\n%+v\nwas\n%+v", mb.Name, got, before[mb.ID])
		}
	}
	if got := snap(t, s, xInbox.Ref()); !reflect.DeepEqual(got, xBefore) {
		t.Errorf("x's INBOX changed:\n%+v\nwas\n%+v", got, xBefore)
	}
}

// The transcript of issue 11 item 1 at the store: a reference to a
// mailbox that was deleted stays dead, even after other mailboxes (of
// another account, or of the same name) are created and filled.
func testIsolationStaleRef(t *testing.T, s store.Store) {
	alice := mustAccount(t, s, "alice@example.org")
	leak := mustCreate(t, s, alice.ID, "leak")
	stale := leak.Ref()
	aliceInbox := mustMailbox(t, s, alice.ID, store.Inbox)
	if err := s.DeleteMailbox(ctx(t), alice.ID, "leak"); err != nil {
		t.Fatal(err)
	}
	bob := mustAccount(t, s, "bob@example.org")
	secret := mustCreate(t, s, bob.ID, "bobsecret")
	mustAppend(t, s, secret.Ref(), testMessage("bob's secret"))
	again := mustCreate(t, s, alice.ID, "leak")
	mustAppend(t, s, again.Ref(), testMessage("alice's new leak"))
	if secret.ID == leak.ID || again.ID == leak.ID {
		t.Errorf("ids reused: deleted %d, then %d and %d", leak.ID, secret.ID, again.ID)
	}
	// Also with the account alone (UIDVALIDITY 0): the id is dead.
	anyValidity := stale
	anyValidity.UIDValidity = 0
	secretMsg := metas(t, s, secret.Ref(), nil)[0].ID
	for _, ref := range []store.MailboxRef{stale, anyValidity} {
		for name, op := range refOps(s, aliceInbox.Ref(), secretMsg, []uint32{1}) {
			if err := op(t, ref); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("%s with the deleted mailbox's ref %+v: %v, want ErrNotFound", name, ref, err)
			}
		}
	}
	if n := len(metas(t, s, secret.Ref(), nil)); n != 1 {
		t.Errorf("bob's mailbox has %d messages, want 1", n)
	}
	if n := len(metas(t, s, again.Ref(), nil)); n != 1 {
		t.Errorf("alice's new mailbox has %d messages, want 1", n)
	}
}

// CheckIDsNotReused checks that a store never hands out an id again after
// the row that had it, the newest of its kind, is deleted: accounts,
// mailboxes, messages and queue items. Backends also call it on migrated
// databases.
func CheckIDsNotReused(t *testing.T, s store.Store) {
	t.Helper()
	c := ctx(t)
	a1 := mustAccount(t, s, "reuse1@example.org")
	if err := s.DeleteAccount(c, a1.Email); err != nil {
		t.Fatal(err)
	}
	a2 := mustAccount(t, s, "reuse2@example.org")
	if a2.ID <= a1.ID {
		t.Errorf("account id %d after deleting account %d", a2.ID, a1.ID)
	}

	m1 := mustCreate(t, s, a2.ID, "Reuse")
	inbox := mustMailbox(t, s, a2.ID, store.Inbox)
	if err := s.DeleteMailbox(c, a2.ID, "Reuse"); err != nil {
		t.Fatal(err)
	}
	m2 := mustCreate(t, s, a2.ID, "Reuse")
	if m2.ID <= m1.ID {
		t.Errorf("mailbox id %d after deleting mailbox %d", m2.ID, m1.ID)
	}

	mustAppend(t, s, inbox.Ref(), testMessage("first"))
	first := metas(t, s, inbox.Ref(), nil)
	if _, _, err := s.Expunge(c, inbox.Ref(), nil, false); err != nil {
		t.Fatal(err)
	}
	mustAppend(t, s, inbox.Ref(), testMessage("second"))
	second := metas(t, s, inbox.Ref(), nil)
	if len(first) != 1 || len(second) != 1 || second[0].ID <= first[0].ID {
		t.Errorf("message ids %v after expunging %v", second, first)
	}

	q := store.QueuedMessage{From: "reuse2@example.org", Recipients: []string{"far@remote.test"}, Raw: []byte("Subject: q\r\n\r\nq\r\n"), Created: time.Unix(1700000000, 0)}
	q1, err := s.Enqueue(c, q)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteQueueItem(c, q1); err != nil {
		t.Fatal(err)
	}
	q2, err := s.Enqueue(c, q)
	if err != nil {
		t.Fatal(err)
	}
	if q2 <= q1 {
		t.Errorf("queue id %d after deleting queue item %d", q2, q1)
	}
}
