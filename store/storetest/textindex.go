package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailroom/mailroom/message"
	"github.com/mailroom/mailroom/store"
)

var textIndexTests = []test{
	{"SearchTextCorpus", testSearchTextCorpus},
	{"SearchTextExpunge", testSearchTextExpunge},
	{"SearchTextIsolation", testSearchTextIsolation},
	{"SearchTextManyHits", testSearchTextManyHits},
}

// TextCorpus is a varied set of messages for full-text search: encodings,
// charsets, multipart trees, encoded words, wildcard characters of SQL
// LIKE, non-ASCII case folding. Backends' own tests use it too.
func TextCorpus() []string {
	return []string{
		"From: Ann <ann@example.org>\r\nSubject: Quarterly Report\r\n\r\nThe QUICK brown fox jumps over 100% of_the lazy dogs.\r\n",
		"From: b@example.org\r\nSubject: qp\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nCaf=C3=A9 cr=C3=A8me br=C3=BBl=C3=A9e soft=\r\nbreak word\r\n",
		"From: c@example.org\r\nSubject: b64\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\nR3LDvMOfZSBhdXMgS8O2bG4sIHN0cmHDn2UgU1RSQVNTRQ==\r\n",
		"From: d@example.org\r\nSubject: latin1\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n=E9t=E9 fran=E7ais \xabguillemets\xbb\r\n",
		"From: e@example.org\r\nSubject: mixed\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\npreamble\r\n--XX\r\nContent-Type: text/plain\r\n\r\nfirst part plain\r\n--XX\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\nPGI+aHRtbCBwYXJ0IGJvbGQ8L2I+\r\n--XX\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\nc2VjcmV0YXR0YWNobWVudA==\r\n--XX--\r\n",
		"From: f@example.org\r\nSubject: =?utf-8?q?R=C3=A9union_pr=C3=A9vue?=\r\n\r\n50%_off today\r\n",
		"From: g@example.org\r\nSubject: wildcard decoy\r\n\r\n50ab off today, ofXthe\r\n",
		"From: h@example.org\r\nSubject: forward\r\nContent-Type: message/rfc822\r\n\r\nFrom: inner@example.net\r\nSubject: Inner Subject\r\n\r\nembedded body text\r\n",
		"From: i@example.org\r\nSubject: nul\r\n\r\nbefore\x00after and \"quoted\" words\r\n",
		"From: j@example.org\r\nSubject: greek\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nΣΊΣΥΦΟΣ ΚΑΙ ΟΔΥΣΣΕΑΣ\r\n",
		// Every trigram of "zebrafish" and "größenwahn" but neither word:
		// what a lookup of trigrams in any order would take for a hit.
		"From: k@example.org\r\nSubject: trigram decoy\r\n\r\nzebra brafi afish; GRÖẞE größ ößen enwahn\r\n",
		// A NUL in base64 text: the entry has a space there.
		"From: l@example.org\r\nSubject: nul64\r\nContent-Transfer-Encoding: base64\r\n\r\nc3BhY2UAc3RhdGlvbg==\r\n",
	}
}

// TextNeedles are the needles searched in TextCorpus.
func TextNeedles() []string {
	return []string{
		"quick brown", "QUICK", "ick", "café", "CRÈME", "softbreak", "grüße", "STRASSE", "straße",
		"été", "français", "«guillemets»", "secretattachment", "html part bold", "first part", "preamble",
		"réunion", "Réunion prévue", "50%_off", "%_o", "100%", "of_the", "inner subject", "embedded body",
		"subject", "example.org", "\"quoted\"", "σίσυφος", "οδυσσεας", "nowhere to be found",
		"brown fox jumps over 100% of_the lazy dogs.", "ox", "fo", "a", "before\x00after", "\xff\xfeabc",
		"zebrafish", "GRÖSSENWAHN", "größe", "space station", "before after", "space", "AFISH",
		"a needle of more than thirty-two characters: quick brown fox jumps",
	}
}

// ScanMatches reports whether raw matches SEARCH TEXT (or, bodyOnly,
// BODY) needle as IMAP's scan does: a case-folded substring of the decoded
// header and text parts.
func ScanMatches(raw []byte, needle string, bodyOnly bool) bool {
	p := message.Parse(raw)
	n := message.Fold(needle)
	if strings.Contains(message.Fold(p.TextForSearch(raw)), n) {
		return true
	}
	return !bodyOnly && strings.Contains(message.Fold(p.HeaderText(raw)), n)
}

func corpusMessages() []store.NewMessage {
	var msgs []store.NewMessage
	for _, r := range TextCorpus() {
		raw := []byte(r)
		msgs = append(msgs, store.NewMessage{Raw: raw, Part: message.Parse(raw)})
	}
	return msgs
}

// CheckSearchText checks SearchText on mbox, whose message with UID
// uids[i] is corpus message i, against the scan for every needle: never a
// match missed, and never an exact hit that the scan does not find; when
// indexed (every message has its entry), for a needle without space
// (which in an entry may stand for a NUL) of at most maxExactRunes, the
// matches as exact hits and no candidates.
func CheckSearchText(t *testing.T, s store.Store, mbox store.MailboxRef, uids []uint32, indexed bool) {
	t.Helper()
	corpus := TextCorpus()
	for _, needle := range TextNeedles() {
		for _, bodyOnly := range []bool{false, true} {
			var want []uint32
			for i, raw := range corpus {
				if ScanMatches([]byte(raw), needle, bodyOnly) {
					want = append(want, uids[i])
				}
			}
			hits, ok, err := s.SearchText(ctx(t), mbox, store.TextQuery{Needle: needle, BodyOnly: bodyOnly})
			if err != nil {
				t.Fatalf("SearchText(%q, body %v): %v", needle, bodyOnly, err)
			}
			what := fmt.Sprintf("SearchText(%q, body %v)", needle, bodyOnly)
			folded := message.Fold(needle)
			short := len([]rune(folded)) < 3 || strings.ContainsRune(needle, 0) || !isUTF8(needle)
			if ok == short {
				t.Fatalf("%s: ok = %v", what, ok)
			}
			if !ok {
				continue
			}
			// Other messages of mbox are not the test's.
			ours := func(l []uint32) []uint32 {
				return slices.DeleteFunc(slices.Clone(l), func(u uint32) bool { return !slices.Contains(uids, u) })
			}
			for _, l := range [][]uint32{hits.Exact, hits.Candidates} {
				if !slices.IsSorted(l) || len(slices.Compact(slices.Clone(l))) != len(l) {
					t.Fatalf("%s: %v not ascending", what, l)
				}
			}
			got := hits.All()
			if len(slices.Compact(slices.Clone(got))) != len(got) {
				t.Fatalf("%s: exact %v and candidates %v overlap", what, hits.Exact, hits.Candidates)
			}
			for _, u := range want {
				if !slices.Contains(got, u) {
					t.Fatalf("%s = %+v misses UID %d (scan: %v)", what, hits, u, want)
				}
			}
			for _, u := range ours(hits.Exact) {
				if !slices.Contains(want, u) {
					t.Fatalf("%s: exact hit %d is no match (scan: %v)", what, u, want)
				}
			}
			if indexed && !strings.Contains(folded, " ") && len([]rune(folded)) <= maxExactRunes {
				wantUIDs(t, what, ours(hits.Exact), want)
				wantUIDs(t, what+" candidates", ours(hits.Candidates), nil)
			}
		}
	}
}

// maxExactRunes is the longest needle every backend's index answers
// exactly.
const maxExactRunes = 32

func isUTF8(s string) bool { return strings.ToValidUTF8(s, "") == s }

// testSearchTextCorpus: the index finds what the scan finds on a varied
// corpus, delivered and appended, and nothing else where every trigram of
// the needle is rare enough; messages copied share the entry.
func testSearchTextCorpus(t *testing.T, s store.Store) {
	a := mustAccount(t, s, "alice@example.org")
	inbox := mustMailbox(t, s, a.ID, "INBOX")
	msgs := corpusMessages()
	var uids []uint32
	// Half delivered, half appended: both write the index.
	for _, m := range msgs[:len(msgs)/2] {
		d, err := s.Deliver(ctx(t), []store.Target{{AccountID: a.ID}}, m)
		if err != nil {
			t.Fatal(err)
		}
		uids = append(uids, d[0].UID)
	}
	uids = append(uids, mustAppend(t, s, inbox.Ref(), msgs[len(msgs)/2:]...)...)
	CheckSearchText(t, s, inbox.Ref(), uids, true)

	// Copies share the blob and so its entry.
	other := mustCreate(t, s, a.ID, "Other")
	_, pairs, err := s.Copy(ctx(t), inbox.Ref(), uids, other.Ref())
	if err != nil {
		t.Fatal(err)
	}
	var copied []uint32
	for _, p := range pairs {
		copied = append(copied, p.Dst)
	}
	CheckSearchText(t, s, other.Ref(), copied, true)

	// Nothing to reindex: everything was indexed as it was stored.
	calls := 0
	if err := s.ReindexText(ctx(t), 0, func(done, total int64) {
		calls++
		if done != 0 || total != 0 {
			t.Errorf("ReindexText progress %d/%d on an indexed store", done, total)
		}
	}); err != nil {
		t.Fatal(err)
	}
	if calls == 0 {
		t.Error("ReindexText never reported progress")
	}
	CheckSearchText(t, s, inbox.Ref(), uids, true)
}

// testSearchTextExpunge: expunged messages leave the results; a copy
// elsewhere keeps its entry; UIDs are not reused for new matches.
func testSearchTextExpunge(t *testing.T, s store.Store) {
	a := mustAccount(t, s, "alice@example.org")
	inbox := mustMailbox(t, s, a.ID, "INBOX")
	other := mustCreate(t, s, a.ID, "Other")
	raw := []byte("Subject: x\r\n\r\nunmistakable needle\r\n")
	m := store.NewMessage{Raw: raw, Part: message.Parse(raw)}
	uids := mustAppend(t, s, inbox.Ref(), m, testMessage("plain"))
	if _, _, err := s.Copy(ctx(t), inbox.Ref(), uids[:1], other.Ref()); err != nil {
		t.Fatal(err)
	}
	search := func(mbox store.MailboxRef) []uint32 {
		got, ok, err := s.SearchText(ctx(t), mbox, store.TextQuery{Needle: "UNMISTAKABLE", BodyOnly: true})
		if err != nil || !ok {
			t.Fatalf("SearchText: %v, %v", ok, err)
		}
		return got.All()
	}
	wantUIDs(t, "before expunge", search(inbox.Ref()), uids[:1])
	if _, _, err := s.Expunge(ctx(t), inbox.Ref(), uids[:1], false); err != nil {
		t.Fatal(err)
	}
	wantUIDs(t, "after expunge", search(inbox.Ref()), nil)
	wantUIDs(t, "copy after expunge", search(other.Ref()), []uint32{1})
	if _, _, err := s.Expunge(ctx(t), other.Ref(), []uint32{1}, false); err != nil {
		t.Fatal(err)
	}
	wantUIDs(t, "copy expunged", search(other.Ref()), nil)
	// A new message gets a new UID and its own entry.
	again := mustAppend(t, s, inbox.Ref(), m)
	wantUIDs(t, "appended again", search(inbox.Ref()), again)
}

// testSearchTextManyHits: with every entry written, a needle in a third
// of 1,500 messages comes back as exactly their UIDs, up to four digits
// (SQLite hands the index's UIDs over as one string: sqlcore.UIDConcat),
// and one in none as no UIDs; the mailbox's own UIDs only.
func testSearchTextManyHits(t *testing.T, s store.Store) {
	a := mustAccount(t, s, "alice@example.org")
	inbox := mustMailbox(t, s, a.ID, "INBOX")
	other := mustCreate(t, s, a.ID, "Other")
	var msgs []store.NewMessage
	for i := range 1500 {
		text := fmt.Sprintf("Subject: m%d\r\n\r\nplain text %d\r\n", i, i)
		if i%3 == 1 {
			text = fmt.Sprintf("Subject: m%d\r\n\r\nsome needlework %d\r\n", i, i)
		}
		msgs = append(msgs, store.NewMessage{Raw: []byte(text), Part: message.Parse([]byte(text))})
	}
	uids := mustAppend(t, s, inbox.Ref(), msgs...)
	mustAppend(t, s, other.Ref(), msgs[:10]...)
	if err := s.ReindexText(ctx(t), 0, nil); err != nil { // the pending entries too
		t.Fatal(err)
	}
	var want []uint32
	for i, u := range uids {
		if i%3 == 1 {
			want = append(want, u)
		}
	}
	for _, q := range []store.TextQuery{{Needle: "NeedleWork"}, {Needle: "needlework", BodyOnly: true}} {
		hits, ok, err := s.SearchText(ctx(t), inbox.Ref(), q)
		if err != nil || !ok {
			t.Fatalf("SearchText(%+v): %v, %v", q, ok, err)
		}
		wantUIDs(t, fmt.Sprintf("SearchText(%+v)", q), hits.Exact, want)
		wantUIDs(t, fmt.Sprintf("SearchText(%+v) candidates", q), hits.Candidates, nil)
	}
	hits, ok, err := s.SearchText(ctx(t), inbox.Ref(), store.TextQuery{Needle: "needlepoint"})
	if err != nil || !ok || len(hits.All()) != 0 {
		t.Fatalf("SearchText(needlepoint) = %+v, %v, %v; want no hits", hits, ok, err)
	}
}

// testSearchTextIsolation: SearchText is scoped by account and mailbox.
func testSearchTextIsolation(t *testing.T, s store.Store) {
	a := mustAccount(t, s, "alice@example.org")
	b := mustAccount(t, s, "bob@example.org")
	ia := mustMailbox(t, s, a.ID, "INBOX")
	ib := mustMailbox(t, s, b.ID, "INBOX")
	raw := []byte("Subject: x\r\n\r\nshared secret words\r\n")
	mustAppend(t, s, ia.Ref(), store.NewMessage{Raw: raw, Part: message.Parse(raw)})
	wrong := store.MailboxRef{AccountID: b.ID, MailboxID: ia.ID}
	if _, _, err := s.SearchText(ctx(t), wrong, store.TextQuery{Needle: "secret"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("SearchText on another account's mailbox: %v, want ErrNotFound", err)
	}
	got, ok, err := s.SearchText(ctx(t), ib.Ref(), store.TextQuery{Needle: "secret"})
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	wantUIDs(t, "bob's inbox", got.All(), nil)
	if err := s.ReindexText(ctx(t), 1<<40, nil); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("ReindexText of a missing account: %v, want ErrNotFound", err)
	}
}

// CheckReindex checks messages stored before the index existed: unindex
// must drop every index entry and mark all blobs stored so far as maybe
// unindexed, as the migration that adds the index leaves them. SearchText
// must still return them (as candidates), ReindexText of one account
// indexes its messages only, of all the rest, and again nothing.
func CheckReindex(t *testing.T, s store.Store, unindex func(t *testing.T)) {
	a := mustAccount(t, s, "alice@example.org")
	b := mustAccount(t, s, "bob@example.org")
	ia := mustMailbox(t, s, a.ID, "INBOX")
	ib := mustMailbox(t, s, b.ID, "INBOX")
	ua := mustAppend(t, s, ia.Ref(), corpusMessages()...)
	ub := mustAppend(t, s, ib.Ref(), corpusMessages()...)
	churn := mustCreate(t, s, a.ID, "Churn")
	churnMsg := func(i int) store.NewMessage {
		raw := []byte(fmt.Sprintf("Subject: churn %d\r\n\r\nchurning body %d\r\n", i, i))
		return store.NewMessage{Raw: raw, Part: message.Parse(raw)}
	}
	var old []store.NewMessage
	for i := range 40 {
		old = append(old, churnMsg(i))
	}
	uc := mustAppend(t, s, churn.Ref(), old...)
	unindex(t)
	// Stored after the migration: indexed at once.
	late := []byte("Subject: late\r\n\r\nlatecomer text\r\n")
	d, err := s.Deliver(ctx(t), []store.Target{{AccountID: a.ID}}, store.NewMessage{Raw: late, Part: message.Parse(late)})
	if err != nil {
		t.Fatal(err)
	}
	search := func(mbox store.MailboxRef, needle string) []uint32 {
		t.Helper()
		got, ok, err := s.SearchText(ctx(t), mbox, store.TextQuery{Needle: needle})
		if err != nil || !ok {
			t.Fatalf("SearchText(%q): %v, %v", needle, ok, err)
		}
		return got.All()
	}
	wantUIDs(t, "unindexed messages are candidates", search(ia.Ref(), "nowhere to be found"), ua)
	wantUIDs(t, "unindexed messages and the indexed match", search(ia.Ref(), "latecomer"), append(slices.Clone(ua), d[0].UID))
	CheckSearchText(t, s, ia.Ref(), ua, false)

	var last [2]int64
	progress := func(done, total int64) {
		if done < last[0] || done > total {
			t.Errorf("progress %d/%d after %d/%d", done, total, last[0], last[1])
		}
		last = [2]int64{done, total}
	}
	if err := s.ReindexText(ctx(t), b.ID, progress); err != nil {
		t.Fatal(err)
	}
	if n := int64(len(ub)); last != [2]int64{n, n} {
		t.Errorf("ReindexText(bob) ended at %d/%d, want %d/%d", last[0], last[1], n, n)
	}
	CheckSearchText(t, s, ib.Ref(), ub, true)
	wantUIDs(t, "alice still unindexed", search(ia.Ref(), "nowhere to be found"), ua)

	// Reindex all while messages come and go (as with serve running):
	// half of Churn's old messages expunged, new ones appended.
	last = [2]int64{}
	done := make(chan error, 1)
	go func() {
		var err error
		for i := 0; i < 20 && err == nil; i++ {
			if _, _, err = s.Expunge(ctx(t), churn.Ref(), []uint32{uc[2*i]}, false); err == nil {
				_, _, err = s.Append(ctx(t), churn.Ref(), []store.NewMessage{churnMsg(100 + i)})
			}
		}
		done <- err
	}()
	if err := s.ReindexText(ctx(t), 0, progress); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := int64(len(ua)); last[0] != last[1] || last[0] < n || last[0] > n+int64(len(uc)) {
		t.Errorf("ReindexText(all) ended at %d/%d, want between %d and %d, all done", last[0], last[1], n, n+int64(len(uc)))
	}
	CheckSearchText(t, s, ia.Ref(), ua, true)
	wantUIDs(t, "churn: nothing unindexed", search(churn.Ref(), "nowhere to be found"), nil)
	var wantChurn []uint32
	for i := 0; i < 20; i++ {
		wantChurn = append(wantChurn, uc[2*i+1])
	}
	for i := 0; i < 20; i++ {
		wantChurn = append(wantChurn, uint32(len(uc)+1+i))
	}
	wantUIDs(t, "churn after reindex", search(churn.Ref(), "churning body"), wantChurn)
	wantUIDs(t, "after reindex", search(ia.Ref(), "latecomer"), []uint32{d[0].UID})

	last = [2]int64{-1, -1}
	if err := s.ReindexText(ctx(t), 0, progress); err != nil {
		t.Fatal(err)
	}
	if last != [2]int64{0, 0} {
		t.Errorf("second ReindexText: %d/%d, want 0/0", last[0], last[1])
	}
}

// TextPender is a store whose full-text index is written in the
// background (store/internal/sqlcore.TextIndexer).
type TextPender interface {
	TextPending(ctx context.Context) (int64, error)
}

// WaitTextIndexed waits until s's indexer has left nothing pending.
func WaitTextIndexed(t testing.TB, s TextPender) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second) // a hang guard: a big batch under -race on a loaded machine
	for {
		n, err := s.TextPending(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d blobs still pending", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// PendingGauge records what an indexer reports as its backlog
// (TextIndexPending of the backends' Metrics).
type PendingGauge struct {
	mu   sync.Mutex
	last []int64
}

// TextIndexPending records n.
func (g *PendingGauge) TextIndexPending(n int64) {
	g.mu.Lock()
	g.last = append(g.last, n)
	g.mu.Unlock()
}

// CheckDrained fails t unless the gauge comes to read 0. The indexer
// reports after its commit, so a caller that saw no pending rows
// (WaitTextIndexed) may be ahead of the report: it is waited for, with
// a hang guard.
func (g *PendingGauge) CheckDrained(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		g.mu.Lock()
		last := slices.Clone(g.last)
		g.mu.Unlock()
		if len(last) > 0 && last[len(last)-1] == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("mailroom_text_index_pending reports %v, want ending at 0", last)
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}
