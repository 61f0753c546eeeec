package imapserver

import (
	"context"
	"testing"

	"github.com/mailroom/mailroom/store"
)

var _ statusByNamer = (*callCounter)(nil)

func (s *callCounter) MailboxStatusByName(ctx context.Context, a int64, name string) (store.Mailbox, store.MailboxStatus, error) {
	s.count("MailboxStatusByName")
	return s.inner.MailboxStatusByName(ctx, a, name)
}

// TestStatusOneStoreCall: STATUS of an own mailbox reads the mailbox and
// its counters in one store call (one round trip on PostgreSQL; the
// harness polls STATUS while it delivers), with the same answers: the
// counters, the canonical INBOX name, NO [NONEXISTENT] for a missing
// mailbox. The RECENT item still needs its own count.
func TestStatusOneStoreCall(t *testing.T) {
	t.Parallel()
	ts, cs := startCountingServer(t)
	ts.deliver("INBOX", "Subject: one\n\nbody\n")
	ts.deliver("INBOX", "Subject: two\n\nbody\n")
	tc := ts.login()
	cs.take()

	lines := tc.transactf("ok", "status inbox (messages unseen uidnext)")
	hasLine(t, lines, "* STATUS INBOX (MESSAGES 2 UNSEEN 2 UIDNEXT 3)")
	if n := cs.take(); n["MailboxStatusByName"] != 1 || total(n) != 1 {
		t.Errorf("STATUS made store calls %v, want one MailboxStatusByName", n)
	}

	tc.transactf("no", "status nosuch (messages)")
	if code := tc.taggedCode(); code != codeNonExistent {
		t.Errorf("STATUS of a missing mailbox: code %q, want %s", code, codeNonExistent)
	}
	if n := cs.take(); n["MailboxStatusByName"] != 1 || n["MailboxByName"]+n["MailboxStatus"] != 0 {
		// (and AccountByID: a not-found checks that the account still exists)
		t.Errorf("STATUS of a missing mailbox made store calls %v, want one MailboxStatusByName", n)
	}

	lines = tc.transactf("ok", "status Sent (messages recent)")
	hasLine(t, lines, "* STATUS Sent (MESSAGES 0 RECENT 0)")
	if n := cs.take(); n["MailboxStatusByName"] != 1 || n["RecentCount"] != 1 || total(n) != 2 {
		t.Errorf("STATUS with RECENT made store calls %v, want MailboxStatusByName and RecentCount", n)
	}
}
