package imapserver

// LIST patterns (RFC 9051 §6.3.9): "*" matches any run of characters, "%"
// any run without the hierarchy delimiter "/". Patterns come from clients,
// so matching must stay cheap whatever they send: a pattern is compiled
// once into a bit-parallel NFA with one state per pattern token (runs of
// wildcards collapse into one), and a name is matched in one pass over its
// bytes, O(len(name) × len(pattern)/64). No backtracking, no regexp.

// Bounds of LIST and mailbox names.
const (
	// maxMailboxName bounds a mailbox name and a LIST pattern (reference
	// plus pattern, decoded), in bytes: 1,024, as Dovecot.
	maxMailboxName = 1024
	// maxListPatterns and maxListPatternBytes bound the patterns of one
	// LIST-EXTENDED command (RFC 5258 §3), in number and in total length:
	// matching costs about len(name) × total/64 word operations per name.
	maxListPatterns     = 64
	maxListPatternBytes = 4 * maxMailboxName
)

type patToken byte

const (
	tokLiteral patToken = iota
	tokStar             // "*"
	tokPct              // "%"
)

// listMatcher is a compiled LIST pattern.
type listMatcher struct {
	n     int               // tokens; state n accepts
	words int               // uint64 words per state set
	lit   map[byte][]uint64 // per byte: the literal tokens that are this byte
	star  []uint64          // "*" tokens
	pct   []uint64          // "%" tokens
	wild  []uint64          // star | pct
	cur   []uint64          // scratch state sets, reused across names
	next  []uint64          //
	any   bool              // the pattern is "*": every name matches
}

// compileListPattern compiles pattern p; len(p) is bounded by the caller.
func compileListPattern(p string) *listMatcher {
	// Collapse runs of wildcards: "*" absorbs "%" ("%*" = "*%" = "*"), and
	// "%%" = "%". Afterwards a wildcard is never followed by another one.
	toks := make([]patToken, 0, len(p))
	lits := make([]byte, 0, len(p))
	for i := 0; i < len(p); i++ {
		t := tokLiteral
		switch p[i] {
		case '*':
			t = tokStar
		case '%':
			t = tokPct
		}
		if t != tokLiteral && len(toks) > 0 && toks[len(toks)-1] != tokLiteral {
			if t == tokStar {
				toks[len(toks)-1] = tokStar
			}
			continue
		}
		toks = append(toks, t)
		lits = append(lits, p[i])
	}
	m := &listMatcher{n: len(toks), words: (len(toks) + 1 + 63) / 64, lit: map[byte][]uint64{}}
	m.star = make([]uint64, m.words)
	m.pct = make([]uint64, m.words)
	m.wild = make([]uint64, m.words)
	m.cur = make([]uint64, m.words)
	m.next = make([]uint64, m.words)
	for i, t := range toks {
		w, bit := i/64, uint64(1)<<(i%64)
		switch t {
		case tokStar:
			m.star[w] |= bit
			m.wild[w] |= bit
		case tokPct:
			m.pct[w] |= bit
			m.wild[w] |= bit
		default:
			b := lits[i]
			if m.lit[b] == nil {
				m.lit[b] = make([]uint64, m.words)
			}
			m.lit[b][w] |= bit
		}
	}
	m.any = len(toks) == 1 && toks[0] == tokStar
	return m
}

// match reports whether name matches the pattern.
func (m *listMatcher) match(name string) bool {
	if m.any {
		return true
	}
	cur, next := m.cur, m.next
	clear(cur)
	cur[0] = 1
	m.closure(cur)
	for i := 0; i < len(name); i++ {
		b := name[i]
		lit := m.lit[b]
		var carry uint64
		alive := uint64(0)
		for w := range cur {
			s := cur[w]
			var l uint64
			if lit != nil {
				l = s & lit[w]
			}
			// A literal token advances (shift by one state); "*" stays;
			// "%" stays unless b is the delimiter.
			v := l<<1 | carry | s&m.star[w]
			if b != '/' {
				v |= s & m.pct[w]
			}
			carry = l >> 63
			next[w] = v
			alive |= v
		}
		if alive == 0 {
			return false
		}
		cur, next = next, cur
		m.closure(cur)
	}
	return cur[m.n/64]&(uint64(1)<<(m.n%64)) != 0
}

// closure adds, for every wildcard state in s, the state after it (the
// wildcard matching the empty string). One step suffices: a wildcard is
// never followed by another.
func (m *listMatcher) closure(s []uint64) {
	var carry uint64
	for w := range s {
		x := s[w] & m.wild[w]
		s[w] |= x<<1 | carry
		carry = x >> 63
	}
}

// matchListPatternRef is the obvious recursive matcher, exponential in the
// worst case: the reference the fuzz test compares listMatcher with on
// small inputs.
func matchListPatternRef(p, name string) bool {
	if p == "" {
		return name == ""
	}
	switch p[0] {
	case '*':
		for i := 0; i <= len(name); i++ {
			if matchListPatternRef(p[1:], name[i:]) {
				return true
			}
		}
		return false
	case '%':
		for i := 0; i <= len(name); i++ {
			if matchListPatternRef(p[1:], name[i:]) {
				return true
			}
			if i < len(name) && name[i] == '/' {
				return false
			}
		}
		return false
	}
	return name != "" && name[0] == p[0] && matchListPatternRef(p[1:], name[1:])
}
