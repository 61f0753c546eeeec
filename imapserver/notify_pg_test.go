package imapserver

import (
	"slices"
	"testing"
	"time"
)

// TestNotifyAcrossNodesPostgres: a session idling with NOTIFY on one node
// gets the STATUS of a mailbox another node's session appended to: the
// change reaches it through the store's feed (PostgreSQL LISTEN/NOTIFY).
func TestNotifyAcrossNodesPostgres(t *testing.T) {
	t.Parallel()
	_, servers := pgNodes(t, 2)
	tc := servers[0].login()
	tc.transactf("ok", "select inbox")
	tc.transactf("ok", "notify set (selected (MessageNew MessageExpunge)) (mailboxes Archive (MessageNew MessageExpunge))")
	tc.idle(t)
	other := servers[1].login()
	other.transactf("ok", "append Archive {5+}\r\nhello")
	tc.nc.SetReadDeadline(time.Now().Add(30 * time.Second))
	r := tc.readResponse()
	if st := statusOf(t, []string{r}); st["Archive"]["MESSAGES"] != "1" || st["Archive"]["UIDNEXT"] != "2" {
		t.Fatalf("STATUS from the other node: %q", r)
	}
	tc.endIdle()
}

// TestNotifyMetadataAcrossNodesPostgres: a SETMETADATA on one node
// reaches an idling NOTIFY session on another as a METADATA response.
func TestNotifyMetadataAcrossNodesPostgres(t *testing.T) {
	t.Parallel()
	_, servers := pgNodes(t, 2)
	tc := servers[0].login()
	tc.transactf("ok", "notify set (personal (MailboxMetadataChange))")
	tc.idle(t)
	other := servers[1].login()
	other.transactf("ok", `setmetadata INBOX (/private/comment "x")`)
	if got := notifiedMetadata(t, []string{tc.readResponse()}); !slices.Equal(got, []string{"INBOX|/private/comment"}) {
		t.Fatalf("METADATA from the other node: %q", got)
	}
	tc.endIdle()
}
