package sieve

import "strings"

// protectedField reports fields editheader must not touch (RFC 5293 §6:
// Received and Auto-Submitted, as Pigeonhole does); edits of them are
// ignored.
func protectedField(name string) bool {
	switch strings.ToLower(name) {
	case "received", "auto-submitted":
		return true
	}
	return false
}

func (r *runner) editBudget() error {
	r.edits++
	if r.edits > r.lim.MaxHeaderEdits {
		return r.errf("more than %d header edits", r.lim.MaxHeaderEdits)
	}
	return nil
}

// addHeader implements addheader (RFC 5293 §4).
func (r *runner) addHeader(c *cmd) error {
	name := r.expand(c.pos[0].Strs[0])
	value := r.expand(c.pos[1].Strs[0])
	if !validFieldName(name) {
		return r.errf("addheader: invalid header field name '%s'", name)
	}
	if protectedField(name) {
		return nil
	}
	if err := r.editBudget(); err != nil {
		return err
	}
	_, last := c.tags["last"]
	cur := append([]string(nil), r.header(name)...)
	if last {
		cur = append(cur, value)
	} else {
		cur = append([]string{value}, cur...)
	}
	if r.headers == nil {
		r.headers = map[string][]string{}
	}
	r.headers[strings.ToLower(name)] = cur
	r.res.Actions = append(r.res.Actions, AddHeader{Name: name, Value: value, Last: last})
	return nil
}

// deleteHeader implements deleteheader (RFC 5293 §5).
func (r *runner) deleteHeader(c *cmd) error {
	name := r.expand(c.pos[0].Strs[0])
	if !validFieldName(name) {
		return r.errf("deleteheader: invalid header field name '%s'", name)
	}
	if protectedField(name) {
		return nil
	}
	cur := r.header(name)
	sel := make([]bool, len(cur))
	for i := range cur {
		sel[i] = true
	}
	if a, ok := c.tags["index"]; ok {
		idx := int(a.Num)
		if _, last := c.tags["last"]; last {
			idx = len(cur) - idx + 1
		}
		for i := range sel {
			sel[i] = i == idx-1
		}
	}
	if c.pos[1].Kind != argTag {
		keys := r.expandList(c.pos[1].Strs)
		for i, v := range cur {
			if !sel[i] {
				continue
			}
			ok, err := r.matchExpanded(c, []string{v}, keys)
			if err != nil {
				return err
			}
			sel[i] = ok
		}
	}
	var kept []string
	var del []int
	for i, v := range cur {
		if sel[i] {
			del = append(del, i+1)
		} else {
			kept = append(kept, v)
		}
	}
	if len(del) == 0 {
		return nil
	}
	if err := r.editBudget(); err != nil {
		return err
	}
	if r.headers == nil {
		r.headers = map[string][]string{}
	}
	r.headers[strings.ToLower(name)] = kept
	// Highest index first, so replaying in order never shifts a later one.
	for i := len(del) - 1; i >= 0; i-- {
		r.res.Actions = append(r.res.Actions, DeleteHeader{Name: name, Index: del[i]})
	}
	return nil
}
