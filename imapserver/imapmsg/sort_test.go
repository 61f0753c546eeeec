package imapmsg

import (
	"slices"
	"testing"
	"time"

	"github.com/mailroom/mailroom/message"
)

func TestBaseSubject(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Hello", "Hello"},
		{"Re: Hello", "Hello"},
		{"RE: re: Fwd: hello", "hello"},
		{"Re[2]: Hello", "Hello"},
		{"Re [2] : Hello", "Hello"},
		{"[list] Re: Hello", "Hello"},
		{"Re: [list] Hello", "Hello"},
		{"[Fwd: Re: Hello]", "Hello"},
		{"[fwd: Hello] (fwd)", "Hello"},
		{"Hello (fwd) (FWD)  ", "Hello"},
		{"  Hello \t  world  ", "Hello world"},
		{"[only a blob]", "[only a blob]"},
		{"Fw: Fwd: [x] [y] Re: z", "z"},
		{"Reply: not a leader", "Reply: not a leader"},
		{"=?UTF-8?Q?Re:_caf=C3=A9?=", "café"},
		{"", ""},
		{"Re:", ""},
	} {
		if got := BaseSubject(tc.in); got != tc.want {
			t.Errorf("BaseSubject(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func FuzzBaseSubject(f *testing.F) {
	for _, s := range []string{"Re: [a] Fwd: x (fwd)", "[fwd: [fwd: x]]", "[", "]", "re[", "Re: ["} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b := BaseSubject(s)
		if len(b) > len(message.DecodeHeader(s))+3 {
			t.Fatalf("BaseSubject(%q) = %q grew", s, b)
		}
		if BaseSubject(b) != b && !hasPrefixFold(b, "[fwd:") {
			// Extraction is a fixed point except where step (4) kept a blob.
			if skipBlob(b) == 0 {
				t.Fatalf("BaseSubject not idempotent: %q -> %q -> %q", s, b, BaseSubject(b))
			}
		}
	})
}

func TestCompareSort(t *testing.T) {
	day := func(d int) time.Time { return time.Date(2026, 11, d, 12, 0, 0, 0, time.UTC) }
	env := func(date, subject, from, to string) *message.Envelope {
		return &message.Envelope{Date: date, Subject: subject,
			From: message.ParseAddressList(from), To: message.ParseAddressList(to)}
	}
	items := []SortItem{
		NewSortItem(1, 11, day(3), 300, env("Mon, 2 Nov 2026 10:00:00 +0000", "Re: beta", "Zed <zed@x.org>", "b@x.org")),
		NewSortItem(2, 12, day(1), 100, env("not a date", "alpha", "amy@x.org", "A@x.org")),
		NewSortItem(3, 13, day(2), 200, env("Sun, 1 Nov 2026 23:00:00 -0500", "[list] Beta", "Bob <bob@x.org>", "")),
	}
	order := func(cs ...SortCriterion) []uint32 {
		s := slices.Clone(items)
		slices.SortFunc(s, func(a, b SortItem) int { return CompareSort(cs, &a, &b) })
		var out []uint32
		for _, it := range s {
			out = append(out, it.Seq)
		}
		return out
	}
	for _, tc := range []struct {
		name string
		cs   []SortCriterion
		want []uint32
	}{
		{"arrival", []SortCriterion{{Key: SortArrival}}, []uint32{2, 3, 1}},
		{"reverse size", []SortCriterion{{Key: SortSize, Reverse: true}}, []uint32{1, 3, 2}},
		// 3 was sent at 04:00 UTC on the 2nd, before 1 (10:00); 2 has no
		// usable Date and sorts by its arrival (the 1st).
		{"date", []SortCriterion{{Key: SortDate}}, []uint32{2, 3, 1}},
		{"from mailbox", []SortCriterion{{Key: SortFrom}}, []uint32{2, 3, 1}},
		{"display from", []SortCriterion{{Key: SortDisplayFrom}}, []uint32{2, 3, 1}},
		// Equal base subjects keep mailbox order.
		{"subject", []SortCriterion{{Key: SortSubject}}, []uint32{2, 1, 3}},
		{"subject reverse then arrival", []SortCriterion{{Key: SortSubject, Reverse: true}, {Key: SortArrival}}, []uint32{3, 1, 2}},
		// No To sorts first; case is ignored ("A@x.org" = "a").
		{"to", []SortCriterion{{Key: SortTo}}, []uint32{3, 2, 1}},
	} {
		if got := order(tc.cs...); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}
