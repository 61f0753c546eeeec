package imapserver

import (
	"slices"

	"github.com/mailroom/mailroom/imapserver/imapmsg"
	"github.com/mailroom/mailroom/store"
)

// CONTEXT=SEARCH and CONTEXT=SORT (RFC 5267 §4): SEARCH RETURN (UPDATE)
// and SORT RETURN (UPDATE) keep the search's result in the session's view
// and tell the client how it changes, in untagged ESEARCH responses with
// ADDTO and REMOVEFROM, until CANCELUPDATE or the mailbox is no longer
// selected. The changes come from the session's sync with the change feed
// (sync.go): only the messages that arrived or whose flags changed are
// matched again, and expunged ones leave the result just before their
// EXPUNGE (or VANISHED) is sent (§4.3.4), while arrivals join after their
// EXISTS (§4.3.3).

// Bounds of the live contexts of a session, each held in memory and
// updated on every change to the mailbox: how many there may be (Dovecot
// also keeps 10) and how many results they may hold together when
// created. Above either, the search still answers, with an untagged
// NO [NOUPDATE "tag"] instead of a context (§4.3.1).
const (
	maxSearchContexts      = 10
	maxSearchContextResult = 100_000
)

// searchContext is one live UPDATE context.
type searchContext struct {
	tag  string
	uid  bool // UID SEARCH / UID SORT: updates carry UIDs, else sequence numbers
	key  imapmsg.Key
	sort []imapmsg.SortCriterion // SORT: the order; nil for SEARCH
	uids []uint32                // SEARCH: the result, ascending
	// through is the highest UID of the view the context was matched
	// against: higher ones are arrivals.
	through uint32
	// SORT: the result in sort order. Seq holds the UID, which orders
	// messages as their sequence numbers do and, unlike them, stays put.
	items []imapmsg.SortItem
}

func (x *searchContext) size() int { return len(x.uids) + len(x.items) }

// contextByTag returns the live context of tag, or nil.
func (v *view) contextByTag(tag string) *searchContext {
	for _, x := range v.contexts {
		if x.tag == tag {
			return x
		}
	}
	return nil
}

// checkContextTag refuses an UPDATE with the tag of a live context
// (RFC 5267 §4.3: BAD).
func (c *conn) checkContextTag(cmd *command, ret *searchReturn) error {
	if ret.update && c.sel.contextByTag(cmd.tag) != nil {
		return badf("", "tag %s already names an updating search", sanitize(cmd.tag))
	}
	return nil
}

// keepsContext reports why a context for key cannot be kept up to date,
// or "" when it can: sequence numbers (and "$") name different messages
// as the mailbox changes.
func keepsContext(k imapmsg.Key) string {
	if k.Op == imapmsg.KeySeqSet || k.Set.Saved {
		return "cannot keep a search by sequence number or $ up to date"
	}
	for _, ch := range k.Children {
		if why := keepsContext(ch); why != "" {
			return why
		}
	}
	return ""
}

// dependsOnState reports whether k looks at what changes in a message
// already in the mailbox (flags, keywords, modseq, \Recent, the time):
// only then can such a message enter or leave the result.
func dependsOnState(k imapmsg.Key) bool {
	switch {
	case k.Op >= imapmsg.KeyAnswered && k.Op <= imapmsg.KeyUnrecent,
		k.Op == imapmsg.KeyModSeq, k.Op == imapmsg.KeyYounger, k.Op == imapmsg.KeyOlder:
		return true
	}
	return slices.ContainsFunc(k.Children, dependsOnState)
}

// startContext keeps the result of the SEARCH or SORT cmd as a context,
// or writes NOUPDATE and reports false when it will not (RFC 5267
// §4.3.1). uids is a SEARCH result (ascending), items a SORT's.
func (c *conn) startContext(cmd *command, key imapmsg.Key, criteria []imapmsg.SortCriterion, uids []uint32, items []imapmsg.SortItem) {
	v := c.sel
	total := len(uids) + len(items)
	for _, x := range v.contexts {
		total += x.size()
	}
	why := keepsContext(key)
	switch {
	case why != "":
	case len(v.contexts) >= maxSearchContexts:
		why = "too many updating searches"
	case total > maxSearchContextResult:
		why = "updating searches would hold too many results"
	}
	if why != "" {
		c.untagged().Raw("NO [NOUPDATE ").Quoted(cmd.tag).Raw("] ").Raw(why).CRLF()
		return
	}
	x := &searchContext{tag: cmd.tag, uid: cmd.uid, key: key, sort: criteria, uids: slices.Clone(uids), through: v.maxUID()}
	if criteria != nil {
		x.items = slices.Clone(items)
		for i := range x.items {
			x.items[i].Seq = x.items[i].UID
		}
	}
	v.contexts = append(v.contexts, x)
}

// cmdCancelUpdate: CANCELUPDATE "tag" ... (RFC 5267 §4.3.5).
func cmdCancelUpdate(c *conn, cmd *command) error {
	var tags []string
	for {
		if err := c.dec.SP(); err != nil {
			return err
		}
		tag, err := c.dec.AString()
		if err != nil {
			return err
		}
		tags = append(tags, tag)
		if c.dec.AtEOL() {
			break
		}
	}
	if err := c.endArgs(); err != nil {
		return err
	}
	v := c.sel
	for _, tag := range tags {
		if v.contextByTag(tag) == nil {
			return nof("", "unknown tag %s", sanitize(tag)) // as Dovecot 2.3.19
		}
	}
	v.contexts = slices.DeleteFunc(v.contexts, func(x *searchContext) bool { return slices.Contains(tags, x.tag) })
	return nil
}

// contextsExpunge takes the UIDs about to be announced expunged out of
// every context, writing REMOVEFROM while their sequence numbers are
// still valid.
func (c *conn) contextsExpunge(gone map[uint32]bool) {
	for _, x := range c.sel.contexts {
		var removed []uint32
		if x.sort == nil {
			removed = slices.DeleteFunc(slices.Clone(x.uids), func(u uint32) bool { return !gone[u] })
			x.uids = slices.DeleteFunc(x.uids, func(u uint32) bool { return gone[u] })
			c.writeContextUpdate(x, removed, nil, nil, nil)
			continue
		}
		c.writeContextUpdate(x, nil, nil, x.removeItems(gone), nil)
	}
}

// contextsUpdate matches changed (UIDs in the view whose message arrived
// or changed, ascending) against every context again and writes what
// entered and left the results. New messages must be in the view (EXISTS
// sent) already.
func (c *conn) contextsUpdate(changed []uint32) error {
	v := c.sel
	for _, x := range v.contexts {
		cands := changed
		if !dependsOnState(x.key) {
			// Only arrivals can join; nothing else can leave.
			cands = slices.DeleteFunc(slices.Clone(changed), func(u uint32) bool { return u <= x.through })
		}
		x.through = v.maxUID()
		if len(cands) == 0 {
			continue
		}
		if x.sort == nil {
			var matched []uint32
			err := c.searchMatchingIn(x.key, readForKey, cands, func(m *searchMsg) error {
				matched = append(matched, m.meta.UID)
				return nil
			})
			if err != nil {
				return err
			}
			removed, added := x.applySearch(cands, matched)
			c.writeContextUpdate(x, removed, added, nil, nil)
			continue
		}
		items, err := c.sortItems(x.key, x.sort, cands)
		if err != nil {
			return err
		}
		in := make(map[uint32]bool, len(items))
		for _, it := range items {
			in[it.UID] = true
		}
		gone := map[uint32]bool{}
		for _, u := range cands {
			if !in[u] {
				gone[u] = true
			}
		}
		removes := x.removeItems(gone)
		adds := x.insertItems(items)
		c.writeContextUpdate(x, nil, nil, removes, adds)
	}
	return nil
}

// applySearch brings a SEARCH context's result up to date for cands (the
// UIDs matched again), of which matched match; it returns the UIDs that
// left and those that joined.
func (x *searchContext) applySearch(cands, matched []uint32) (removed, added []uint32) {
	isMatch := make(map[uint32]bool, len(matched))
	for _, u := range matched {
		isMatch[u] = true
	}
	for _, u := range cands {
		_, present := slices.BinarySearch(x.uids, u)
		switch {
		case present && !isMatch[u]:
			removed = append(removed, u)
		case !present && isMatch[u]:
			added = append(added, u)
		}
	}
	if len(removed) > 0 {
		gone := make(map[uint32]bool, len(removed))
		for _, u := range removed {
			gone[u] = true
		}
		x.uids = slices.DeleteFunc(x.uids, func(u uint32) bool { return gone[u] })
	}
	if len(added) > 0 {
		x.uids = append(x.uids, added...)
		slices.Sort(x.uids)
	}
	return removed, added
}

// ctxRun is a run of consecutive results of a SORT context at a position
// (1-based), in sort order: one pair of ADDTO or REMOVEFROM.
type ctxRun struct {
	pos  uint32
	uids []uint32
}

// removeItems drops the items of a SORT context whose UID is in gone and
// returns the REMOVEFROM pairs that say so, each position counted after
// the pairs before it are applied (RFC 5267 §4.3.4).
func (x *searchContext) removeItems(gone map[uint32]bool) []ctxRun {
	var runs []ctxRun
	removed, prev := 0, -2
	for i, it := range x.items {
		if !gone[it.UID] {
			continue
		}
		if i == prev+1 {
			runs[len(runs)-1].uids = append(runs[len(runs)-1].uids, it.UID)
		} else {
			runs = append(runs, ctxRun{pos: uint32(i - removed + 1), uids: []uint32{it.UID}})
		}
		prev = i
		removed++
	}
	if removed > 0 {
		x.items = slices.DeleteFunc(x.items, func(it imapmsg.SortItem) bool { return gone[it.UID] })
	}
	return runs
}

// insertItems adds the items not yet in a SORT context at their places
// in its order and returns the ADDTO pairs that say so, each position
// counted after the pairs before it are applied (RFC 5267 §4.3.3).
func (x *searchContext) insertItems(items []imapmsg.SortItem) []ctxRun {
	have := make(map[uint32]bool, len(x.items))
	for _, it := range x.items {
		have[it.UID] = true
	}
	var add []imapmsg.SortItem
	for _, it := range items {
		if !have[it.UID] {
			it.Seq = it.UID
			add = append(add, it)
		}
	}
	cmp := func(a, b imapmsg.SortItem) int { return imapmsg.CompareSort(x.sort, &a, &b) }
	slices.SortFunc(add, cmp)
	var runs []ctxRun
	for _, it := range add {
		i, _ := slices.BinarySearchFunc(x.items, it, cmp)
		x.items = slices.Insert(x.items, i, it)
		pos := uint32(i + 1)
		if n := len(runs); n > 0 && runs[n-1].pos+uint32(len(runs[n-1].uids)) == pos {
			runs[n-1].uids = append(runs[n-1].uids, it.UID)
			continue
		}
		runs = append(runs, ctxRun{pos: pos, uids: []uint32{it.UID}})
	}
	return runs
}

// writeContextUpdate writes one "* ESEARCH (TAG ...) [UID] REMOVEFROM
// (...) ADDTO (...)" for a context, if anything changed: removed (SEARCH,
// position 0) or removes (SORT runs), then added (SEARCH, position 0) or
// adds (SORT runs).
func (c *conn) writeContextUpdate(x *searchContext, removed, added []uint32, removes, adds []ctxRun) {
	if len(removed) == 0 && len(removes) == 0 && len(adds) == 0 && len(added) == 0 {
		return
	}
	v := c.sel
	nums := func(uids []uint32) []uint32 {
		if x.uid {
			return uids
		}
		out := make([]uint32, len(uids))
		for i, u := range uids {
			out[i] = v.seq(u)
		}
		return out
	}
	c.untagged().Raw("ESEARCH (TAG ").Quoted(x.tag).Raw(")")
	if x.uid {
		c.enc.Raw(" UID")
	}
	item := func(name string, set []uint32, runs []ctxRun) {
		if len(set) == 0 && len(runs) == 0 {
			return
		}
		c.enc.SP().Raw(name).Raw(" (")
		if len(set) > 0 {
			c.enc.Raw("0 ").Raw(imapmsg.NumSetFromNums(nums(set)).String())
		}
		for i, r := range runs {
			if i > 0 {
				c.enc.SP()
			}
			c.enc.Number(r.pos).SP().Raw(orderedSet(nums(r.uids)))
		}
		c.enc.Raw(")")
	}
	item("REMOVEFROM", removed, removes)
	item("ADDTO", added, adds)
	c.enc.CRLF()
}

// syncContexts updates the contexts at the end of a sync for the messages
// of metas (what the sync read, arrivals included) that are in the view
// and not gone, and those the session's own writes changed.
func (c *conn) syncContexts(metas []store.MessageMeta, gone map[uint32]bool) error {
	v := c.sel
	own := v.ownChanged
	v.ownChanged = nil
	if len(v.contexts) == 0 {
		return nil
	}
	changed := own
	for _, m := range metas {
		if !gone[m.UID] {
			changed = append(changed, m.UID)
		}
	}
	slices.Sort(changed)
	changed = slices.Compact(changed)
	changed = slices.DeleteFunc(changed, func(u uint32) bool { return v.seq(u) == 0 })
	if len(changed) == 0 {
		return nil
	}
	return c.contextsUpdate(changed)
}
