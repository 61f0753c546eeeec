package imapmsg

import (
	"testing"
	"time"

	"github.com/mailroom/mailroom/message"
)

// threadMsgs builds messages 1..n: each spec is "Message-ID|References|Subject|day".
func threadMsgs(specs ...[4]string) []ThreadMsg {
	var out []ThreadMsg
	for i, s := range specs {
		day, _ := time.Parse("2006-01-02", "2026-11-"+s[3])
		env := &message.Envelope{MessageID: s[0], Subject: s[2], Date: day.Format(time.RFC1123Z)}
		out = append(out, NewThreadMsg(uint32(i+1), uint32(100+i+1), day, env, s[1]))
	}
	return out
}

func render(roots []*ThreadNode) string { return string(AppendThreads(nil, roots, false)) }

func TestThreadReferences(t *testing.T) {
	for _, tc := range []struct {
		name  string
		specs [][4]string
		want  string
	}{
		{"chain", [][4]string{
			{"<a>", "", "x", "01"}, {"<b>", "<a>", "Re: x", "02"}, {"<c>", "<a> <b>", "Re: x", "03"},
		}, "(1 2 3)"},
		{"branches and an unrelated thread", [][4]string{
			{"<a>", "", "x", "01"}, {"<b>", "<a>", "Re: x", "02"}, {"<z>", "", "other", "03"},
			{"<c>", "<a>", "Re: x", "04"}, {"<d>", "<a> <b>", "Re: x", "05"},
		}, "(1 (2 5)(4))(3)"},
		// The parent was never received: its replies share a dummy root.
		{"missing parent", [][4]string{
			{"<b>", "<a>", "Re: y", "02"}, {"<c>", "<a>", "Re: y", "03"},
		}, "((1)(2))"},
		// One reply to a missing parent: the dummy is pruned.
		{"single orphan", [][4]string{{"<b>", "<a>", "Re: y", "02"}}, "(1)"},
		// Replies that arrive before their parent still thread under it;
		// siblings sort by sent date, not arrival.
		{"out of order", [][4]string{
			{"<c>", "<a>", "Re: x", "05"}, {"<b>", "<a>", "Re: x", "03"}, {"<a>", "", "x", "01"},
		}, "(3 (2)(1))"},
		// No references but the same base subject: merged by step 5, the
		// reply under the original.
		{"subject merge", [][4]string{
			{"<a>", "", "Lunch", "01"}, {"<b>", "", "Re: lunch", "02"},
		}, "(1 2)"},
		// Two originals with the same subject: a dummy holds both.
		{"subject merge two originals", [][4]string{
			{"<a>", "", "Report", "01"}, {"<b>", "", "report", "02"},
		}, "((1)(2))"},
		// A loop in References is ignored; duplicate Message-IDs get ids
		// of their own.
		{"loop and duplicate", [][4]string{
			{"<a>", "<b>", "p", "01"}, {"<b>", "<a>", "q", "02"}, {"<a>", "", "r", "03"},
		}, "(2 1)(3)"}, // 1 is under 2 (1.B); 2 under 1 would loop
		{"in-reply-to only", [][4]string{{"<a>", "", "s", "01"}}, "(1)"},
	} {
		if got := render(ThreadReferences(threadMsgs(tc.specs...))); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
}

func TestThreadInReplyTo(t *testing.T) {
	day := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	a := NewThreadMsg(1, 1, day, &message.Envelope{MessageID: "<a@x>", Subject: "s"}, "")
	b := NewThreadMsg(2, 2, day.Add(time.Hour), &message.Envelope{MessageID: "<b@x>", Subject: "t", InReplyTo: "<a@x> (comment) <zzz@x>"}, "")
	if got := render(ThreadReferences([]ThreadMsg{a, b})); got != "(1 2)" {
		t.Fatalf("In-Reply-To threading: %s", got)
	}
}

func TestThreadOrderedSubject(t *testing.T) {
	msgs := threadMsgs(
		[4]string{"<a>", "", "beta", "03"}, [4]string{"<b>", "", "Re: alpha", "02"},
		[4]string{"<c>", "", "alpha", "04"}, [4]string{"<d>", "", "Re: beta", "01"},
		[4]string{"<e>", "", "gamma", "05"}, [4]string{"<f>", "", "Fwd: alpha", "06"},
	)
	// alpha: 2 (02), 3 (04), 6 (06); beta: 4 (01), 1 (03); gamma: 5.
	if got := render(ThreadOrderedSubject(msgs)); got != "(4 1)(2 (3)(6))(5)" {
		t.Fatalf("ORDEREDSUBJECT: %s", got)
	}
	if got := string(AppendThreads(nil, ThreadOrderedSubject(msgs[:1]), true)); got != "(101)" {
		t.Fatalf("UIDs: %s", got)
	}
}

func FuzzThreadReferences(f *testing.F) {
	f.Add("<a> <b>", "<b> <a>", "<c> <a> <c>")
	f.Fuzz(func(t *testing.T, r1, r2, r3 string) {
		msgs := threadMsgs([4]string{"<a>", r1, "Re: x", "01"}, [4]string{"<b>", r2, "x", "02"}, [4]string{"<c>", r3, "[y] x", "03"})
		roots := ThreadReferences(msgs)
		seen := map[uint32]int{}
		var walk func(n *ThreadNode, depth int)
		walk = func(n *ThreadNode, depth int) {
			if depth > 10 {
				t.Fatal("tree too deep: a loop?")
			}
			if n.Msg != nil {
				seen[n.Msg.Seq]++
			}
			for _, c := range n.Children {
				walk(c, depth+1)
			}
		}
		for _, r := range roots {
			walk(r, 0)
		}
		for seq := uint32(1); seq <= 3; seq++ {
			if seen[seq] != 1 {
				t.Fatalf("message %d appears %d times in %s", seq, seen[seq], render(roots))
			}
		}
	})
}
