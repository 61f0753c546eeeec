package imapserver

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
)

// A small parser of server responses for tests, so that they assert
// parsed values (a flag list, a MODSEQ, a response code) rather than
// substrings of lines.

// sexp is a parsed response item: string (atom, quoted, literal or NIL
// as "NIL"), or []sexp for a parenthesized or bracketed list.
type sexp = any

// parseSexps parses the items of a response line (literals inline, as
// readResponse returns them: "{n}\r\n" and n bytes).
func parseSexps(s string) ([]sexp, error) {
	p := &sexpParser{s: s}
	items, err := p.items(0)
	if err != nil {
		return nil, fmt.Errorf("%w in %q", err, s)
	}
	return items, nil
}

type sexpParser struct {
	s string
	i int
}

func (p *sexpParser) items(end byte) ([]sexp, error) {
	var out []sexp
	for {
		for p.i < len(p.s) && p.s[p.i] == ' ' {
			p.i++
		}
		if p.i >= len(p.s) {
			if end != 0 {
				return nil, fmt.Errorf("missing %q", end)
			}
			return out, nil
		}
		c := p.s[p.i]
		switch {
		case c == end:
			p.i++
			return out, nil
		case c == ')' || c == ']':
			return nil, fmt.Errorf("unexpected %q at %d", c, p.i)
		case c == '(' || c == '[':
			p.i++
			close := byte(')')
			if c == '[' {
				close = ']'
			}
			l, err := p.items(close)
			if err != nil {
				return nil, err
			}
			if l == nil {
				l = []sexp{}
			}
			out = append(out, l)
		case c == '"':
			var sb strings.Builder
			p.i++
			for p.i < len(p.s) && p.s[p.i] != '"' {
				if p.s[p.i] == '\\' {
					p.i++
				}
				if p.i < len(p.s) {
					sb.WriteByte(p.s[p.i])
				}
				p.i++
			}
			if p.i >= len(p.s) {
				return nil, fmt.Errorf("unterminated string")
			}
			p.i++
			out = append(out, sb.String())
		case c == '{' || (c == '~' && p.i+1 < len(p.s) && p.s[p.i+1] == '{'):
			j := strings.Index(p.s[p.i:], "}\r\n")
			if j < 0 {
				return nil, fmt.Errorf("bad literal")
			}
			start := p.i + 1
			if c == '~' {
				start++
			}
			n, err := strconv.Atoi(strings.TrimSuffix(p.s[start:p.i+j], "+"))
			if err != nil || p.i+j+3+n > len(p.s) {
				return nil, fmt.Errorf("bad literal size")
			}
			p.i += j + 3
			out = append(out, p.s[p.i:p.i+n])
			p.i += n
		default:
			// An atom; brackets inside it (BODY[1]) belong to it.
			j := p.i
			depth := 0
			for j < len(p.s) {
				b := p.s[j]
				if b == '[' {
					depth++
				} else if b == ']' {
					if depth == 0 {
						break
					}
					depth--
				} else if depth == 0 && (b == ' ' || b == '(' || b == ')') {
					break
				}
				j++
			}
			out = append(out, p.s[p.i:j])
			p.i = j
		}
	}
}

// resp is one parsed untagged response.
type resp struct {
	line  string
	num   uint32 // "* n EXISTS", "* n FETCH": n
	kind  string // upper case: FLAGS, EXISTS, EXPUNGE, FETCH, OK, VANISHED, SEARCH, ESEARCH, LSUB, LIST, THREAD, SORT, RECENT...
	items []sexp // what follows kind
	code  []sexp // for OK/NO/BAD/BYE: the bracketed response code, if any
}

func parseResp(t testing.TB, line string) resp {
	t.Helper()
	r, err := parseRespErr(line)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// parseRespErr parses an untagged response; for goroutines, which must
// not call t.Fatal.
func parseRespErr(line string) (resp, error) {
	if !strings.HasPrefix(line, "* ") {
		return resp{}, fmt.Errorf("not untagged: %q", line)
	}
	items, err := parseSexps(line[2:])
	if err != nil {
		return resp{}, err
	}
	r := resp{line: line}
	if len(items) == 0 {
		return resp{}, fmt.Errorf("empty response %q", line)
	}
	first, _ := items[0].(string)
	if n, err := strconv.ParseUint(first, 10, 32); err == nil && len(items) > 1 {
		r.num = uint32(n)
		items = items[1:]
		first, _ = items[0].(string)
	}
	r.kind = strings.ToUpper(first)
	r.items = items[1:]
	switch r.kind {
	case "OK", "NO", "BAD", "BYE", "PREAUTH":
		if len(r.items) > 0 {
			if l, ok := r.items[0].([]sexp); ok && strings.HasPrefix(line[2+len(first):], " [") {
				r.code = l
			}
		}
	}
	return r, nil
}

func parseResps(t testing.TB, lines []string) []resp {
	t.Helper()
	out := make([]resp, 0, len(lines))
	for _, l := range lines {
		out = append(out, parseResp(t, l))
	}
	return out
}

// codeName returns the response code's name, upper case, or "".
func (r resp) codeName() string {
	if len(r.code) == 0 {
		return ""
	}
	s, _ := r.code[0].(string)
	return strings.ToUpper(s)
}

// strs returns the strings of a list item.
func strs(x sexp) []string {
	l, _ := x.([]sexp)
	out := make([]string, 0, len(l))
	for _, e := range l {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// fetchAttrs returns a FETCH response's attributes by upper-case name.
func (r resp) fetchAttrs() map[string]sexp {
	m := map[string]sexp{}
	if len(r.items) == 0 {
		return m
	}
	l, _ := r.items[0].([]sexp)
	for i := 0; i+1 < len(l); i += 2 {
		name, _ := l[i].(string)
		m[strings.ToUpper(name)] = l[i+1]
	}
	return m
}

// fetchModSeq returns the MODSEQ of a FETCH response, or 0.
func (r resp) fetchModSeq() uint64 {
	ms := strs(r.fetchAttrs()["MODSEQ"])
	if len(ms) != 1 {
		return 0
	}
	n, _ := strconv.ParseUint(ms[0], 10, 64)
	return n
}

// find returns the responses of one kind (and, for OK, one code name).
func find(rs []resp, kind string, code ...string) []resp {
	var out []resp
	for _, r := range rs {
		if r.kind != kind {
			continue
		}
		if len(code) > 0 && r.codeName() != code[0] {
			continue
		}
		out = append(out, r)
	}
	return out
}

func TestParseSexps(t *testing.T) {
	items, err := parseSexps(`5 FETCH (FLAGS ($Label1 \Deleted) MODSEQ (674) BODY[1] {3}` + "\r\nabc" + ` ENVELOPE (NIL "a \"b\"" ()))`)
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprint([]sexp{"5", "FETCH", []sexp{"FLAGS", []sexp{"$Label1", `\Deleted`}, "MODSEQ", []sexp{"674"}, "BODY[1]", "abc", "ENVELOPE", []sexp{"NIL", `a "b"`, []sexp{}}}})
	if got := fmt.Sprint(items); got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
	r := parseResp(t, `* OK [PERMANENTFLAGS (\Seen \*)] ok`)
	if r.codeName() != "PERMANENTFLAGS" || fmt.Sprint(strs(r.code[1])) != `[\Seen \*]` {
		t.Fatalf("%+v", r)
	}
}

// String makes a resp print as its line (in %q and %v).
func (r resp) String() string { return r.line }

// tagged parses the last tagged completion as a response (its tag read as
// "*"), so that a test compares its status and response code by value.
func (tc *testConn) tagged() resp {
	tc.t.Helper()
	_, rest, ok := strings.Cut(tc.lastTagged, " ")
	if !ok {
		tc.t.Fatalf("no tagged completion: %q", tc.lastTagged)
	}
	return parseResp(tc.t, "* "+rest)
}

// taggedCode is the name of the last tagged completion's response code,
// upper case, or "".
func (tc *testConn) taggedCode() string {
	tc.t.Helper()
	return tc.tagged().codeName()
}

// codeArgs returns the arguments of a response code as strings
// ("[COPYUID 7 1:2 3:4]": 7, 1:2, 3:4).
func (r resp) codeArgs() []string {
	if len(r.code) < 2 {
		return nil
	}
	return strs(r.code[1:])
}
