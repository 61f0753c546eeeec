package imapserver

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/mailroom/mailroom/message"
	"github.com/mailroom/mailroom/store"
	"github.com/mailroom/mailroom/store/storetest"
)

// scanOnlyStore answers no full-text lookup, so SEARCH reads every
// message: the reference the index must agree with.
type scanOnlyStore struct{ Store }

func (scanOnlyStore) SearchText(context.Context, store.MailboxRef, store.TextQuery) ([]uint32, bool, error) {
	return nil, false, nil
}

// bodyCountingStore counts the messages whose bytes SEARCH reads.
type bodyCountingStore struct {
	Store
	read, lookups atomic.Int64
}

func (s *bodyCountingStore) ListBodies(ctx context.Context, mbox store.MailboxRef, uids []uint32, fn func(store.MessageMeta, []byte) error) error {
	s.read.Add(int64(len(uids)))
	return s.Store.ListBodies(ctx, mbox, uids, fn)
}

func (s *bodyCountingStore) SearchText(ctx context.Context, mbox store.MailboxRef, q store.TextQuery) ([]uint32, bool, error) {
	s.lookups.Add(1)
	return s.Store.SearchText(ctx, mbox, q)
}

func deliverRaw(t *testing.T, ts *testServer, raw string) {
	t.Helper()
	if _, err := ts.st.Deliver(context.Background(), []store.Target{{AccountID: ts.acct.ID}}, store.NewMessage{Raw: []byte(raw), Part: message.Parse([]byte(raw))}); err != nil {
		t.Fatal(err)
	}
}

// TestSearchTextIndexParity: SEARCH, SORT and THREAD with TEXT and BODY
// keys answer the same with the full-text index as by reading every
// message, on the storetest corpus (encodings, charsets, multipart, LIKE
// wildcards, short needles), alone and combined with other keys; and the
// index spares the reads of messages that cannot match.
func TestSearchTextIndexParity(t *testing.T) {
	t.Parallel()
	cs := &bodyCountingStore{}
	idx := startTestServer(t, func(c *Config) { cs.Store = c.Store; c.Store = cs })
	scan := startTestServer(t, func(c *Config) { c.Store = scanOnlyStore{c.Store} })
	corpus := storetest.TextCorpus()
	for _, ts := range []*testServer{idx, scan} {
		for _, raw := range corpus {
			deliverRaw(t, ts, raw)
		}
	}
	ci, cn := idx.login(), scan.login()
	ci.transactf("ok", "select INBOX")
	cn.transactf("ok", "select INBOX")
	ci.transactf("ok", "store 2,5 +flags (\\Seen)")
	cn.transactf("ok", "store 2,5 +flags (\\Seen)")

	var needles []string
	for _, n := range storetest.TextNeedles() {
		if strings.ContainsRune(n, 0) || strings.ToValidUTF8(n, "") != n {
			continue // not a valid IMAP string; the store test covers them
		}
		needles = append(needles, n)
	}
	lit := func(s string) string { return fmt.Sprintf("{%d+}\r\n%s", len(s), s) }
	for _, n := range needles {
		for _, cmd := range []string{
			"uid search charset utf-8 text " + lit(n),
			"search charset utf-8 body " + lit(n),
			"search charset utf-8 unseen text " + lit(n),
			"search charset utf-8 or text " + lit(n) + " subject qp",
			"search charset utf-8 not body " + lit(n),
			"search charset utf-8 body " + lit(n) + " text " + lit("example"),
			"search return (count min max) charset utf-8 text " + lit(n),
			"sort (subject) utf-8 text " + lit(n),
			"thread references utf-8 body " + lit(n),
		} {
			want := parseResps(t, cn.transactf("ok", "%s", cmd))
			got := parseResps(t, ci.transactf("ok", "%s", cmd))
			if !reflect.DeepEqual(stripTags(got), stripTags(want)) {
				t.Errorf("%q: index %q, scan %q", cmd, got, want)
			}
		}
	}

	// A rare needle reads only the message that has it.
	cs.read.Store(0)
	cs.lookups.Store(0)
	if got := searchOf(t, parseResps(t, ci.transactf("ok", "search text secretattachment"))); len(got) != 0 {
		t.Errorf("an application/octet-stream part matched: %v", got)
	}
	if got := searchOf(t, parseResps(t, ci.transactf("ok", "search body \"quick brown\""))); !reflect.DeepEqual(got, []string{"1"}) {
		t.Errorf("SEARCH BODY \"quick brown\" = %v, want [1]", got)
	}
	if r, l := cs.read.Load(), cs.lookups.Load(); l != 2 || r > 2 {
		t.Errorf("two selective searches: %d index lookups and %d messages read, want 2 and at most 2 (of %d)", l, r, len(corpus))
	}
	// A short needle reads everything.
	cs.read.Store(0)
	searchOf(t, parseResps(t, ci.transactf("ok", "search body ox")))
	if r := cs.read.Load(); r != int64(len(corpus)) {
		t.Errorf("SEARCH BODY ox read %d messages, want all %d", r, len(corpus))
	}
}

// stripTags keeps the results of a search (SEARCH, ESEARCH, SORT,
// THREAD), without what differs between two sessions for the same command:
// ESEARCH's (TAG "...") correlator. (The scan's wrapper hides the store's
// change feed extensions, so flag announcements may differ.)
func stripTags(rs []resp) []resp {
	var out []resp
	for _, r := range rs {
		switch r.kind {
		case "SEARCH", "ESEARCH", "SORT", "THREAD":
		default:
			continue
		}
		r.line = ""
		if r.kind == "ESEARCH" && len(r.items) > 0 {
			r.items = r.items[1:]
		}
		out = append(out, r)
	}
	return out
}
