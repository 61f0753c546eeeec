// Package storetest is the conformance suite every store.Store backend must
// pass. It uses only the store.Store interface, so that SQLite and
// PostgreSQL are held to the same semantics.
//
// A backend's test calls:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store { ... })
//	}
//
// open must return a fresh, empty store and close it with t.Cleanup.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/mailroom/mailroom/message"
	"github.com/mailroom/mailroom/store"
)

type test struct {
	name string
	fn   func(t *testing.T, s store.Store)
}

// openTest is a test that needs more stores than the one it is given.
type openTest struct {
	name string
	fn   func(t *testing.T, s store.Store, open func(t *testing.T) store.Store)
}

// Run runs every conformance test as a subtest, each on a store made by open.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	var tests []test
	tests = append(tests, accountTests...)
	tests = append(tests, mailboxTests...)
	tests = append(tests, messageTests...)
	tests = append(tests, flagTests...)
	tests = append(tests, feedTests...)
	tests = append(tests, queueTests...)
	tests = append(tests, deliverEnqueueTests...)
	tests = append(tests, sieveTests...)
	tests = append(tests, outboundTests...)
	tests = append(tests, queueClaimTests...)
	tests = append(tests, counterTests...)
	tests = append(tests, usageTests...)
	tests = append(tests, isolationTests...)
	tests = append(tests, importUIDTests...)
	tests = append(tests, importTests...)
	tests = append(tests, domainTests...)
	tests = append(tests, greylistTests...)
	tests = append(tests, objectIDTests...)
	tests = append(tests, replaceTests...)
	tests = append(tests, aclTests...)
	tests = append(tests, metadataTests...)
	tests = append(tests, saveDateTests...)
	tests = append(tests, textIndexTests...)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Each test has a store of its own (open makes a new SQLite
			// file or PostgreSQL schema), so they run in parallel.
			t.Parallel()
			tc.fn(t, open(t))
		})
	}
	for _, tc := range dumpTests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open(t), open)
		})
	}
}

func ctx(t *testing.T) context.Context { return t.Context() }

func mustAccount(t *testing.T, s store.Store, email string) store.Account {
	t.Helper()
	a, err := s.CreateAccount(ctx(t), email, "hash-"+email)
	if err != nil {
		t.Fatalf("CreateAccount(%q): %v", email, err)
	}
	return a
}

func mustMailbox(t *testing.T, s store.Store, accountID int64, name string) store.Mailbox {
	t.Helper()
	m, err := s.MailboxByName(ctx(t), accountID, name)
	if err != nil {
		t.Fatalf("MailboxByName(%q): %v", name, err)
	}
	return m
}

func mustCreate(t *testing.T, s store.Store, accountID int64, name string) store.Mailbox {
	t.Helper()
	m, err := s.CreateMailbox(ctx(t), accountID, name, "")
	if err != nil {
		t.Fatalf("CreateMailbox(%q): %v", name, err)
	}
	return m
}

// testMessage returns a small message with a hand-built part tree (the
// suite does not depend on the parser).
func testMessage(subject string, flags ...string) store.NewMessage {
	header := "From: a@example.org\r\nTo: b@example.com\r\nSubject: " + subject + "\r\n\r\n"
	body := "Hello, " + subject + ".\r\n"
	raw := []byte(header + body)
	return store.NewMessage{
		Raw: raw,
		Part: &message.Part{
			BodyStart:    int64(len(header)),
			BodyEnd:      int64(len(raw)),
			BodyLines:    1,
			MediaType:    "text",
			MediaSubtype: "plain",
			Params:       []message.Param{{Name: "charset", Value: "us-ascii"}},
			Envelope: &message.Envelope{
				Subject: subject,
				From:    []message.Address{{Mailbox: "a", Host: "example.org"}},
				To:      []message.Address{{Mailbox: "b", Host: "example.com"}},
			},
		},
		Flags:        flags,
		InternalDate: time.Date(2024, 3, 4, 5, 6, 7, 0, time.FixedZone("", -7*3600)),
	}
}

func mustAppend(t *testing.T, s store.Store, mailboxID store.MailboxRef, msgs ...store.NewMessage) []uint32 {
	t.Helper()
	_, uids, err := s.Append(ctx(t), mailboxID, msgs)
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	if len(uids) != len(msgs) {
		t.Fatalf("Append returned %d uids for %d messages", len(uids), len(msgs))
	}
	return uids
}

func metas(t *testing.T, s store.Store, mailboxID store.MailboxRef, uids []uint32) []store.MessageMeta {
	t.Helper()
	var out []store.MessageMeta
	if err := s.ListMessages(ctx(t), mailboxID, uids, func(m store.MessageMeta) error {
		out = append(out, m)
		return nil
	}); err != nil {
		t.Fatalf("ListMessages: %v", err)
	}
	return out
}

func uidsOf(t *testing.T, s store.Store, mailboxID store.MailboxRef) []uint32 {
	t.Helper()
	u, err := UIDs(ctx(t), s, mailboxID)
	if err != nil {
		t.Fatalf("UIDs: %v", err)
	}
	return u
}

// UIDs returns the UIDs of a mailbox in ascending order, read with
// ListMessages as the servers read them (the store has no method of its
// own for it any more: nothing but tests called one). An empty mailbox
// gives an empty, non-nil slice.
func UIDs(ctx context.Context, s interface {
	ListMessages(ctx context.Context, mbox store.MailboxRef, uids []uint32, fn func(store.MessageMeta) error) error
}, mbox store.MailboxRef) ([]uint32, error) {
	uids := []uint32{}
	err := s.ListMessages(ctx, mbox, nil, func(m store.MessageMeta) error {
		uids = append(uids, m.UID)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return uids, nil
}

func status(t *testing.T, s store.Store, mailboxID store.MailboxRef) store.MailboxStatus {
	t.Helper()
	st, err := s.MailboxStatus(ctx(t), mailboxID)
	if err != nil {
		t.Fatalf("MailboxStatus: %v", err)
	}
	return st
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: err = %v, want %v", what, err, want)
	}
}

func wantUIDs(t *testing.T, what string, got, want []uint32) {
	t.Helper()
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !slices.Equal(got, want) {
		t.Fatalf("%s: uids = %v, want %v", what, got, want)
	}
}

func wantFlags(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !slices.Equal(got, want) {
		t.Fatalf("%s: flags = %q, want %q", what, got, want)
	}
}

func names(ms []store.Mailbox) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Name
	}
	return out
}

func ascendingUnique(uids []uint32) error {
	for i := 1; i < len(uids); i++ {
		if uids[i] <= uids[i-1] {
			return fmt.Errorf("uids not strictly ascending at %d: %d after %d", i, uids[i], uids[i-1])
		}
	}
	return nil
}
