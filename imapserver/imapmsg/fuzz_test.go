package imapmsg

import (
	"testing"

	"github.com/mailroom/mailroom/message"
	"github.com/mailroom/mailroom/store"
)

func FuzzParseNumSet(f *testing.F) {
	for _, s := range []string{"1", "1:3,5", "2:*", "*", "$", "5:2,7", "4294967295", "0", "1,,2", "1:"} {
		f.Add(s, uint32(5))
	}
	f.Fuzz(func(t *testing.T, s string, max uint32) {
		set, err := ParseNumSet(s)
		if err != nil {
			return
		}
		// The canonical form parses back to the same set.
		back, err := ParseNumSet(set.String())
		if err != nil {
			t.Fatalf("String() of %q = %q does not parse: %v", s, set.String(), err)
		}
		if back.String() != set.String() {
			t.Fatalf("round trip %q -> %q -> %q", s, set.String(), back.String())
		}
		// Resolve agrees with Contains at the range ends.
		for _, r := range set.Resolve(max) {
			if r.Start == 0 || r.Start > r.Stop {
				t.Fatalf("%q.Resolve(%d) has bad range %v", s, max, r)
			}
			if !set.Contains(r.Start, max) || !set.Contains(r.Stop, max) {
				t.Fatalf("%q.Resolve(%d) range %v not contained", s, max, r)
			}
			if r.Start > 1 && set.Contains(r.Start-1, max) && len(set.Resolve(max)) == 1 {
				t.Fatalf("%q.Resolve(%d) = %v misses %d", s, max, r, r.Start-1)
			}
		}
		if !set.Saved && max <= 200 {
			compact := NumSetFromNums(set.Nums(max))
			for _, n := range compact.Nums(max) {
				if !set.Contains(n, max) {
					t.Fatalf("%q: compact form %q has %d", s, compact, n)
				}
			}
		}
	})
}

func FuzzBodyStructure(f *testing.F) {
	f.Add([]byte(walkthroughMsg))
	f.Add([]byte(nestedMsg))
	f.Add([]byte("Subject: x\r\n\r\nbody\r\n"))
	f.Add([]byte("Content-Type: message/rfc822\r\n\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\n--b--\r\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		p := message.Parse(raw)
		for _, ext := range []bool{false, true} {
			if b := AppendBodyStructure(nil, p, ext); !balanced(b) {
				t.Fatalf("AppendBodyStructure(ext=%v) = %q: unbalanced", ext, b)
			}
		}
		if b := AppendEnvelope(nil, p.Envelope); !balanced(b) {
			t.Fatalf("AppendEnvelope = %q: unbalanced", b)
		}
	})
}

func FuzzParseSection(f *testing.F) {
	for _, s := range []string{"", "TEXT", "1.2.HEADER.FIELDS (From Subject)", "[HEADER]<0.100>", "2.MIME", "HEADER.FIELDS ({7}\r\nSubject)", "HEADER.FIELDS.NOT (\"a b\" c)", "1.TEXT]<1.2>"} {
		f.Add(s)
	}
	raw := []byte(nestedMsg)
	root := message.Parse(raw)
	f.Fuzz(func(t *testing.T, s string) {
		sec, err := ParseSection(s)
		if err != nil {
			return
		}
		back, err := ParseSection(sec.String())
		if err != nil {
			t.Fatalf("String() of %q = %q does not parse: %v", s, sec.String(), err)
		}
		if back.String() != sec.String() {
			t.Fatalf("round trip %q -> %q -> %q", s, sec.String(), back.String())
		}
		b, err := SectionBytes(raw, root, sec)
		if err == nil {
			ApplyPartial(b, sec.Partial)
		}
		if sec.RootHeader() {
			// Cut from the message or from its header alone without a
			// tree, the root's header sections are the same bytes.
			for _, in := range [][]byte{raw, raw[:message.BodyStart(raw)]} {
				if cut, err2 := SectionBytes(in, nil, sec); err2 != nil || string(cut) != string(b) || err != nil {
					t.Fatalf("SectionBytes(%q, nil, %s) = %q, %v; with the tree %q, %v", in, sec, cut, err2, b, err)
				}
			}
		}
	})
}

// FuzzMatch evaluates every search key against arbitrary message bytes.
func FuzzMatch(f *testing.F) {
	f.Add([]byte(walkthroughMsg), "body")
	f.Add([]byte(nestedMsg), "Grüße")
	f.Add([]byte("Subject: =?x?q?=ff?=\r\nDate: junk\r\n\r\n"), "")
	f.Fuzz(func(t *testing.T, raw []byte, value string) {
		for op := KeyAll; op <= KeyModSeq; op++ {
			m := &testMsg{seq: 1, meta: store.MessageMeta{UID: 1, Size: int64(len(raw))}, raw: raw}
			k := Key{Op: op, Field: "Subject", Value: value, Date: date(2000, 1, 1), Set: NumSet{Ranges: []NumRange{{1, 0}}}}
			if _, err := Match(k, m, MatchEnv{MaxSeq: 1, MaxUID: 1}); err != nil {
				t.Fatal(err)
			}
			if m.rawLoads > 1 || m.parts > 1 {
				t.Fatalf("loaded raw %d, part %d times", m.rawLoads, m.parts)
			}
		}
	})
}
