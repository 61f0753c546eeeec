package imapserver

import (
	"slices"
	"strings"

	"github.com/mailroom/mailroom/imapserver/imapmsg"
	"github.com/mailroom/mailroom/message"
)

// cmdSort: SORT and UID SORT (RFC 5256 §3; DISPLAYFROM and DISPLAYTO,
// RFC 5957). The search criteria are SEARCH's; sorting by a header field
// reads the Envelope of the trees stored at delivery, in bounded batches,
// or, when the criteria read the header anyway, parses that. With RETURN it is ESORT (RFC 5267
// §3): the answer is an ESEARCH in sort order (esearch.go).
func cmdSort(c *conn, cmd *command) error {
	if err := c.dec.SP(); err != nil {
		return err
	}
	var ret searchReturn
	if !c.dec.PeekIs('(') {
		word, err := c.dec.Atom()
		if err != nil {
			return err
		}
		if !strings.EqualFold(word, "RETURN") {
			return badf("", "expected RETURN or sort criteria")
		}
		if err := c.dec.SP(); err != nil {
			return err
		}
		ret.given = true
		if err := c.searchReturnOpts(&ret); err != nil {
			return err
		}
		if err := c.dec.SP(); err != nil {
			return err
		}
	}
	var criteria []imapmsg.SortCriterion
	reverse := false
	err := c.dec.List(func() error {
		name, err := c.dec.Atom()
		if err != nil {
			return err
		}
		name = strings.ToUpper(name)
		if name == "REVERSE" && !reverse {
			reverse = true
			return nil
		}
		key, ok := imapmsg.SortKeys[name]
		if !ok {
			return badf("", "unknown sort criterion %q", name)
		}
		criteria = append(criteria, imapmsg.SortCriterion{Key: key, Reverse: reverse})
		reverse = false
		return nil
	})
	if err != nil {
		return err
	}
	if len(criteria) == 0 || reverse {
		return badf("", "REVERSE must be followed by a sort criterion, and one is needed")
	}
	charset, key, err := c.charsetCriteria()
	if err != nil {
		return err
	}
	if err := checkCharset(charset); err != nil {
		return err
	}
	if err := c.checkContextTag(cmd, &ret); err != nil {
		return err
	}
	items, err := c.sortItems(key, criteria, nil)
	if err != nil {
		return err
	}
	slices.SortFunc(items, func(a, b imapmsg.SortItem) int { return imapmsg.CompareSort(criteria, &a, &b) })
	if ret.update {
		c.startContext(cmd, key, criteria, nil, items)
	}
	if ret.given {
		nums := make([]uint32, len(items))
		uids := make([]uint32, len(items))
		for i, it := range items {
			nums[i], uids[i] = it.Seq, it.UID
			if cmd.uid {
				nums[i] = it.UID
			}
		}
		if ret.save {
			if ret.partial != nil && !ret.all && !ret.count && !ret.min && !ret.max {
				uids = ret.partial.slice(uids)
			}
			c.sel.saved = slices.Sorted(slices.Values(uids))
			if ret.none() && !ret.update {
				return nil
			}
		}
		if ret.none() && !ret.update {
			ret.all = true
		}
		c.writeESearch(cmd, &ret, nums, true, 0)
		return nil
	}
	c.untagged().Raw("SORT")
	for _, it := range items {
		if cmd.uid {
			c.enc.SP().Number(it.UID)
		} else {
			c.enc.SP().Number(it.Seq)
		}
	}
	c.enc.CRLF()
	return nil
}

// sortItems returns what the messages of the selected mailbox that match
// key are sorted by (in mailbox order), of all of them or, when uids is
// not nil, of those (ascending).
func (c *conn) sortItems(key imapmsg.Key, criteria []imapmsg.SortCriterion, uids []uint32) ([]imapmsg.SortItem, error) {
	withEnvelope := imapmsg.NeedsEnvelope(criteria)
	need := readForKey
	if withEnvelope {
		need = readEnvelope
	}
	var items []imapmsg.SortItem
	collect := func(m *searchMsg) error {
		var env *message.Envelope
		if withEnvelope {
			p, err := m.sortPart()
			if err != nil {
				return err
			}
			env = p.Envelope
		}
		items = append(items, imapmsg.NewSortItem(m.seq, m.meta.UID, m.meta.InternalDate, m.meta.Size, env))
		return nil
	}
	if uids != nil {
		return items, c.searchMatchingIn(key, need, uids, collect)
	}
	return items, c.searchMatching(key, need, collect)
}

// sortPart returns a part carrying the message's envelope: the stored
// tree when read (searchMatching's readEnvelope), else parsed from the
// header or bytes at hand, else the stored tree read alone (a message too
// large to be read in a batch).
func (m *searchMsg) sortPart() (*message.Part, error) {
	if m.part == nil && (m.haveRaw || m.haveHdr) {
		return m.Top()
	}
	return m.Part()
}
