package imapserver

import (
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"
)

// testQuota is a Quota from a map of email -> {bytes, messages}.
type testQuota map[string][2]int64

func (q testQuota) Limits(email string) (storage, messages int64) {
	l := q[strings.ToLower(email)]
	return l[0], l[1]
}

var _ Quota = testQuota(nil)

func withQuota(storage, messages int64) serverOpt {
	return func(c *Config) { c.Quota = testQuota{testUser: {storage, messages}} }
}

// appendf APPENDs raw to mailbox with a non-synchronizing literal.
func appendf(tc *testConn, status, mailbox, raw string) []string {
	tc.t.Helper()
	return tc.transactf(status, "append %s {%d+}\r\n%s", mailbox, len(raw), raw)
}

func TestQuotaTranscript(t *testing.T) {
	ts := startTestServer(t, withQuota(4096, 3))
	ts.deliver("", simpleMsg)
	tc := ts.login()

	caps := hasLine(t, tc.transactf("ok", "capability"), "* CAPABILITY ")
	for _, c := range []string{" QUOTA ", " QUOTA=RES-STORAGE ", " QUOTA=RES-MESSAGE "} {
		if !strings.Contains(caps+" ", c) {
			t.Fatalf("capability lacks %q: %s", c, caps)
		}
	}
	if strings.Contains(caps, "QUOTASET") {
		t.Fatalf("QUOTASET advertised: %s", caps)
	}

	lines := tc.transactf("ok", "getquotaroot inbox")
	hasLine(t, lines, `* QUOTAROOT INBOX ""`)
	hasLine(t, lines, `* QUOTA "" (STORAGE 1 4 MESSAGE 1 3)`)
	hasLine(t, tc.transactf("ok", `getquota ""`), `* QUOTA "" (STORAGE 1 4 MESSAGE 1 3)`)
	tc.transactf("no", `getquota "user.mjl"`)
	tc.transactf("no", "getquotaroot nosuch")
	tc.transactf("no", `setquota "" (STORAGE 100)`)
	if tc.taggedCode() != "NOPERM" {
		t.Fatalf("SETQUOTA: %s", tc.lastTagged)
	}

	// An APPEND that would exceed the storage limit stores nothing.
	big := "Subject: big\r\n\r\n" + strings.Repeat("x", 4000) + "\r\n"
	appendf(tc, "no", "inbox", big)
	if tc.taggedCode() != "OVERQUOTA" {
		t.Fatalf("APPEND over quota: %s", tc.lastTagged)
	}
	hasLine(t, tc.transactf("ok", "status inbox (messages)"), "(MESSAGES 1)")
	appendf(tc, "ok", "inbox", "Subject: small\r\n\r\nhi\r\n")

	// Two messages, limit 3: copying both would make 4.
	tc.transactf("ok", "select inbox")
	tc.transactf("no", "copy 1:2 Trash")
	if tc.taggedCode() != "OVERQUOTA" {
		t.Fatalf("COPY over quota: %s", tc.lastTagged)
	}
	hasLine(t, tc.transactf("ok", "status Trash (messages)"), "(MESSAGES 0)")
	tc.transactf("ok", "copy 1 Trash")
	hasLine(t, tc.transactf("ok", `getquota ""`), "MESSAGE 3 3)")

	// At the limit: MOVE changes nothing and is allowed; APPEND is not.
	tc.transactf("ok", "move 1:* Archive")
	hasLine(t, tc.transactf("ok", "status Archive (messages)"), "(MESSAGES 2)")
	appendf(tc, "no", "inbox", "Subject: one more\r\n\r\nhi\r\n")
	if tc.taggedCode() != "OVERQUOTA" {
		t.Fatalf("APPEND at message limit: %s", tc.lastTagged)
	}

	// Expunging makes room.
	tc.transactf("ok", "select Trash")
	tc.transactf("ok", "store 1 +flags.silent (\\Deleted)")
	tc.transactf("ok", "expunge")
	hasLine(t, tc.transactf("ok", `getquota ""`), "MESSAGE 2 3)")
	appendf(tc, "ok", "inbox", "Subject: one more\r\n\r\nhi\r\n")
}

// Without limits QUOTA is still advertised, but the account has no quota
// root: GETQUOTAROOT names none and GETQUOTA "" is refused.
func TestQuotaUnlimited(t *testing.T) {
	for _, opt := range []serverOpt{func(*Config) {}, withQuota(0, 0)} {
		ts := startTestServer(t, opt)
		tc := ts.login()
		lines := tc.transactf("ok", "getquotaroot INBOX")
		if len(lines) != 1 || lines[0] != "* QUOTAROOT INBOX" {
			t.Fatalf("GETQUOTAROOT: %q", lines)
		}
		tc.transactf("no", `getquota ""`)
		for range 3 {
			appendf(tc, "ok", "inbox", "Subject: x\r\n\r\nhi\r\n")
		}
	}
}

// A storage limit alone leaves MESSAGE out, and the other way round.
func TestQuotaOneResource(t *testing.T) {
	ts := startTestServer(t, withQuota(10<<20, 0))
	hasLine(t, ts.login().transactf("ok", `getquota ""`), `* QUOTA "" (STORAGE 0 10240)`)
	ts = startTestServer(t, withQuota(0, 100))
	hasLine(t, ts.login().transactf("ok", `getquota ""`), `* QUOTA "" (MESSAGE 0 100)`)
}

// go-imap's client parses our QUOTA and QUOTAROOT responses.
func TestQuotaGoIMAP(t *testing.T) {
	ts := startTestServer(t, withQuota(1<<20, 10))
	ts.deliver("", simpleMsg)
	c, err := imapclient.DialInsecure(ts.addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Authenticate(sasl.NewPlainClient("", testUser, testPass)); err != nil {
		t.Fatal(err)
	}
	if !c.Caps().Has(imap.CapQuota) {
		t.Fatalf("caps %v", c.Caps())
	}
	if got := c.Caps().QuotaResourceTypes(); len(got) != 2 {
		t.Fatalf("quota resource types %v", got)
	}
	want := map[imap.QuotaResourceType]imapclient.QuotaResourceData{
		imap.QuotaResourceStorage: {Usage: 1, Limit: 1024},
		imap.QuotaResourceMessage: {Usage: 1, Limit: 10},
	}
	roots, err := c.GetQuotaRoot("INBOX").Wait()
	if err != nil {
		t.Fatal(err)
	}
	if len(roots) != 1 || roots[0].Root != "" || len(roots[0].Resources) != 2 ||
		roots[0].Resources[imap.QuotaResourceStorage] != want[imap.QuotaResourceStorage] ||
		roots[0].Resources[imap.QuotaResourceMessage] != want[imap.QuotaResourceMessage] {
		t.Fatalf("GETQUOTAROOT: %+v", roots)
	}
	q, err := c.GetQuota("").Wait()
	if err != nil {
		t.Fatal(err)
	}
	if q.Resources[imap.QuotaResourceMessage] != want[imap.QuotaResourceMessage] {
		t.Fatalf("GETQUOTA: %+v", q)
	}
	if err := c.SetQuota("", map[imap.QuotaResourceType]int64{imap.QuotaResourceStorage: 1}).Wait(); err == nil {
		t.Fatal("SETQUOTA succeeded")
	}
}

// STATUS DELETED-STORAGE (RFC 9208): the octets EXPUNGE would free.
func TestStatusDeletedStorage(t *testing.T) {
	ts := startTestServer(t)
	ts.deliver("", simpleMsg)
	ts.deliver("", multipartMsg)
	tc := ts.login()
	hasLine(t, tc.transactf("ok", "status inbox (deleted deleted-storage)"), "(DELETED 0 DELETED-STORAGE 0)")
	tc.transactf("ok", "select inbox")
	size := hasLine(t, tc.transactf("ok", "fetch 2 rfc822.size"), "RFC822.SIZE ")
	size = strings.TrimSuffix(size[strings.Index(size, "RFC822.SIZE ")+len("RFC822.SIZE "):], ")")
	tc.transactf("ok", "store 2 +flags.silent (\\Deleted)")
	hasLine(t, tc.transactf("ok", "status inbox (deleted-storage deleted)"), "(DELETED-STORAGE "+size+" DELETED 1)")
	hasLine(t, tc.transactf("ok", `list "" inbox return (status (deleted-storage))`), "(DELETED-STORAGE "+size+")")
}
