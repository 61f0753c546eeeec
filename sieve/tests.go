package sieve

import (
	"regexp"
	"strings"
	"time"
)

func (r *runner) test(t *cmd) (bool, error) {
	r.line = t.line
	if err := r.step(1); err != nil {
		return false, err
	}
	switch t.name {
	case "true":
		return true, nil
	case "false":
		return false, nil
	case "not":
		ok, err := r.test(t.tests[0])
		return !ok, err
	case "allof", "anyof":
		want := t.name == "anyof"
		for _, sub := range t.tests {
			ok, err := r.test(sub)
			if err != nil {
				return false, err
			}
			if ok == want {
				return want, nil
			}
		}
		return !want, nil
	case "size":
		n := int64(t.pos[0].Num)
		if _, over := t.tags["over"]; over {
			return r.msg.Size() > n, nil
		}
		return r.msg.Size() < n, nil
	case "exists":
		for _, h := range r.expandList(t.pos[0].Strs) {
			if len(r.header(h)) == 0 {
				return false, nil
			}
		}
		return true, nil
	case "header":
		var vals []string
		for _, h := range r.expandList(t.pos[0].Strs) {
			vals = append(vals, r.indexed(t, r.header(h))...)
		}
		return r.match(t, vals, t.pos[1].Strs)
	case "address":
		part := addrPartOf(t)
		var vals []string
		for _, h := range r.expandList(t.pos[0].Strs) {
			for _, v := range r.indexed(t, r.addressHeader(h)) {
				for _, a := range parseAddresses(v) {
					if p, ok := addressPart(a, part, r.env.SubaddressSeparator); ok {
						vals = append(vals, p)
					}
				}
			}
		}
		return r.match(t, vals, t.pos[1].Strs)
	case "envelope":
		part := addrPartOf(t)
		var vals []string
		for _, p := range r.expandList(t.pos[0].Strs) {
			var a string
			switch strings.ToLower(p) {
			case "from":
				a = r.env.Envelope.From
			case "to":
				a = r.env.Envelope.To
			case "auth":
				a = r.env.Envelope.Auth
				if a == "" {
					continue
				}
			default:
				return false, r.errf("envelope: unknown envelope part '%s'", p)
			}
			if a == "" {
				// The null reverse-path: only :all sees it, as "".
				if part == "all" || part == "localpart" || part == "user" {
					vals = append(vals, "")
				}
				continue
			}
			if v, ok := addressPart(a, part, r.env.SubaddressSeparator); ok {
				vals = append(vals, v)
			}
		}
		return r.match(t, vals, t.pos[1].Strs)
	case "string":
		vals := r.expandList(t.pos[0].Strs)
		if t.m.typ == "count" {
			var nonEmpty []string
			for _, v := range vals {
				if v != "" {
					nonEmpty = append(nonEmpty, v)
				}
			}
			vals = nonEmpty
		}
		return r.match(t, vals, t.pos[1].Strs)
	case "mailboxexists":
		if r.env.Mailboxes == nil {
			return false, nil
		}
		for _, m := range r.expandList(t.pos[0].Strs) {
			ok, err := r.env.Mailboxes.MailboxExists(r.ctx, m)
			if err != nil {
				return false, r.errf("mailboxexists: %v", err)
			}
			if !ok {
				return false, nil
			}
		}
		return true, nil
	case "hasflag":
		src := r.internal
		if t.pos[0].Kind != argTag {
			var parts []string
			for _, n := range r.expandList(t.pos[0].Strs) {
				parts = append(parts, r.lookup(n))
			}
			src = strings.Join(parts, " ")
		}
		var keys []string
		for _, k := range r.expandList(t.pos[1].Strs) {
			keys = append(keys, strings.Fields(k)...)
		}
		return r.matchExpanded(t, splitFlags(src), keys)
	case "body":
		tr, types := BodyText, []string(nil)
		if _, ok := t.tags["raw"]; ok {
			tr = BodyRaw
		}
		if a, ok := t.tags["content"]; ok {
			tr, types = BodyContent, r.expandList(a.Strs)
		}
		vals, err := r.msg.Body(tr, types)
		if err != nil {
			return false, r.errf("body: %v", err)
		}
		return r.match(t, vals, t.pos[0].Strs)
	case "date", "currentdate":
		return r.dateTest(t)
	case "duplicate":
		return r.duplicate(t)
	case "spamtest", "virustest":
		sc := r.env.Spam
		if t.name == "virustest" {
			sc = r.env.Virus
		}
		v := "0"
		if sc != nil {
			v = itoa(sc.Value)
			if _, ok := t.tags["percent"]; ok {
				v = itoa(sc.Percent)
			}
		}
		return r.match(t, []string{v}, []string{t.pos[0].Strs[0]})
	}
	return false, r.errf("test %s not implemented", t.name)
}

func addrPartOf(t *cmd) string {
	for _, p := range []string{"localpart", "domain", "user", "detail"} {
		if _, ok := t.tags[p]; ok {
			return p
		}
	}
	return "all"
}

// indexed applies :index/:last (RFC 5260 §6) to the field occurrences.
func (r *runner) indexed(t *cmd, vals []string) []string {
	a, ok := t.tags["index"]
	if !ok {
		return vals
	}
	i := int(a.Num)
	if i < 1 || i > len(vals) {
		return nil
	}
	if _, last := t.tags["last"]; last {
		return vals[len(vals)-i : len(vals)-i+1]
	}
	return vals[i-1 : i]
}

func (r *runner) expandList(l []string) []string {
	out := make([]string, len(l))
	for i, s := range l {
		out[i] = r.expand(s)
	}
	return out
}

func (r *runner) match(t *cmd, vals, keys []string) (bool, error) {
	return r.matchExpanded(t, vals, r.expandList(keys))
}

// matchExpanded is true when any value matches any key. On success with
// :matches or :regex the match variables are set (RFC 5229 §3.2).
func (r *runner) matchExpanded(t *cmd, vals, keys []string) (bool, error) {
	m := t.m
	if m.typ == "count" {
		n := itoa(len(vals))
		for _, k := range keys {
			if err := r.step(1); err != nil {
				return false, err
			}
			if relHolds(m.rel, compare(m.comparator, n, k)) {
				return true, nil
			}
		}
		return false, nil
	}
	for _, v := range vals {
		for _, k := range keys {
			if err := r.step(1 + len(v)/1024); err != nil {
				return false, err
			}
			switch m.typ {
			case "is":
				if compare(m.comparator, v, k) == 0 {
					return true, nil
				}
			case "value":
				if relHolds(m.rel, compare(m.comparator, v, k)) {
					return true, nil
				}
			case "contains":
				if containsFold(m.comparator, v, k) {
					return true, nil
				}
			case "matches":
				// One step per 64 glob iterations; stop the glob as soon
				// as it would exceed what is left of the budget.
				steps, budget := 0, (r.lim.MaxSteps-r.steps+1)*64
				caps, ok := globMatch(m.comparator, v, k, &steps, budget)
				if err := r.step(steps / 64); err != nil {
					return false, err
				}
				if ok {
					r.setMatchVars(append([]string{v}, caps...))
					return true, nil
				}
			case "regex":
				re, err := r.regex(k, m.comparator)
				if err != nil {
					return false, err
				}
				if sub := re.FindStringSubmatch(v); sub != nil {
					r.setMatchVars(sub)
					return true, nil
				}
			}
		}
	}
	return false, nil
}

func (r *runner) setMatchVars(vals []string) {
	if !r.fr.s.caps["variables"] {
		return
	}
	if len(vals) > 10 {
		vals = vals[:10]
	}
	for i := range vals {
		vals[i] = truncUTF8(vals[i], r.lim.MaxVariableSize)
	}
	r.fr.matchVars = vals
}

func (r *runner) regex(p, comparator string) (*regexp.Regexp, error) {
	key := comparator + "\x00" + p
	if re, ok := r.regexCache[key]; ok {
		return re, nil
	}
	if len(p) > r.lim.MaxRegexLength {
		return nil, r.errf("regular expression longer than %d bytes", r.lim.MaxRegexLength)
	}
	if len(r.regexCache) >= r.lim.MaxListLength {
		return nil, r.errf("too many distinct regular expressions")
	}
	if err := r.step(len(p)); err != nil {
		return nil, err
	}
	re, err := compileRegex(p, comparator)
	if err != nil {
		return nil, r.errf("invalid regular expression '%s': %v", p, err)
	}
	r.regexCache[key] = re
	return re, nil
}

// duplicate implements RFC 7352 §3.
func (r *runner) duplicate(t *cmd) (bool, error) {
	handle := ""
	if a, ok := t.tags["handle"]; ok {
		handle = r.expand(a.Strs[0])
	}
	var id string
	if a, ok := t.tags["uniqueid"]; ok {
		id = r.expand(a.Strs[0])
	} else {
		h := "Message-ID"
		if a, ok := t.tags["header"]; ok {
			h = r.expand(a.Strs[0])
		}
		vals := r.header(h)
		if len(vals) == 0 {
			return false, nil
		}
		id = strings.TrimSpace(vals[0])
	}
	period := r.lim.DuplicateDefaultPeriod
	if a, ok := t.tags["seconds"]; ok {
		period = time.Duration(a.Num) * time.Second
	}
	if period > r.lim.DuplicateMaxPeriod {
		period = r.lim.DuplicateMaxPeriod
	}
	seen := false
	if r.env.State != nil {
		var err error
		seen, err = r.env.State.DuplicateSeen(r.ctx, handle, id, r.now.Add(-period))
		if err != nil {
			return false, r.errf("duplicate: %v", err)
		}
	}
	if _, last := t.tags["last"]; !seen || last {
		r.res.Duplicates = append(r.res.Duplicates, DuplicateRecord{Handle: handle, ID: id, Period: period})
	}
	return seen, nil
}
