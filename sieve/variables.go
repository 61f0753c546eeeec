package sieve

import (
	"net/url"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// expand substitutes ${name} references (RFC 5229 §3) when the current
// script requires variables. Unknown variables expand to "". The result
// is cut at Limits.MaxStringLength.
func (r *runner) expand(s string) string {
	if !r.fr.s.caps["variables"] || !strings.Contains(s, "${") {
		return s
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			break
		}
		b.WriteString(s[:i])
		rest := s[i+2:]
		j := strings.IndexByte(rest, '}')
		if j < 0 || !validRef(rest[:j]) {
			b.WriteString("${")
			s = rest
			continue
		}
		b.WriteString(r.lookup(rest[:j]))
		s = rest[j+1:]
		if b.Len() > r.lim.MaxStringLength {
			break
		}
	}
	out := b.String()
	if len(out) > r.lim.MaxStringLength {
		out = truncUTF8(out, r.lim.MaxStringLength)
	}
	// Charge the expansion; an exceeded budget fails at the next command
	// or comparison, which all check it.
	_ = r.step(len(out) / 1024)
	return out
}

// validRef accepts identifier, number and namespace.identifier references.
func validRef(ref string) bool {
	if ref == "" {
		return false
	}
	allDigits := true
	for i := 0; i < len(ref); i++ {
		if !isDigit(ref[i]) {
			allDigits = false
		}
	}
	if allDigits {
		return true
	}
	for _, part := range strings.Split(ref, ".") {
		if !validVarName(part) {
			return false
		}
	}
	return true
}

func (r *runner) lookup(ref string) string {
	if isDigit(ref[0]) {
		n := 0
		for i := 0; i < len(ref) && n < 100; i++ {
			n = n*10 + int(ref[i]-'0')
		}
		if n < len(r.fr.matchVars) {
			return r.fr.matchVars[n]
		}
		return ""
	}
	name := strings.ToLower(ref)
	if strings.HasPrefix(name, "global.") {
		return r.globals[strings.TrimPrefix(name, "global.")]
	}
	if r.fr.globals[name] {
		return r.globals[name]
	}
	return r.fr.vars[name]
}

func (r *runner) setVar(name, value string) error {
	name = strings.ToLower(name)
	value = truncUTF8(value, r.lim.MaxVariableSize)
	if strings.HasPrefix(name, "global.") {
		name = strings.TrimPrefix(name, "global.")
		r.globals[name] = value
		return nil
	}
	if r.fr.globals[name] {
		r.globals[name] = value
		return nil
	}
	if _, ok := r.fr.vars[name]; !ok && len(r.fr.vars) >= r.lim.MaxVariables {
		return r.errf("more than %d variables", r.lim.MaxVariables)
	}
	r.fr.vars[name] = value
	return nil
}

func truncUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// set implements the set command with its modifiers applied in the order
// of RFC 5229 §4.1 (higher precedence first).
func (r *runner) set(c *cmd) error {
	v := r.expand(c.pos[1].Strs[0])
	has := func(t string) bool { _, ok := c.tags[t]; return ok }
	if has("lower") {
		v = strings.ToLower(v)
	}
	if has("upper") {
		v = strings.ToUpper(v)
	}
	if has("lowerfirst") && v != "" {
		rn, n := utf8.DecodeRuneInString(v)
		v = string(unicode.ToLower(rn)) + v[n:]
	}
	if has("upperfirst") && v != "" {
		rn, n := utf8.DecodeRuneInString(v)
		v = string(unicode.ToUpper(rn)) + v[n:]
	}
	if has("quotewildcard") {
		v = quoteWildcard(v)
	}
	if has("quoteregex") {
		v = regexp.QuoteMeta(v)
	}
	if has("encodeurl") {
		v = url.QueryEscape(v)
	}
	if has("length") {
		v = itoa(utf8.RuneCountInString(v))
	}
	return r.setVar(c.pos[0].Strs[0], v)
}

// splitFlags turns a flag variable value into its distinct flags
// (RFC 5232 §3: space separated, case-insensitive).
func splitFlags(s string) []string {
	var out []string
	for _, f := range strings.Fields(s) {
		dup := false
		for _, o := range out {
			if strings.EqualFold(o, f) {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, f)
		}
	}
	return out
}

func unionFlags(a, b []string) []string {
	return splitFlags(strings.Join(a, " ") + " " + strings.Join(b, " "))
}

func (r *runner) flagString(list []string) string {
	parts := make([]string, len(list))
	for i, s := range list {
		parts[i] = r.expand(s)
	}
	return strings.Join(splitFlags(strings.Join(parts, " ")), " ")
}

// flagCommand implements setflag/addflag/removeflag (RFC 5232 §4).
func (r *runner) flagCommand(c *cmd) error {
	get := func() string { return r.internal }
	put := func(v string) error { r.internal = v; return nil }
	if c.pos[0].Kind != argTag {
		name := r.expand(c.pos[0].Strs[0])
		get = func() string { return r.lookup(name) }
		put = func(v string) error { return r.setVar(name, v) }
	}
	arg := r.flagString(c.pos[1].Strs)
	switch c.name {
	case "setflag":
		return put(arg)
	case "addflag":
		return put(strings.Join(unionFlags(splitFlags(get()), splitFlags(arg)), " "))
	}
	remove := splitFlags(arg)
	var keep []string
	for _, f := range splitFlags(get()) {
		drop := false
		for _, x := range remove {
			if strings.EqualFold(x, f) {
				drop = true
			}
		}
		if !drop {
			keep = append(keep, f)
		}
	}
	return put(strings.Join(keep, " "))
}
