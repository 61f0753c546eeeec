package imapserver

import (
	"context"
	"testing"

	"github.com/mailroom/mailroom/message"
	"github.com/mailroom/mailroom/store"
)

// vanishingStore behaves as if another session expunged one message
// between FETCH reading the metadata and reading the bytes.
type vanishingStore struct {
	Store
	goneID int64
}

func (s *vanishingStore) MessageBody(ctx context.Context, mbox store.MailboxRef, id int64) ([]byte, error) {
	if id == s.goneID {
		return nil, store.ErrNotFound
	}
	return s.Store.MessageBody(ctx, mbox, id)
}

func (s *vanishingStore) ListBodies(ctx context.Context, mailboxID store.MailboxRef, uids []uint32, fn func(store.MessageMeta, []byte) error) error {
	return s.Store.ListBodies(ctx, mailboxID, uids, func(m store.MessageMeta, raw []byte) error {
		if m.ID == s.goneID {
			return nil
		}
		return fn(m, raw)
	})
}

func (s *vanishingStore) ReadBodies(ctx context.Context, mailboxID store.MailboxRef, uids []uint32, fn func(int64, uint32, []byte) error) error {
	return s.Store.ReadBodies(ctx, mailboxID, uids, func(id int64, uid uint32, raw []byte) error {
		if id == s.goneID {
			return nil
		}
		return fn(id, uid, raw)
	})
}

func (s *vanishingStore) MessagePart(ctx context.Context, mbox store.MailboxRef, id int64) (*message.Part, error) {
	if id == s.goneID {
		return nil, store.ErrNotFound
	}
	return s.Store.MessagePart(ctx, mbox, id)
}

// TestFetchConcurrentlyExpunged: the other messages are still sent and the
// command ends NO [EXPUNGEISSUED], not NO [NONEXISTENT] "no such mailbox".
func TestFetchConcurrentlyExpunged(t *testing.T) {
	vs := &vanishingStore{}
	ts := startTestServer(t, func(c *Config) { vs.Store = c.Store; c.Store = vs })
	for i := 0; i < 3; i++ {
		ts.deliver("", "Subject: m\n\nbody\n")
	}
	var ids []int64
	ts.st.ListMessages(context.Background(), mustInbox(t, ts), nil, func(m store.MessageMeta) error {
		ids = append(ids, m.ID)
		return nil
	})
	vs.goneID = ids[1]
	tc := ts.login()
	tc.transactf("ok", "select INBOX")
	lines := tc.transactf("no", "fetch 1:3 (UID BODY.PEEK[])")
	hasLine(t, lines, "* 1 FETCH (UID 1 ")
	hasLine(t, lines, "* 3 FETCH (UID 3 ")
	noLine(t, lines, "* 2 FETCH")
	if tc.taggedCode() != "EXPUNGEISSUED" {
		t.Errorf("tagged %q, want NO [EXPUNGEISSUED]", tc.lastTagged)
	}
	tc.transactf("ok", "fetch 3 (UID FLAGS)")
}

func mustInbox(t testing.TB, ts *testServer) store.MailboxRef {
	t.Helper()
	mb, err := ts.st.MailboxByName(context.Background(), ts.acct.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	return mb.Ref()
}
