package imapserver

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/mailroom/mailroom/message"
	"github.com/mailroom/mailroom/store"
	"github.com/mailroom/mailroom/store/storetest"
)

// realFeed wraps a store and passes its change feed through as the real
// stores offer it (WatchFunc: calling back before the write returns;
// complete). A wrapper that hid it would leave the server the channel
// form, delivered by a goroutine: a session's own STORE could then be
// reported to it again by its next command, or not, as that goroutine
// ran, and sessions compared response for response would differ.
type realFeed struct{ Store }

func (s realFeed) FeedCoversOtherProcesses() bool {
	fc, ok := s.Store.(completeFeed)
	return ok && fc.FeedCoversOtherProcesses()
}

func (s realFeed) WatchFunc(accountID int64, fn func(store.Change)) (cancel func()) {
	return s.Store.(watchFuncer).WatchFunc(accountID, fn)
}

// scanOnlyStore answers no full-text lookup, so SEARCH reads every
// message: the reference the index must agree with.
type scanOnlyStore struct{ realFeed }

func (scanOnlyStore) SearchText(context.Context, store.MailboxRef, store.TextQuery) (store.TextHits, bool, error) {
	return store.TextHits{}, false, nil
}

// halfExactStore makes every other exact hit of the index a candidate,
// so SEARCH alternates runs of both.
type halfExactStore struct{ realFeed }

func (s halfExactStore) SearchText(ctx context.Context, mbox store.MailboxRef, q store.TextQuery) (store.TextHits, bool, error) {
	h, ok, err := s.Store.SearchText(ctx, mbox, q)
	var exact []uint32
	for i, u := range h.Exact {
		if i%2 == 0 {
			exact = append(exact, u)
		} else {
			h.Candidates = append(h.Candidates, u)
		}
	}
	slices.Sort(h.Candidates)
	h.Exact = exact
	return h, ok, err
}

// bodyCountingStore counts the messages whose bytes SEARCH reads.
type bodyCountingStore struct {
	realFeed
	read, lookups atomic.Int64
}

func (s *bodyCountingStore) ListBodies(ctx context.Context, mbox store.MailboxRef, uids []uint32, fn func(store.MessageMeta, []byte) error) error {
	s.read.Add(int64(len(uids)))
	return s.Store.ListBodies(ctx, mbox, uids, fn)
}

func (s *bodyCountingStore) SearchText(ctx context.Context, mbox store.MailboxRef, q store.TextQuery) (store.TextHits, bool, error) {
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
	scan := startTestServer(t, func(c *Config) { c.Store = scanOnlyStore{realFeed{c.Store}} })
	half := startTestServer(t, func(c *Config) { c.Store = halfExactStore{realFeed{c.Store}} })
	corpus := storetest.TextCorpus()
	for _, ts := range []*testServer{idx, scan, half} {
		for _, raw := range corpus {
			deliverRaw(t, ts, raw)
		}
	}
	// Indexed, so that the read counts below are the index's (a pending
	// blob is matched by the store itself, an exact hit whatever the
	// needle).
	storetest.WaitTextIndexed(t, idx.st)
	ci, cn, ch := idx.login(), scan.login(), half.login()
	for _, c := range []*testConn{ci, cn, ch} {
		c.transactf("ok", "select INBOX")
		c.transactf("ok", "store 2,5 +flags (\\Seen)")
	}

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
			"uid search charset utf-8 uid 2:* larger 10 not deleted text " + lit(n),
			"search charset utf-8 text " + lit(n) + " from example",
			"search charset utf-8 (seen (body " + lit(n) + ")) smaller 100000",
			"search return (partial 1:2) charset utf-8 text " + lit(n),
			"sort (date) utf-8 body " + lit(n) + " seen",
			"search return (count min max) charset utf-8 text " + lit(n),
			"sort (subject) utf-8 text " + lit(n),
			"thread references utf-8 body " + lit(n),
		} {
			want := parseResps(t, cn.transactf("ok", "%s", cmd))
			got := parseResps(t, ci.transactf("ok", "%s", cmd))
			if !reflect.DeepEqual(stripTags(got), stripTags(want)) {
				t.Errorf("%q: index %q, scan %q", cmd, got, want)
			}
			if got := parseResps(t, ch.transactf("ok", "%s", cmd)); !reflect.DeepEqual(stripTags(got), stripTags(want)) {
				t.Errorf("%q: half exact %q, scan %q", cmd, got, want)
			}
		}
	}

	// Exact hits of the index need no read unless the rest of the key
	// reads bytes; candidates (a needle with a space, which may stand for
	// a NUL in the index) are read.
	cs.read.Store(0)
	cs.lookups.Store(0)
	for _, q := range []struct {
		cmd   string
		want  []string
		reads int64
	}{
		{"search text secretattachment", nil, 0},
		{"search text QUICK", []string{"1"}, 0},
		{"uid search charset utf-8 seen uid 1:* larger 10 text " + lit("café"), []string{"2"}, 0},
		{"search text zebrafish", nil, 0},
		{"search text quick body lazy", []string{"1"}, 1},
		{"search body \"quick brown\"", []string{"1"}, 1},
	} {
		before := cs.read.Load()
		if got := searchOf(t, parseResps(t, ci.transactf("ok", "%s", q.cmd))); !slices.Equal(got, q.want) {
			t.Errorf("%s = %v, want %v", q.cmd, got, q.want)
		}
		if r := cs.read.Load() - before; r != q.reads {
			t.Errorf("%s read %d messages, want %d", q.cmd, r, q.reads)
		}
	}
	if l := cs.lookups.Load(); l != 6 {
		t.Errorf("%d index lookups, want 6", l)
	}
	cs.read.Store(0)
	ci.transactf("ok", "sort (subject) utf-8 text quick")
	ci.transactf("ok", "thread references utf-8 text quick")
	if r := cs.read.Load(); r != 0 {
		t.Errorf("SORT and THREAD of an exact hit read %d messages, want 0", r)
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
