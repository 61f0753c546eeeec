package imapserver

import (
	"errors"
	"slices"
	"sort"
	"strings"

	"github.com/mailroom/mailroom/store"
)

type listOpts struct {
	subscribedOnly, recursive, specialUseOnly bool // selection options
	retSubscribed, retChildren, retSpecialUse bool // return options
	retMyRights                               bool // RFC 8440
	statusItems                               []string
	lsub                                      bool
}

// cmdList: LIST (RFC 9051 §6.3.9, LIST-EXTENDED RFC 5258, LIST-STATUS RFC
// 5819, SPECIAL-USE RFC 6154).
func cmdList(c *conn, cmd *command) error {
	var o listOpts
	if err := c.dec.SP(); err != nil {
		return err
	}
	if c.dec.PeekIs('(') {
		err := c.dec.List(func() error {
			a, err := c.dec.Atom()
			switch strings.ToUpper(a) {
			case "SUBSCRIBED":
				o.subscribedOnly = true
			case "RECURSIVEMATCH":
				o.recursive = true
			case "SPECIAL-USE":
				o.specialUseOnly = true
			case "REMOTE":
			default:
				if err == nil {
					err = badf("", "unknown LIST selection option")
				}
			}
			return err
		})
		if err != nil {
			return err
		}
		if o.recursive && !o.subscribedOnly {
			return badf("", "RECURSIVEMATCH needs another selection option")
		}
		if err := c.dec.SP(); err != nil {
			return err
		}
	}
	ref, err := c.dec.AString()
	if err != nil {
		return err
	}
	if err := c.dec.SP(); err != nil {
		return err
	}
	var patterns []string
	if c.dec.PeekIs('(') {
		err = c.dec.List(func() error {
			p, err := c.listPattern()
			patterns = append(patterns, p)
			return err
		})
	} else {
		var p string
		p, err = c.listPattern()
		patterns = append(patterns, p)
	}
	if err != nil {
		return err
	}
	if !c.dec.AtEOL() {
		if err := c.dec.SP(); err != nil {
			return err
		}
		if err := c.listReturn(&o); err != nil {
			return err
		}
	}
	if err := c.endArgs(); err != nil {
		return err
	}
	if o.subscribedOnly {
		o.retSubscribed = true
	}
	return c.list(ref, patterns, o)
}

func (c *conn) listReturn(o *listOpts) error {
	kw, err := c.dec.Atom()
	if err != nil {
		return err
	}
	if !strings.EqualFold(kw, "RETURN") {
		return badf("", "expected RETURN")
	}
	if err := c.dec.SP(); err != nil {
		return err
	}
	return c.dec.List(func() error {
		a, err := c.dec.Atom()
		if err != nil {
			return err
		}
		switch strings.ToUpper(a) {
		case "SUBSCRIBED":
			o.retSubscribed = true
		case "CHILDREN":
			o.retChildren = true
		case "SPECIAL-USE":
			o.retSpecialUse = true
		case "MYRIGHTS": // RFC 8440 (acl.go)
			o.retMyRights = true
		case "STATUS":
			if err := c.dec.SP(); err != nil {
				return err
			}
			o.statusItems, err = c.statusItems()
			return err
		default:
			return badf("", "unknown LIST return option")
		}
		return nil
	})
}

func isListChar(b byte) bool { return isAStringCharOrWildcard(b) }

func isAStringCharOrWildcard(b byte) bool {
	return b == '%' || b == '*' || b == ']' || (b > 0x1f && b < 0x7f && !strings.ContainsRune("(){ \"\\", rune(b)))
}

func (c *conn) listPattern() (string, error) {
	if c.dec.PeekIs('"') || c.dec.PeekIs('{') {
		return c.dec.String()
	}
	return c.dec.AtomFunc("mailbox pattern", isListChar)
}

// cmdLsub: LSUB (RFC 3501 §6.3.9), for IMAP4rev1 sessions only.
func cmdLsub(c *conn, cmd *command) error {
	if c.rev2 {
		return badf("", "LSUB is not part of IMAP4rev2; use LIST (SUBSCRIBED)")
	}
	if err := c.dec.SP(); err != nil {
		return err
	}
	ref, err := c.dec.AString()
	if err != nil {
		return err
	}
	if err := c.dec.SP(); err != nil {
		return err
	}
	pat, err := c.listPattern()
	if err != nil {
		return err
	}
	if err := c.endArgs(); err != nil {
		return err
	}
	return c.list(ref, []string{pat}, listOpts{subscribedOnly: true, lsub: true})
}

type listEntry struct {
	name            string
	attrs           []string
	exists          bool
	mbox            store.Mailbox
	childSubscribed bool
}

func (c *conn) list(ref string, patterns []string, o listOpts) error {
	if len(patterns) == 1 && patterns[0] == "" {
		// The hierarchy delimiter and root (RFC 9051 §6.3.9).
		c.untagged().Raw(`LIST (\Noselect) "/" ""`).CRLF()
		return nil
	}
	if len(patterns) > maxListPatterns {
		return nof(codeLimit, "at most %d LIST patterns", maxListPatterns)
	}
	var ms []*listMatcher
	total := 0
	sharedWanted := false
	for _, p := range patterns {
		full := c.decodeNameRaw(ref + p)
		sharedWanted = sharedWanted || mayMatchShared(full)
		if len(full) > maxMailboxName {
			return nof(codeLimit, "LIST pattern longer than %d bytes", maxMailboxName)
		}
		if total += len(full); total > maxListPatternBytes {
			return nof(codeLimit, "LIST patterns longer than %d bytes in total", maxListPatternBytes)
		}
		ms = append(ms, compileListPattern(full))
	}
	match := func(name string) bool {
		for _, m := range ms {
			if m.match(name) {
				return true
			}
		}
		return false
	}
	st := c.srv.cfg.Store
	mboxes, err := st.Mailboxes(c.ctx, c.acct.ID)
	if err != nil {
		return err
	}
	subs, err := st.Subscriptions(c.ctx, c.acct.ID)
	if err != nil {
		return err
	}
	subscribed := map[string]bool{}
	for _, s := range subs {
		subscribed[store.CanonicalMailboxName(s)] = true
	}
	byName := map[string]store.Mailbox{}
	var names []string
	for _, m := range mboxes {
		byName[m.Name] = m
		names = append(names, m.Name)
	}
	// Other accounts' mailboxes this one may look up (shared.go), with
	// the rights the store read for them.
	var sharedRights map[string]string
	if sharedWanted {
		shared, err := st.SharedMailboxes(c.ctx, c.acct.ID)
		if err != nil {
			return err
		}
		sharedRights = make(map[string]string, len(shared))
		for _, s := range shared {
			n := visibleName(s.Owner, s.Mailbox.Name)
			byName[n] = s.Mailbox
			names = append(names, n)
			sharedRights[n] = s.Rights
		}
	}
	// Candidates: existing mailboxes, their non-existent parents, and
	// subscribed names that no longer exist. parents holds every name
	// with a mailbox below it, subParents every name with a subscribed
	// one below it: built once, in time linear in the names' lengths.
	cand := map[string]bool{}
	parents := map[string]bool{}
	for _, n := range names {
		cand[n] = true
		for i := strings.IndexByte(n, '/'); i > 0; i = nextSlash(n, i) {
			cand[n[:i]] = true
			parents[n[:i]] = true
		}
	}
	hasChildren := func(name string) bool { return parents[name] }
	// subParents: names with a subscribed mailbox below that no pattern
	// matches. LSUB "%" returns such a parent flagged \Noselect (RFC 3501
	// §6.3.9) and LIST (SUBSCRIBED RECURSIVEMATCH) gives it CHILDINFO
	// (RFC 5258 §3.5); a child the command lists itself needs neither,
	// as with Dovecot.
	subParents := map[string]bool{}
	for s := range subscribed {
		if match(s) {
			continue
		}
		for i := strings.IndexByte(s, '/'); i > 0; i = nextSlash(s, i) {
			subParents[s[:i]] = true
		}
	}
	if o.subscribedOnly {
		for s := range subscribed {
			cand[s] = true
			for i := strings.IndexByte(s, '/'); i > 0; i = nextSlash(s, i) {
				cand[s[:i]] = true
			}
		}
	}
	var entries []listEntry
	n := 0
	for name := range cand {
		if n++; n%64 == 0 {
			if err := c.ctx.Err(); err != nil {
				return err
			}
			if c.clientLeft() {
				return c.ioErr
			}
		}
		mb, exists := byName[name]
		e := listEntry{name: name, exists: exists, mbox: mb}
		if o.subscribedOnly && !subscribed[name] {
			if !o.recursive && !o.lsub {
				continue
			}
			// RECURSIVEMATCH: parents of subscribed mailboxes, with
			// CHILDINFO; LSUB: the same parents, \Noselect.
			e.childSubscribed = subParents[name]
			if !e.childSubscribed {
				continue
			}
		}
		if !match(name) {
			continue
		}
		if o.specialUseOnly && mb.SpecialUse == "" {
			continue
		}
		if !exists && !hasChildren(name) && !o.subscribedOnly {
			continue
		}
		switch {
		case o.lsub && (!exists || !subscribed[name]):
			e.attrs = append(e.attrs, `\Noselect`)
		case !exists && hasChildren(name) && inSharedNamespace(name):
			// shared and shared/<owner>, or a parent not shared.
			e.attrs = append(e.attrs, `\Noselect`)
		case !exists:
			e.attrs = append(e.attrs, `\NonExistent`)
		}
		if !o.lsub {
			if hasChildren(name) {
				e.attrs = append(e.attrs, `\HasChildren`)
			} else {
				e.attrs = append(e.attrs, `\HasNoChildren`)
			}
			if o.retSubscribed && subscribed[name] {
				e.attrs = append(e.attrs, `\Subscribed`)
			}
			if mb.SpecialUse != "" {
				e.attrs = append(e.attrs, mb.SpecialUse)
			}
		}
		entries = append(entries, e)
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].name < entries[j].name })
	for _, e := range entries {
		c.writeListEntry(e, o)
		if o.retMyRights && e.exists {
			// After the LIST entry, as RFC 8440 §3 orders it; the
			// rights come from the store like every MYRIGHTS.
			rights, ok := sharedRights[e.name]
			var err error
			if !ok {
				rights, err = st.MailboxRights(c.ctx, c.acct.ID, e.mbox.Ref())
			}
			switch {
			case err == nil:
				c.writeMyRights(e.name, rights)
			case !errors.Is(err, store.ErrNotFound): // deleted meanwhile: no rights to show
				return err
			}
		}
		if r, ok := sharedRights[e.name]; ok && !store.HasRights(r, "r") {
			continue // no STATUS without the read right (RFC 4314 §4)
		}
		if len(o.statusItems) > 0 && e.exists {
			s, err := st.MailboxStatus(c.ctx, e.mbox.Ref())
			if err != nil {
				return err
			}
			if err := c.writeStatusResp(e.mbox.Ref(), e.name, o.statusItems, s); err != nil {
				return err
			}
		}
	}
	return nil
}

// mayMatchShared reports whether a LIST pattern may match a name in the
// shared namespace: whether its part before the first wildcard and the
// namespace's prefix agree. Only then does LIST read the shared
// mailboxes.
func mayMatchShared(pattern string) bool {
	lit := pattern
	if i := strings.IndexAny(pattern, "*%"); i >= 0 {
		lit = pattern[:i]
	}
	root := sharedRoot + "/"
	return strings.HasPrefix(root, lit) || strings.HasPrefix(lit, root) || lit == sharedRoot
}

func nextSlash(s string, i int) int {
	j := strings.IndexByte(s[i+1:], '/')
	if j < 0 {
		return -1
	}
	return i + 1 + j
}

func (c *conn) writeListEntry(e listEntry, o listOpts) {
	kind := "LIST"
	if o.lsub {
		kind = "LSUB"
	}
	c.untagged().Raw(kind).Raw(" (").Raw(strings.Join(slices.Compact(e.attrs), " ")).Raw(`) "/" `)
	c.enc.AString(c.encodeName(e.name))
	if e.childSubscribed && o.recursive {
		c.enc.Raw(` ("CHILDINFO" ("SUBSCRIBED"))`)
	}
	c.enc.CRLF()
}

// decodeNameRaw decodes a pattern like a mailbox name but keeps wildcards.
func (c *conn) decodeNameRaw(p string) string {
	if !c.rev2 {
		if dec, err := decodeMUTF7(p); err == nil {
			p = dec
		}
	}
	// INBOX is case-insensitive, also as the first level of a pattern.
	if len(p) >= 5 && strings.EqualFold(p[:5], store.Inbox) && (len(p) == 5 || p[5] == '/') {
		p = store.Inbox + p[5:]
	}
	return p
}
