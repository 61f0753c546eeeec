package imapmsg

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mailroom/mailroom/message"
)

// ThreadMsg is what the THREAD algorithms (RFC 5256 §4) know of a message.
type ThreadMsg struct {
	Seq, UID  uint32
	Sent      time.Time // as SortItem.Sent: the Date header, else arrival
	Subject   string    // base subject, i;ascii-casemap folded
	Reply     bool      // the subject marks a reply or forward
	MessageID string    // "<id>", "" when missing
	Refs      []string  // References, else the first In-Reply-To id
}

// NewThreadMsg builds a ThreadMsg from a message's envelope and the value
// of its References header field ("" when absent).
func NewThreadMsg(seq, uid uint32, arrival time.Time, env *message.Envelope, references string) ThreadMsg {
	m := ThreadMsg{Seq: seq, UID: uid, Sent: arrival.UTC()}
	if env == nil {
		return m
	}
	m.Sent = NewSortItem(seq, uid, arrival, 0, env).Sent
	base, reply := BaseSubjectReply(env.Subject)
	m.Subject, m.Reply = asciiUpper(base), reply
	if ids := msgIDs(env.MessageID); len(ids) > 0 {
		m.MessageID = ids[0]
	}
	m.Refs = msgIDs(references)
	if len(m.Refs) == 0 {
		if ids := msgIDs(env.InReplyTo); len(ids) > 0 {
			m.Refs = ids[:1]
		}
	}
	return m
}

// msgIDs returns the "<...>" message ids in a header value, in order.
func msgIDs(v string) []string {
	var out []string
	for {
		i := strings.IndexByte(v, '<')
		if i < 0 {
			return out
		}
		j := strings.IndexByte(v[i:], '>')
		if j < 0 {
			return out
		}
		if id := v[i : i+j+1]; len(id) > 2 && !strings.ContainsAny(id[1:len(id)-1], " \t\r\n<") {
			out = append(out, id)
		}
		v = v[i+j+1:]
	}
}

// ThreadNode is a node of a thread tree; Msg is nil for a dummy (a
// message referred to but not in the result).
type ThreadNode struct {
	Msg      *ThreadMsg
	Children []*ThreadNode
	parent   *ThreadNode
}

// sentKey is the sort key of a node: a message's sent date and sequence
// number, a dummy's first child's (RFC 5256 §4 steps 4 and 6).
func (n *ThreadNode) sentKey() (time.Time, uint32) {
	for n.Msg == nil {
		if len(n.Children) == 0 {
			return time.Time{}, 0
		}
		n = n.Children[0]
	}
	return n.Msg.Sent, n.Msg.Seq
}

func bySent(a, b *ThreadNode) int {
	ta, sa := a.sentKey()
	tb, sb := b.sentKey()
	if c := ta.Compare(tb); c != 0 {
		return c
	}
	return cmp.Compare(sa, sb)
}

// ThreadOrderedSubject is THREAD=ORDEREDSUBJECT (RFC 5256 §4): messages
// with the same base subject form a thread whose first message (by sent
// date) is the parent of the others; threads in order of their first
// message.
func ThreadOrderedSubject(msgs []ThreadMsg) []*ThreadNode {
	sorted := make([]*ThreadMsg, len(msgs))
	for i := range msgs {
		sorted[i] = &msgs[i]
	}
	slices.SortFunc(sorted, func(a, b *ThreadMsg) int {
		if c := strings.Compare(a.Subject, b.Subject); c != 0 {
			return c
		}
		if c := a.Sent.Compare(b.Sent); c != 0 {
			return c
		}
		return cmp.Compare(a.Seq, b.Seq)
	})
	var roots []*ThreadNode
	for i, m := range sorted {
		if i > 0 && m.Subject == sorted[i-1].Subject {
			top := roots[len(roots)-1]
			top.Children = append(top.Children, &ThreadNode{Msg: m, parent: top})
			continue
		}
		roots = append(roots, &ThreadNode{Msg: m})
	}
	slices.SortFunc(roots, bySent)
	return roots
}

// ThreadReferences is THREAD=REFERENCES (RFC 5256 §4): threads from
// Message-ID, References and In-Reply-To, dummy messages pruned, then
// threads whose first messages share a base subject merged.
func ThreadReferences(msgs []ThreadMsg) []*ThreadNode {
	// Step 1: link messages and the ids they refer to.
	ids := make(map[string]*ThreadNode, 2*len(msgs))
	var all []*ThreadNode // creation order, for a deterministic root set
	lookup := func(id string) *ThreadNode {
		n := ids[id]
		if n == nil {
			n = &ThreadNode{}
			ids[id] = n
			all = append(all, n)
		}
		return n
	}
	for i := range msgs {
		m := &msgs[i]
		id := m.MessageID
		if id == "" || (ids[id] != nil && ids[id].Msg != nil) {
			// Missing or duplicate: a unique id of its own.
			id = "\x00" + strconv.Itoa(i)
		}
		n := lookup(id)
		n.Msg = m
		// 1.A: each reference is the parent of the next, unless it has
		// a parent already or the link would make a loop.
		var prev *ThreadNode
		for _, ref := range m.Refs {
			r := lookup(ref)
			if prev != nil && r.parent == nil && !wouldLoop(prev, r) {
				link(prev, r)
			}
			prev = r
		}
		// 1.B: the last reference is the message's parent (none without
		// references). An earlier link, possibly from a truncated
		// References, is broken first; the new one is then made unless
		// it would make a loop, which leaves the message without a
		// parent (RFC 5256 §4 step 1.B, literally, as Dovecot).
		if prev == nil {
			unlink(n)
		} else if n.parent != prev {
			unlink(n)
			if !wouldLoop(prev, n) {
				link(prev, n)
			}
		}
	}
	// Step 2: the root set.
	var roots []*ThreadNode
	for _, n := range all {
		if n.parent == nil {
			roots = append(roots, n)
		}
	}
	// Step 3: prune dummies.
	roots = prune(roots, true)
	// Step 4: sort the root set (a dummy by its sorted first child).
	for _, n := range roots {
		if n.Msg == nil {
			slices.SortFunc(n.Children, bySent)
		}
	}
	slices.SortFunc(roots, bySent)
	// Step 5: merge threads whose first messages share a base subject.
	roots = mergeSubjects(roots)
	// Step 6: sort every set of siblings, deepest first.
	sortTree(roots)
	return roots
}

// wouldLoop reports whether making parent the parent of child would make
// a loop: parent is child or one of its descendants.
func wouldLoop(parent, child *ThreadNode) bool {
	for p := parent; p != nil; p = p.parent {
		if p == child {
			return true
		}
	}
	return false
}

func link(parent, child *ThreadNode) {
	child.parent = parent
	parent.Children = append(parent.Children, child)
}

func unlink(n *ThreadNode) {
	if p := n.parent; p != nil {
		p.Children = slices.DeleteFunc(p.Children, func(c *ThreadNode) bool { return c == n })
		n.parent = nil
	}
}

// prune removes dummies without children and splices the children of the
// others into their place, except that a dummy with several children
// stays at the top level (step 3).
func prune(nodes []*ThreadNode, top bool) []*ThreadNode {
	var out []*ThreadNode
	for _, n := range nodes {
		n.Children = prune(n.Children, false)
		if n.Msg == nil {
			if len(n.Children) == 0 {
				continue
			}
			if !top || len(n.Children) == 1 {
				for _, c := range n.Children {
					c.parent = n.parent
				}
				out = append(out, n.Children...)
				continue
			}
		}
		out = append(out, n)
	}
	return out
}

// threadSubject is the base subject of a thread: its first message's, or
// its first child's for a dummy.
func threadSubject(n *ThreadNode) (string, bool) {
	for n.Msg == nil {
		if len(n.Children) == 0 {
			return "", false
		}
		n = n.Children[0]
	}
	return n.Msg.Subject, n.Msg.Subject != ""
}

// mergeSubjects is step 5.
func mergeSubjects(roots []*ThreadNode) []*ThreadNode {
	table := map[string]*ThreadNode{}
	for _, n := range roots {
		subj, ok := threadSubject(n)
		if !ok {
			continue
		}
		t, found := table[subj]
		switch {
		case !found:
			table[subj] = n
		case t.Msg != nil && (n.Msg == nil || t.Msg.Reply && !n.Msg.Reply):
			table[subj] = n
		}
	}
	gone := map[*ThreadNode]bool{}
	replaced := map[*ThreadNode]*ThreadNode{}
	for _, n := range roots {
		subj, ok := threadSubject(n)
		if !ok {
			continue
		}
		t := table[subj]
		if t == n {
			continue
		}
		switch {
		case t.Msg == nil && n.Msg == nil:
			for _, c := range n.Children {
				link(t, c)
			}
			n.Children = nil
			gone[n] = true
		case t.Msg == nil:
			link(t, n)
			gone[n] = true
		case n.Msg.Reply && !t.Msg.Reply:
			link(t, n)
			gone[n] = true
		default:
			// t is a root message here: a dummy made earlier for this
			// subject took one of the cases above.
			d := &ThreadNode{}
			replaced[d] = t
			link(d, t)
			link(d, n)
			gone[n] = true
			table[subj] = d
		}
	}
	// Put each new dummy where the message it took in stood.
	at := map[*ThreadNode]*ThreadNode{}
	for d, t := range replaced {
		at[t] = d
	}
	var out []*ThreadNode
	for _, n := range roots {
		if gone[n] {
			continue
		}
		if d, ok := at[n]; ok {
			n = d
		}
		n.parent = nil
		out = append(out, n)
	}
	return out
}

func sortTree(nodes []*ThreadNode) {
	for _, n := range nodes {
		sortTree(n.Children)
	}
	slices.SortFunc(nodes, bySent)
}

// AppendThreads renders thread trees as the THREAD response's data (RFC
// 5256 §4 thread-list): "(3 6 (4 23)(44 7 96))" is 3, its child 6, whose
// children are 4 (child 23) and 44 (child 7, child 96); a dummy is a list
// of its children's lists. uid selects UIDs instead of sequence numbers.
func AppendThreads(b []byte, roots []*ThreadNode, uid bool) []byte {
	for _, n := range roots {
		b = appendThreadList(b, n, uid)
	}
	return b
}

func appendThreadList(b []byte, n *ThreadNode, uid bool) []byte {
	b = append(b, '(')
	if n.Msg == nil {
		for _, c := range n.Children {
			b = appendThreadList(b, c, uid)
		}
		return append(b, ')')
	}
	for {
		num := n.Msg.Seq
		if uid {
			num = n.Msg.UID
		}
		b = strconv.AppendUint(b, uint64(num), 10)
		if len(n.Children) == 1 {
			b = append(b, ' ')
			n = n.Children[0]
			if n.Msg == nil { // cannot happen after pruning; render as a list
				return append(appendThreadList(b, n, uid), ')')
			}
			continue
		}
		if len(n.Children) > 1 {
			b = append(b, ' ')
			for _, c := range n.Children {
				b = appendThreadList(b, c, uid)
			}
		}
		return append(b, ')')
	}
}
