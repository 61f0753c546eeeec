package imapmsg

import (
	"errors"
	"testing"
	"time"

	"github.com/mailroom/mailroom/message"
	"github.com/mailroom/mailroom/store"
)

// testMsg is a Message that counts how often its bytes are loaded.
type testMsg struct {
	seq               uint32
	meta              store.MessageMeta
	raw               []byte
	rawLoads, parts   int
	heads, tops       int
	failRaw, failPart bool
}

var errLoad = errors.New("load failed")

func (m *testMsg) SeqNum() uint32           { return m.seq }
func (m *testMsg) Meta() *store.MessageMeta { return &m.meta }
func (m *testMsg) Raw() ([]byte, error) {
	m.rawLoads++
	if m.failRaw {
		return nil, errLoad
	}
	return m.raw, nil
}
func (m *testMsg) Part() (*message.Part, error) {
	m.parts++
	if m.failPart {
		return nil, errLoad
	}
	return message.Parse(m.raw), nil
}

// Head returns the header alone, as a store that keeps headers apart does.
func (m *testMsg) Head() ([]byte, error) {
	m.heads++
	if m.failRaw {
		return nil, errLoad
	}
	return m.raw[:message.ParseTop(m.raw).BodyStart], nil
}
func (m *testMsg) Top() (*message.Part, error) {
	m.tops++
	if m.failRaw {
		return nil, errLoad
	}
	return message.ParseTop(m.raw), nil
}

var _ Message = (*testMsg)(nil)

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func set(s string) NumSet {
	ns, err := ParseNumSet(s)
	if err != nil {
		panic(err)
	}
	return ns
}

func TestMatch(t *testing.T) {
	berlin := time.FixedZone("CET", 3600)
	newMsg := func() *testMsg {
		return &testMsg{
			seq: 3,
			meta: store.MessageMeta{
				UID:    42,
				ModSeq: 100,
				Flags:  []string{`$Forwarded`, `\Flagged`, `\Seen`},
				// 23:30 UTC on 1 Feb is 00:30 on 2 Feb in the server zone.
				InternalDate: time.Date(1994, 2, 1, 23, 30, 0, 0, time.UTC),
				Size:         int64(len(nestedMsg)),
			},
			raw: []byte(nestedMsg),
		}
	}
	env := MatchEnv{MaxSeq: 5, MaxUID: 50, Saved: set("40:42"), Location: berlin}
	size := uint64(len(nestedMsg))
	not := func(k Key) Key { return Key{Op: KeyNot, Children: []Key{k}} }
	tests := []struct {
		name string
		key  Key
		want bool
	}{
		{"all", Key{Op: KeyAll}, true},
		{"seen", Key{Op: KeySeen}, true},
		{"unseen", Key{Op: KeyUnseen}, false},
		{"flagged", Key{Op: KeyFlagged}, true},
		{"unflagged", Key{Op: KeyUnflagged}, false},
		{"answered", Key{Op: KeyAnswered}, false},
		{"unanswered", Key{Op: KeyUnanswered}, true},
		{"deleted", Key{Op: KeyDeleted}, false},
		{"undeleted", Key{Op: KeyUndeleted}, true},
		{"draft", Key{Op: KeyDraft}, false},
		{"undraft", Key{Op: KeyUndraft}, true},
		{"keyword", Key{Op: KeyKeyword, Value: "$forwarded"}, true},
		{"keyword absent", Key{Op: KeyKeyword, Value: "$Junk"}, false},
		{"unkeyword", Key{Op: KeyUnkeyword, Value: "$Junk"}, true},
		{"unkeyword present", Key{Op: KeyUnkeyword, Value: "$Forwarded"}, false},
		{"new", Key{Op: KeyNew}, false},
		{"recent", Key{Op: KeyRecent}, false},
		{"old", Key{Op: KeyOld}, true},
		{"unrecent", Key{Op: KeyUnrecent}, true},

		{"from decoded", Key{Op: KeyFrom, Value: "jÖRG"}, true},
		{"from address", Key{Op: KeyFrom, Value: "JOERG@EXAMPLE"}, true},
		{"from other", Key{Op: KeyFrom, Value: "ann@"}, false},
		{"to group member", Key{Op: KeyTo, Value: "bo@example.com"}, true},
		{"to group name", Key{Op: KeyTo, Value: "team"}, true},
		{"cc", Key{Op: KeyCc, Value: "cc@"}, true},
		{"bcc", Key{Op: KeyBcc, Value: "HIDDEN"}, true},
		{"bcc no", Key{Op: KeyBcc, Value: "cc@"}, false},
		{"subject encoded-word", Key{Op: KeySubject, Value: "GRÜSSE"}, true}, // full case folding: ß = ss
		{"subject plain", Key{Op: KeySubject, Value: "from the"}, true},
		{"subject not inner", Key{Op: KeySubject, Value: "inner subject"}, false},
		{"header", Key{Op: KeyHeader, Field: "x-priority", Value: "1"}, true},
		{"header empty value present", Key{Op: KeyHeader, Field: "X-Priority", Value: ""}, true},
		{"header empty value absent", Key{Op: KeyHeader, Field: "X-Spam", Value: ""}, false},
		{"header wrong value", Key{Op: KeyHeader, Field: "X-Priority", Value: "2"}, false},
		{"body qp latin1", Key{Op: KeyBody, Value: "schöne grüsse aus köln"}, true},
		{"body embedded", Key{Op: KeyBody, Value: "marker"}, true},
		{"body html part", Key{Op: KeyBody, Value: "inner html"}, true},
		{"body not header", Key{Op: KeyBody, Value: "X-Priority"}, false},
		{"text header", Key{Op: KeyText, Value: "x-priority: 1"}, true},
		{"text body", Key{Op: KeyText, Value: "Köln"}, true},
		{"text none", Key{Op: KeyText, Value: "nowhere to be found"}, false},

		{"on (server zone)", Key{Op: KeyOn, Date: date(1994, 2, 2)}, true},
		{"on utc date", Key{Op: KeyOn, Date: date(1994, 2, 1)}, false},
		{"before", Key{Op: KeyBefore, Date: date(1994, 2, 3)}, true},
		{"before same day", Key{Op: KeyBefore, Date: date(1994, 2, 2)}, false},
		{"since same day", Key{Op: KeySince, Date: date(1994, 2, 2)}, true},
		{"since later", Key{Op: KeySince, Date: date(1994, 2, 3)}, false},
		// Date: Tue, 1 Feb 1994 23:59:00 -0800 is 1 Feb as written.
		{"senton", Key{Op: KeySentOn, Date: date(1994, 2, 1)}, true},
		{"senton next", Key{Op: KeySentOn, Date: date(1994, 2, 2)}, false},
		{"sentbefore", Key{Op: KeySentBefore, Date: date(1994, 2, 2)}, true},
		{"sentbefore same", Key{Op: KeySentBefore, Date: date(1994, 2, 1)}, false},
		{"sentsince same", Key{Op: KeySentSince, Date: date(1994, 2, 1)}, true},
		{"sentsince later", Key{Op: KeySentSince, Date: date(1994, 2, 2)}, false},

		{"larger", Key{Op: KeyLarger, Number: size - 1}, true},
		{"larger equal", Key{Op: KeyLarger, Number: size}, false},
		{"smaller", Key{Op: KeySmaller, Number: size + 1}, true},
		{"smaller equal", Key{Op: KeySmaller, Number: size}, false},

		{"seqset", Key{Op: KeySeqSet, Set: set("1:3")}, true},
		{"seqset no", Key{Op: KeySeqSet, Set: set("4:*")}, false},
		{"seqset star", Key{Op: KeySeqSet, Set: set("*")}, false},
		{"seqset saved", Key{Op: KeySeqSet, Set: NumSet{Saved: true}}, true},
		{"uid", Key{Op: KeyUID, Set: set("40:45")}, true},
		{"uid no", Key{Op: KeyUID, Set: set("1:41,43:*")}, false},
		{"uid saved", Key{Op: KeyUID, Set: NumSet{Saved: true}}, true},
		{"modseq equal", Key{Op: KeyModSeq, Number: 100}, true},
		{"modseq lower", Key{Op: KeyModSeq, Number: 7}, true},
		{"modseq higher", Key{Op: KeyModSeq, Number: 101}, false},

		{"and", Key{Op: KeyAnd, Children: []Key{{Op: KeySeen}, {Op: KeyFrom, Value: "jörg"}}}, true},
		{"and fails", Key{Op: KeyAnd, Children: []Key{{Op: KeySeen}, {Op: KeyDraft}}}, false},
		{"empty and", Key{Op: KeyAnd}, true},
		{"or", Key{Op: KeyOr, Children: []Key{{Op: KeyDraft}, {Op: KeyFlagged}}}, true},
		{"or fails", Key{Op: KeyOr, Children: []Key{{Op: KeyDraft}, {Op: KeyDeleted}}}, false},
		{"not", not(Key{Op: KeyDraft}), true},
		{"not not", not(not(Key{Op: KeyDraft})), false},
		{"nested", Key{Op: KeyOr, Children: []Key{not(Key{Op: KeySeen}), {Op: KeyAnd, Children: []Key{{Op: KeyUID, Set: set("42")}, {Op: KeyBody, Value: "MARKER"}}}}}, true},
	}
	for _, tt := range tests {
		m := newMsg()
		got, err := Match(tt.key, m, env)
		if err != nil || got != tt.want {
			t.Errorf("%s: Match = %v, %v; want %v", tt.name, got, err, tt.want)
		}
		if m.rawLoads > 1 || m.parts > 1 {
			t.Errorf("%s: loaded raw %d times and part %d times", tt.name, m.rawLoads, m.parts)
		}
		if !NeedsBody(tt.key) && m.rawLoads > 0 {
			t.Errorf("%s: NeedsBody false but Raw was loaded", tt.name)
		}
		if !NeedsPart(tt.key) && m.parts > 0 {
			t.Errorf("%s: NeedsPart false but Part was loaded", tt.name)
		}
		if !NeedsHeader(tt.key) && !NeedsBody(tt.key) && m.heads+m.tops > 0 {
			t.Errorf("%s: NeedsHeader false but the header was loaded", tt.name)
		}
		if m.heads > 1 || m.tops > 1 {
			t.Errorf("%s: loaded the header %d times and its part %d times", tt.name, m.heads, m.tops)
		}
		// A Matcher reused across messages answers each as Match does:
		// nothing loaded for one message is taken for the next.
		other := &testMsg{seq: 1, meta: store.MessageMeta{UID: 7, Size: 9}, raw: []byte(crlf("Subject: other\n\nnothing\n"))}
		wantOther, errOther := Match(tt.key, other, env)
		mt := NewMatcher(tt.key, env)
		for i, msg := range []*testMsg{newMsg(), other, newMsg(), other} {
			want, wantErr := tt.want, error(nil)
			if i%2 == 1 {
				want, wantErr = wantOther, errOther
			}
			if got, err := mt.Match(msg); got != want || !errors.Is(err, wantErr) {
				t.Errorf("%s: Matcher.Match of message %d = %v, %v; want %v, %v", tt.name, i, got, err, want, wantErr)
			}
		}
	}
}

func TestMatchLazy(t *testing.T) {
	m := &testMsg{seq: 1, meta: store.MessageMeta{UID: 1}, raw: []byte(walkthroughMsg), failRaw: true, failPart: true}
	env := MatchEnv{MaxSeq: 1, MaxUID: 1}
	// A flag mismatch decides an AND before the body is needed.
	k := Key{Op: KeyAnd, Children: []Key{{Op: KeyBody, Value: "body"}, {Op: KeySeen}}}
	if ok, err := Match(k, m, env); ok || err != nil {
		t.Errorf("Match = %v, %v; want false without loading", ok, err)
	}
	if m.rawLoads != 0 || m.parts != 0 {
		t.Errorf("loaded raw %d, part %d times", m.rawLoads, m.parts)
	}
	// Loading errors are returned.
	if _, err := Match(Key{Op: KeyBody, Value: "x"}, m, env); !errors.Is(err, errLoad) {
		t.Errorf("Match with failing Part: err = %v", err)
	}
	m.failPart = false
	if _, err := Match(Key{Op: KeySubject, Value: "x"}, m, env); !errors.Is(err, errLoad) {
		t.Errorf("Match with failing Raw: err = %v", err)
	}
	// Several body keys load the bytes once.
	m.failRaw, m.rawLoads, m.parts = false, 0, 0
	k = Key{Op: KeyAnd, Children: []Key{{Op: KeyBody, Value: "body"}, {Op: KeyText, Value: "attachment"}, {Op: KeyFrom, Value: "from_name"}}}
	if ok, err := Match(k, m, env); !ok || err != nil {
		t.Errorf("Match = %v, %v; want true", ok, err)
	}
	if m.rawLoads != 1 || m.parts != 1 {
		t.Errorf("loaded raw %d, part %d times; want once each", m.rawLoads, m.parts)
	}
}

func TestMatchNoDate(t *testing.T) {
	m := &testMsg{seq: 1, meta: store.MessageMeta{UID: 1}, raw: []byte(crlf("Subject: x\n\nbody\n"))}
	for _, op := range []Op{KeySentBefore, KeySentOn, KeySentSince} {
		if ok, err := Match(Key{Op: op, Date: date(2000, 1, 1)}, m, MatchEnv{}); ok || err != nil {
			t.Errorf("op %d without Date header = %v, %v", op, ok, err)
		}
	}
}

func TestKeyInfo(t *testing.T) {
	flags := Key{Op: KeyAnd, Children: []Key{{Op: KeySeen}, {Op: KeyOr, Children: []Key{{Op: KeyUID, Set: set("1:*")}, {Op: KeyLarger, Number: 5}}}}}
	sent := Key{Op: KeyNot, Children: []Key{{Op: KeySentOn}}}
	header := Key{Op: KeyOr, Children: []Key{{Op: KeySeen}, {Op: KeyNot, Children: []Key{{Op: KeyHeader, Field: "X"}}}}}
	body := Key{Op: KeyOr, Children: []Key{{Op: KeySeen}, {Op: KeyNot, Children: []Key{{Op: KeyText, Value: "X"}}}}}
	modseq := Key{Op: KeyAnd, Children: []Key{{Op: KeySeen}, {Op: KeyNot, Children: []Key{{Op: KeyModSeq, Number: 3}}}}}
	for _, tt := range []struct {
		k                    Key
		body, header, modseq bool
	}{
		{flags, false, false, false},
		{sent, false, true, false},
		{header, false, true, false},
		{body, true, false, false},
		{modseq, false, false, true},
		{Key{Op: KeyModSeq}, false, false, true},
	} {
		if NeedsBody(tt.k) != tt.body || NeedsPart(tt.k) != tt.body || NeedsHeader(tt.k) != tt.header || UsesModSeq(tt.k) != tt.modseq {
			t.Errorf("%+v: NeedsBody %v NeedsPart %v NeedsHeader %v UsesModSeq %v", tt.k, NeedsBody(tt.k), NeedsPart(tt.k), NeedsHeader(tt.k), UsesModSeq(tt.k))
		}
	}
}
