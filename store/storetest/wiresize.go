package storetest

import (
	"testing"

	"github.com/mailroom/mailroom/message"
	"github.com/mailroom/mailroom/store"
)

// wireCases are messages whose line endings make the octet count POP3 RETR
// sends (every line ending as CRLF) differ from their size, or not.
var wireCases = []struct {
	name string
	raw  string
	wire int64
}{
	{"crlf", "Subject: crlf\r\n\r\nline one\r\nline two\r\n", 37},
	{"bare lf", "Subject: lf\n\nline one\nline two\n", 35},
	{"no final newline", "Subject: none\r\n\r\nno final newline", 35},
	{"mixed, bare cr", "Subject: mixed\n\r\nbare\rCR\n", 27},
	{"empty", "", 0},
}

func wireMessage(raw string) store.NewMessage {
	return store.NewMessage{Raw: []byte(raw), Part: &message.Part{MediaType: "text", MediaSubtype: "plain"}}
}

// wantWire checks the WireSize of metadata whose message has body raw.
func wantWire(t *testing.T, what string, m store.MessageMeta, raw string, wire int64) {
	t.Helper()
	if m.WireSize != wire {
		t.Errorf("%s: UID %d (%q) WireSize %d, want %d", what, m.UID, raw, m.WireSize, wire)
	}
	if m.Size != int64(len(raw)) {
		t.Errorf("%s: UID %d (%q) Size %d, want %d", what, m.UID, raw, m.Size, len(raw))
	}
}

// checkWire checks every message of a mailbox, whose UIDs from first on
// hold wireCases in order, through ListMessages (all and a subset),
// ListBodies and Changes.
func checkWire(t *testing.T, s store.Store, what string, mailboxID store.MailboxRef, first uint32) {
	t.Helper()
	n := uint32(len(wireCases))
	caseOf := func(uid uint32) int {
		if uid < first || uid >= first+n {
			t.Fatalf("%s: unexpected UID %d", what, uid)
		}
		return int(uid - first)
	}
	ms := metas(t, s, mailboxID, nil)
	if len(ms) != len(wireCases) {
		t.Fatalf("%s: %d messages, want %d", what, len(ms), len(wireCases))
	}
	for _, m := range ms {
		c := wireCases[caseOf(m.UID)]
		wantWire(t, what+": ListMessages", m, c.raw, c.wire)
	}
	for _, m := range metas(t, s, mailboxID, []uint32{first + n - 1, first + 1}) {
		c := wireCases[caseOf(m.UID)]
		wantWire(t, what+": ListMessages of UIDs", m, c.raw, c.wire)
	}
	got := 0
	err := s.ListBodies(ctx(t), mailboxID, nil, func(m store.MessageMeta, raw []byte) error {
		got++
		c := wireCases[caseOf(m.UID)]
		if string(raw) != c.raw {
			t.Errorf("%s: ListBodies: UID %d body %q, want %q", what, m.UID, raw, c.raw)
		}
		wantWire(t, what+": ListBodies", m, c.raw, c.wire)
		return nil
	})
	if err != nil || got != len(wireCases) {
		t.Fatalf("%s: ListBodies: %d messages, %v", what, got, err)
	}
	changed, _, _, err := s.Changes(ctx(t), mailboxID, 0)
	if err != nil || len(changed) != len(wireCases) {
		t.Fatalf("%s: Changes: %d messages, %v", what, len(changed), err)
	}
	for _, m := range changed {
		c := wireCases[caseOf(m.UID)]
		wantWire(t, what+": Changes", m, c.raw, c.wire)
	}
}

// testWireSize: every MessageMeta carries the size of the message with
// every line ending as CRLF, whichever way the message was added.
func testWireSize(t *testing.T, s store.Store) {
	a := mustAccount(t, s, "alice@example.org")
	inbox := mustMailbox(t, s, a.ID, "INBOX")
	other := mustCreate(t, s, a.ID, "Other")
	for _, c := range wireCases {
		if got := message.CRLFSize([]byte(c.raw)); got != c.wire {
			t.Fatalf("message.CRLFSize(%q) = %d, want %d", c.raw, got, c.wire)
		}
		// Deliver to two mailboxes at once (one blob, two messages).
		if _, err := s.Deliver(ctx(t), []store.Target{{AccountID: a.ID}, {AccountID: a.ID, MailboxID: other.ID}}, wireMessage(c.raw)); err != nil {
			t.Fatalf("Deliver %s: %v", c.name, err)
		}
	}
	checkWire(t, s, "Deliver to INBOX", inbox.Ref(), 1)
	checkWire(t, s, "Deliver to Other", other.Ref(), 1)

	appended := mustCreate(t, s, a.ID, "Appended")
	msgs := make([]store.NewMessage, len(wireCases))
	for i, c := range wireCases {
		msgs[i] = wireMessage(c.raw)
	}
	mustAppend(t, s, appended.Ref(), msgs...)
	checkWire(t, s, "Append", appended.Ref(), 1)

	// UpdateFlags returns the new metadata, wire size included.
	all := uidsOf(t, s, appended.Ref())
	changed, _, err := s.UpdateFlags(ctx(t), appended.Ref(), all, store.FlagsAdd, []string{store.FlagSeen}, 0)
	if err != nil || len(changed) != len(wireCases) {
		t.Fatalf("UpdateFlags: %d changed, %v", len(changed), err)
	}
	for _, m := range changed {
		c := wireCases[m.UID-1]
		wantWire(t, "UpdateFlags", m, c.raw, c.wire)
	}

	copied := mustCreate(t, s, a.ID, "Copied")
	mustAppend(t, s, copied.Ref(), wireMessage("filler\n")) // copies start at UID 2
	if _, _, err := s.Copy(ctx(t), appended.Ref(), all, copied.Ref()); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Expunge(ctx(t), copied.Ref(), []uint32{1}, false); err != nil {
		t.Fatal(err)
	}
	checkWire(t, s, "Copy", copied.Ref(), 2)

	moved := mustCreate(t, s, a.ID, "Moved")
	if _, _, _, err := s.Move(ctx(t), copied.Ref(), uidsOf(t, s, copied.Ref()), moved.Ref()); err != nil {
		t.Fatal(err)
	}
	checkWire(t, s, "Move", moved.Ref(), 1)
	checkWire(t, s, "Copy source after Copy", appended.Ref(), 1)

	// Renaming INBOX moves its messages into a new mailbox.
	if err := s.RenameMailbox(ctx(t), a.ID, store.Inbox, "Old"); err != nil {
		t.Fatal(err)
	}
	checkWire(t, s, "INBOX renamed", mustMailbox(t, s, a.ID, "Old").Ref(), 1)
}
