package imapserver

import (
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/mailroom/mailroom/store"
)

// NOTIFY (RFC 5465): the client names the mailboxes it wants to hear of
// and the events; the server then sends, at the end of every command and
// during IDLE, STATUS responses for mailboxes other than the selected one
// (MessageNew, MessageExpunge, FlagChange) and LIST responses for
// MailboxName and SubscriptionChange. It is driven by the change feed
// (sync.go), which carries every commit of the account, other processes'
// and other nodes' included, so a notification never depends on where
// the change was made. The selected mailbox keeps its usual EXISTS,
// EXPUNGE and FETCH responses.
//
// MessageNew of the selected mailbox may name fetch attributes, sent as
// FETCH right after EXISTS through the one FETCH writer (fetchMessages).
// MailboxMetadataChange and ServerMetadataChange send the unsolicited
// METADATA response of RFC 5464 §4.4.2 (entry names, no values) for
// changes the feed carries with their names (store.Change.Metadata), made
// by other sessions, on any node. With NOTIFY set, pushes come between
// commands too, not only at their end and in IDLE (notifyWait): with
// "selected" the selected mailbox's EXISTS, FETCH and EXPUNGE as well,
// with "selected-delayed" all but EXPUNGE, without either none.
//
// Not supported (refused, not silently ignored): AnnotationChange
// ([BADEVENT]).

// maxNotifyMailboxes bounds the mailboxes one session watches: what the
// filters of NOTIFY SET name or match when it is given (NO [LIMIT]
// beyond), and the mailboxes whose last STATUS it remembers.
const maxNotifyMailboxes = 1000

type notifyEvents uint8

const (
	evMessageNew notifyEvents = 1 << iota
	evMessageExpunge
	evFlagChange
	evMailboxName
	evSubscriptionChange
	evMailboxMetadataChange
	evServerMetadataChange

	evMessage = evMessageNew | evMessageExpunge | evFlagChange
)

var notifyEventNames = []struct {
	name string
	ev   notifyEvents
}{
	{"MessageNew", evMessageNew}, {"MessageExpunge", evMessageExpunge}, {"FlagChange", evFlagChange},
	{"MailboxName", evMailboxName}, {"SubscriptionChange", evSubscriptionChange},
	{"MailboxMetadataChange", evMailboxMetadataChange}, {"ServerMetadataChange", evServerMetadataChange},
}

// notifyGroup is one event group of NOTIFY SET other than the selected
// mailbox's.
type notifyGroup struct {
	filter string   // "inboxes", "personal", "subscribed", "subtree", "mailboxes"
	names  []string // subtree, mailboxes: store names
	events notifyEvents
}

// notifyState is what NOTIFY SET asked for and what the session last told
// the client.
type notifyState struct {
	selected    notifyEvents // events of the selected mailbox
	hasSelected bool         // a selected or selected-delayed filter was given
	delayed     bool         // selected-delayed: expunges wait for a command that allows them
	fetch       []fetchAtt   // sent as FETCH after EXISTS for new messages (MessageNew)
	groups      []notifyGroup
	status      map[int64]store.MailboxStatus // last STATUS sent, by mailbox id
	names       map[int64]string              // the account's mailboxes as last seen
	subs        map[string]bool               // its subscriptions as last seen
}

// matches returns the events the groups ask for mailbox name.
func (n *notifyState) matches(name string) notifyEvents {
	var ev notifyEvents
	for _, g := range n.groups {
		switch g.filter {
		case "inboxes":
			if name == store.Inbox {
				ev |= g.events
			}
		case "personal":
			ev |= g.events
		case "subscribed":
			if n.subs[name] {
				ev |= g.events
			}
		case "mailboxes":
			if slices.Contains(g.names, name) {
				ev |= g.events
			}
		case "subtree":
			for _, p := range g.names {
				if name == p || strings.HasPrefix(name, p+string(store.Delimiter)) {
					ev |= g.events
					break
				}
			}
		}
	}
	return ev
}

// parseNotifyEvents reads "NONE" or "(" event *(SP event) ")"; for the
// selected mailbox MessageNew may carry fetch attributes (RFC 5465 §5.2),
// returned in fetch.
func (c *conn) parseNotifyEvents(selected bool) (ev notifyEvents, fetch []fetchAtt, err error) {
	if !c.dec.PeekIs('(') {
		a, err := c.dec.Atom()
		if err != nil {
			return 0, nil, err
		}
		if !strings.EqualFold(a, "NONE") {
			return 0, nil, badf("", "expected NONE or a list of events")
		}
		return 0, nil, nil
	}
	if err := c.dec.Expect('('); err != nil {
		return 0, nil, err
	}
	for {
		a, err := c.dec.Atom()
		if err != nil {
			return 0, nil, err
		}
		known := false
		for _, e := range notifyEventNames {
			if strings.EqualFold(a, e.name) {
				ev |= e.ev
				known = true
			}
		}
		if !known {
			return 0, nil, nof(notifyBadEvent(), "unsupported event")
		}
		if c.dec.PeekIs(')') {
			c.dec.Expect(')')
			break
		}
		if err := c.dec.SP(); err != nil {
			return 0, nil, err
		}
		if c.dec.PeekIs('(') {
			// "MessageNew (fetch-att ...)".
			if !strings.EqualFold(a, "MessageNew") || !selected {
				return 0, nil, badf("", "fetch attributes only after MessageNew of the selected mailbox")
			}
			if fetch, err = c.notifyFetchAtts(); err != nil {
				return 0, nil, err
			}
			if c.dec.PeekIs(')') {
				c.dec.Expect(')')
				break
			}
			if err := c.dec.SP(); err != nil {
				return 0, nil, err
			}
		}
	}
	if (ev&evMessageNew != 0) != (ev&evMessageExpunge != 0) {
		return 0, nil, badf("", "MessageNew and MessageExpunge go together")
	}
	if ev&evFlagChange != 0 && ev&evMessageNew == 0 {
		return 0, nil, badf("", "FlagChange needs MessageNew and MessageExpunge")
	}
	if selected && ev&^evMessage != 0 {
		return 0, nil, badf("", "only message events for the selected mailbox")
	}
	return ev, fetch, nil
}

// maxNotifyFetchAtts bounds the fetch attributes after MessageNew.
const maxNotifyFetchAtts = 32

// notifyFetchAtts reads the fetch attributes after MessageNew: a list of
// at least one and at most maxNotifyFetchAtts. Those that would set \Seen
// (BODY[...] and BINARY[...] without .PEEK, RFC822, RFC822.TEXT), which a
// client SHOULD NOT use (RFC 5465 §5.2), are accepted as Dovecot does,
// but taken as their .PEEK forms: an unsolicited response changes no
// message.
func (c *conn) notifyFetchAtts() ([]fetchAtt, error) {
	var atts []fetchAtt
	err := c.dec.List(func() error {
		if len(atts) >= maxNotifyFetchAtts {
			return nof(codeLimit, "at most %d fetch attributes after MessageNew", maxNotifyFetchAtts)
		}
		a, err := c.fetchAtt()
		a.peek = true // never sets \Seen
		atts = append(atts, a)
		return err
	})
	if err == nil && len(atts) == 0 {
		err = badf("", "empty fetch attribute list")
	}
	return atts, err
}

// notifyBadEvent is the [BADEVENT (...)] code listing what is supported
// (RFC 5465 §5).
func notifyBadEvent() string {
	names := make([]string, len(notifyEventNames))
	for i, e := range notifyEventNames {
		names[i] = e.name
	}
	return "BADEVENT (" + strings.Join(names, " ") + ")"
}

// parseNotify reads NOTIFY's arguments: n is nil for NOTIFY NONE;
// sendStatus is SET's STATUS indicator.
func (c *conn) parseNotify() (n *notifyState, sendStatus bool, err error) {
	if err := c.dec.SP(); err != nil {
		return nil, false, err
	}
	verb, err := c.dec.Atom()
	if err != nil {
		return nil, false, err
	}
	switch strings.ToUpper(verb) {
	case "NONE":
		return nil, false, c.endArgs()
	case "SET":
	default:
		return nil, false, badf("", "expected SET or NONE")
	}
	n = &notifyState{status: map[int64]store.MailboxStatus{}}
	seenSelected := false
	names := 0
	for {
		if err := c.dec.SP(); err != nil {
			return nil, false, err
		}
		if !c.dec.PeekIs('(') {
			a, err := c.dec.Atom()
			if err != nil {
				return nil, false, err
			}
			if !strings.EqualFold(a, "STATUS") || sendStatus || len(n.groups) > 0 || seenSelected {
				return nil, false, badf("", "expected an event group")
			}
			sendStatus = true
			continue
		}
		c.dec.Expect('(')
		filter, err := c.dec.Atom()
		if err != nil {
			return nil, false, err
		}
		filter = strings.ToLower(filter)
		if err := c.dec.SP(); err != nil {
			return nil, false, err
		}
		g := notifyGroup{filter: filter}
		switch filter {
		case "selected", "selected-delayed":
			if seenSelected {
				return nil, false, badf("", "selected given twice")
			}
			seenSelected = true
		case "inboxes", "personal", "subscribed":
		case "subtree", "mailboxes":
			read := func() error {
				name, err := c.mailboxArg()
				if err != nil {
					return err
				}
				if names++; names > maxNotifyMailboxes {
					return nof(codeLimit, "at most %d mailboxes in NOTIFY", maxNotifyMailboxes)
				}
				g.names = append(g.names, name)
				return nil
			}
			if c.dec.PeekIs('(') {
				err = c.dec.List(read)
			} else {
				err = read()
			}
			if err != nil {
				return nil, false, err
			}
			if err := c.dec.SP(); err != nil {
				return nil, false, err
			}
		default:
			return nil, false, badf("", "unknown NOTIFY filter")
		}
		ev, fetch, err := c.parseNotifyEvents(filter == "selected" || filter == "selected-delayed")
		if err != nil {
			return nil, false, err
		}
		if err := c.dec.Expect(')'); err != nil {
			return nil, false, err
		}
		if filter == "selected" || filter == "selected-delayed" {
			n.selected, n.fetch, n.delayed = ev, fetch, filter == "selected-delayed"
			n.hasSelected = true
		} else {
			g.events = ev
			n.groups = append(n.groups, g)
		}
		if c.dec.AtEOL() {
			break
		}
	}
	return n, sendStatus, c.endArgs()
}

// cmdNotify: NOTIFY SET [STATUS] event-group ... / NOTIFY NONE
// (RFC 5465 §3).
func cmdNotify(c *conn, cmd *command) error {
	n, sendStatus, err := c.parseNotify()
	if err != nil {
		return err
	}
	if n == nil {
		// No events at all from now on, not even the selected
		// mailbox's (RFC 5465 §3.1, as Dovecot does).
		c.setNotify(&notifyState{})
		return nil
	}
	if err := c.notifyRefreshList(n, nil); err != nil {
		return err
	}
	watched := 0
	for _, name := range n.names {
		if n.matches(name) != 0 {
			watched++
		}
	}
	if watched > maxNotifyMailboxes {
		return nof(codeLimit, "NOTIFY would watch more than %d mailboxes", maxNotifyMailboxes)
	}
	// From here on the feed records every changed mailbox.
	c.setNotify(n)
	if c.sel != nil && n.selected&evMessage != 0 {
		// An implicit NOOP (RFC 5465 §3.1): what accumulated while
		// NOTIFY kept the selected mailbox quiet comes now.
		if err := c.syncForce(true, true); err != nil {
			return err
		}
	}
	for _, id := range sortedIDs(n.names) {
		if c.sel != nil && id == c.sel.mbox.ID {
			continue
		}
		if n.matches(n.names[id])&evMessage == 0 {
			continue
		}
		st, err := c.srv.cfg.Store.MailboxStatus(c.ctx, store.MailboxRef{AccountID: c.acct.ID, MailboxID: id})
		if errors.Is(err, store.ErrNotFound) {
			continue
		} else if err != nil {
			return err
		}
		n.status[id] = st
		if sendStatus {
			c.writeNotifyStatus(id, n.names[id], st)
		}
	}
	return nil
}

func sortedIDs(m map[int64]string) []int64 {
	ids := make([]int64, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// quietSelected reports whether NOTIFY asked for no events of the
// selected mailbox: NOTIFY NONE, or SET without a selected filter (RFC
// 5465 §3.1: "the same as specifying SELECTED NONE"). Then the selected
// mailbox's changes are not announced, and the view stays where the
// client knows it, until a NOTIFY SET with a selected filter.
func (n *notifyState) quietSelected() bool {
	return n != nil && n.selected&evMessage == 0
}

// setNotify turns notifications on (n) or off (nil).
func (c *conn) setNotify(n *notifyState) {
	c.pendingMu.Lock()
	c.notify = n
	c.notifyDirty = nil
	c.notifyAll = false
	c.notifyMeta = nil
	c.notifyWake.Store(false)
	c.pendingMu.Unlock()
}

// maxNotifyMetadata bounds the metadata entry names waiting to be pushed;
// beyond it the session says NOTIFICATIONOVERFLOW and notifies no more
// (RFC 5465 §5.8), until the client sets NOTIFY again.
const maxNotifyMetadata = 1000

// notifyRecordMetadata is called by onChange under pendingMu for a
// metadata change; it reports whether to wake the connection.
func (c *conn) notifyRecordMetadata(ch store.Change) bool {
	n := c.notify
	if n == nil || !n.wantsMetadata() {
		return false
	}
	if o := c.ownMeta; o != nil && o.MailboxID == ch.MailboxID && slices.Equal(o.Metadata, ch.Metadata) {
		c.ownMeta = nil // the session's own SETMETADATA: not reported back
		return false
	}
	queued := len(ch.Metadata)
	for _, m := range c.notifyMeta {
		queued += len(m.Metadata)
	}
	if queued > maxNotifyMetadata {
		c.notifyMeta = []store.Change{{}} // overflow: a change of no names
	} else if len(c.notifyMeta) == 0 || c.notifyMeta[0].Metadata != nil {
		c.notifyMeta = append(c.notifyMeta, ch)
	}
	c.notifyWake.Store(true)
	return true
}

// wantsMetadata reports whether a group asks for a metadata event.
func (n *notifyState) wantsMetadata() bool {
	for _, g := range n.groups {
		if g.events&(evMailboxMetadataChange|evServerMetadataChange) != 0 {
			return true
		}
	}
	return false
}

// markOwnMetadata notes the session's own SETMETADATA of entries of
// mailbox mboxID, whose change the feed reports before the store call
// returns, so that it is not reported back; call done after the call.
func (c *conn) markOwnMetadata(mboxID int64, entries []store.MetadataEntry) (done func()) {
	own := &store.Change{AccountID: c.acct.ID, MailboxID: mboxID}
	for _, e := range entries {
		if !slices.Contains(own.Metadata, e.Name) {
			own.Metadata = append(own.Metadata, e.Name)
		}
	}
	c.pendingMu.Lock()
	c.ownMeta = own
	c.pendingMu.Unlock()
	return func() {
		c.pendingMu.Lock()
		c.ownMeta = nil
		c.pendingMu.Unlock()
	}
}

// notifyPushMetadata sends the METADATA responses (RFC 5464 §4.4.2) of
// the metadata changes waiting: a server entry's with the empty mailbox
// name for ServerMetadataChange, a mailbox's for MailboxMetadataChange
// when its filter matches. After an overflow it ends the notifications.
func (c *conn) notifyPushMetadata(n *notifyState) {
	c.pendingMu.Lock()
	meta := c.notifyMeta
	c.notifyMeta = nil
	c.notifyWake.Store(false)
	c.pendingMu.Unlock()
	for _, ch := range meta {
		if ch.Metadata == nil {
			c.setNotify(&notifyState{}) // as after NOTIFY NONE (§5.8)
			c.untagged().Raw("OK [").Raw(codeNotifyOverflow).Raw("] too many notifications waiting; NOTIFY is off\r\n")
			return
		}
		name := ""
		if ch.MailboxID == 0 {
			if !slices.ContainsFunc(n.groups, func(g notifyGroup) bool { return g.events&evServerMetadataChange != 0 }) {
				continue
			}
		} else {
			var ok bool
			if name, ok = n.names[ch.MailboxID]; !ok || n.matches(name)&evMailboxMetadataChange == 0 {
				continue
			}
			name = c.encodeName(name)
		}
		w := c.untagged().Raw("METADATA ").AString(name)
		for _, e := range ch.Metadata {
			w.SP().AString(e)
		}
		w.CRLF()
	}
}

// notifyFetchNew sends the FETCH responses NOTIFY asked for after
// MessageNew of the selected mailbox (RFC 5465 §5.2) for the messages
// uids that sync just announced with EXISTS.
func (c *conn) notifyFetchNew(uids []uint32) error {
	n := c.notify
	if n == nil || len(n.fetch) == 0 || n.selected&evMessageNew == 0 {
		return nil
	}
	err := c.fetchMessages(&command{name: "FETCH"}, uids, n.fetch, fetchModifiers{})
	var re *respError
	if errors.As(err, &re) && re.code == codeExpungeIssued {
		return nil // expunged meanwhile: the EXPUNGE comes with a later sync
	}
	return err
}

// notifyRecord is called by onChange under pendingMu.
func (c *conn) notifyRecord(mailboxID int64) {
	if c.notify == nil || len(c.notify.groups) == 0 {
		return
	}
	if mailboxID == 0 {
		c.notifyAll = true
		c.notifyWake.Store(true)
		return
	}
	c.notifyWake.Store(true)
	if c.notifyDirty == nil {
		c.notifyDirty = map[int64]bool{}
	}
	if len(c.notifyDirty) >= maxNotifyMailboxes {
		c.notifyAll = true
		return
	}
	c.notifyDirty[mailboxID] = true
}

// notifyRefreshList reads the mailbox list and subscriptions into n and,
// when emit is set, sends the LIST responses of the MailboxName and
// SubscriptionChange events the difference makes.
func (c *conn) notifyRefreshList(n *notifyState, emit func(list, subs bool)) error {
	mbs, err := c.srv.cfg.Store.Mailboxes(c.ctx, c.acct.ID)
	if err != nil {
		return err
	}
	subList, err := c.srv.cfg.Store.Subscriptions(c.ctx, c.acct.ID)
	if err != nil {
		return err
	}
	names := make(map[int64]string, len(mbs))
	for _, mb := range mbs {
		names[mb.ID] = mb.Name
	}
	subs := make(map[string]bool, len(subList))
	for _, s := range subList {
		subs[s] = true
	}
	old, oldSubs := n.names, n.subs
	n.names, n.subs = names, subs
	if emit == nil || old == nil {
		return nil
	}
	list := func(attrs, name string, oldName string) {
		w := c.untagged().Raw("LIST (").Raw(attrs).Raw(") \"/\" ").AString(c.encodeName(name))
		if oldName != "" {
			w.Raw(" (\"OLDNAME\" (").AString(c.encodeName(oldName)).Raw("))")
		}
		w.CRLF()
	}
	for _, id := range sortedIDs(names) {
		name := names[id]
		prev, had := old[id]
		switch {
		case !had && (n.matches(name)&evMailboxName != 0):
			list("", name, "")
		case had && prev != name && (n.matches(name)|n.matches(prev))&evMailboxName != 0:
			list("", name, prev)
		}
	}
	for _, id := range sortedIDs(old) {
		if _, ok := names[id]; !ok {
			delete(n.status, id)
			if n.matches(old[id])&evMailboxName != 0 {
				list(`\NonExistent`, old[id], "")
			}
		}
	}
	var changed []string
	for s := range subs {
		if !oldSubs[s] {
			changed = append(changed, s)
		}
	}
	for s := range oldSubs {
		if !subs[s] {
			changed = append(changed, s)
		}
	}
	slices.Sort(changed)
	for _, s := range changed {
		if n.matches(s)&evSubscriptionChange == 0 {
			continue
		}
		if subs[s] {
			list(`\Subscribed`, s, "")
		} else {
			list("", s, "")
		}
	}
	return nil
}

// notifyPush sends what NOTIFY asked for about the changes the feed
// reported since the last push: LIST responses if the mailbox list or
// subscriptions changed, and a STATUS for every other watched mailbox
// whose status changed in a way the client asked to hear of.
func (c *conn) notifyPush() error {
	c.pendingMu.Lock()
	n, dirty, all, meta := c.notify, c.notifyDirty, c.notifyAll, len(c.notifyMeta) > 0
	c.notifyDirty, c.notifyAll = nil, false
	if !meta {
		c.notifyWake.Store(false)
	}
	c.pendingMu.Unlock()
	if n == nil {
		return nil
	}
	if meta {
		defer c.notifyPushMetadata(n)
	}
	if len(dirty) == 0 && !all {
		return nil
	}
	if all {
		if err := c.notifyRefreshList(n, func(bool, bool) {}); err != nil {
			return err
		}
	}
	var ids []int64
	if all {
		ids = sortedIDs(n.names)
	} else {
		for id := range dirty {
			ids = append(ids, id)
		}
		slices.Sort(ids)
	}
	for _, id := range ids {
		if c.sel != nil && id == c.sel.mbox.ID {
			continue
		}
		name, ok := n.names[id]
		if !ok {
			// A mailbox this session has not heard of yet: the list
			// change that made it comes with its own wake-up.
			continue
		}
		ev := n.matches(name)
		if ev&evMessage == 0 {
			continue
		}
		st, err := c.srv.cfg.Store.MailboxStatus(c.ctx, store.MailboxRef{AccountID: c.acct.ID, MailboxID: id})
		if errors.Is(err, store.ErrNotFound) {
			continue
		} else if err != nil {
			return err
		}
		prev, had := n.status[id]
		news := !had || st.Messages != prev.Messages || st.UIDNext != prev.UIDNext || st.UIDValidity != prev.UIDValidity
		flags := ev&evFlagChange != 0 && (!had || st.Unseen != prev.Unseen || st.HighestModSeq != prev.HighestModSeq)
		if !news && !flags {
			continue
		}
		if had || len(n.status) < maxNotifyMailboxes {
			n.status[id] = st
		}
		c.writeNotifyStatus(id, name, st)
	}
	return nil
}

// writeNotifyStatus writes the STATUS of a watched mailbox (RFC 5465
// §5.2-5.3: MESSAGES, UIDNEXT, UIDVALIDITY, UNSEEN, and HIGHESTMODSEQ
// once CONDSTORE is on).
func (c *conn) writeNotifyStatus(id int64, name string, st store.MailboxStatus) {
	items := []string{"MESSAGES", "UIDNEXT", "UIDVALIDITY", "UNSEEN"}
	if c.condstore {
		items = append(items, "HIGHESTMODSEQ")
	}
	_ = c.writeStatusResp(store.MailboxRef{AccountID: c.acct.ID, MailboxID: id}, name, items, st) // no RECENT item: no store call
}

// notifyWait waits for the next command while NOTIFY is set, pushing
// what it asked for as changes come (RFC 5465 §4: the client needs no
// IDLE). The feed callback interrupts the read as in IDLE (wake). The
// selected mailbox's changes are pushed only with a selected or
// selected-delayed filter, and EXPUNGE only with selected; otherwise
// they wait for the next command's sync, as without NOTIFY.
func (c *conn) notifyWait() error {
	deadline := time.Now().Add(c.timeout())
	defer c.nc.SetReadDeadline(deadline)
	c.getReader()
	for c.notify != nil && c.br.Buffered() == 0 {
		selected := c.sel != nil && c.notify.hasSelected && c.notify.selected&evMessage != 0
		c.setWakeable(true)
		c.nc.SetReadDeadline(deadline)
		if c.notifyWake.Load() || (selected && c.pending.Load() != noChange) {
			c.setWakeable(false)
			if err := c.notifyBetween(selected); err != nil {
				return err
			}
			continue
		}
		_, err := c.br.Peek(1)
		c.setWakeable(false)
		switch {
		case err == nil:
			return nil
		case c.srv.shuttingDown():
			return errShutdown
		case isTimeout(err) && time.Now().Before(deadline):
			c.ioErr = nil // woken by a change
		default:
			return err
		}
	}
	return nil
}

// notifyBetween pushes, between commands, what notifyWait woke for.
func (c *conn) notifyBetween(selected bool) error {
	if selected {
		changed, list := c.takeChange()
		if list {
			if err := c.checkGone(); err != nil {
				return err
			}
		}
		if changed {
			if err := c.syncForce(true, !c.notify.delayed); err != nil {
				return err
			}
			c.reportHighestModSeq(false)
		}
	}
	if err := c.notifyPush(); err != nil {
		return err
	}
	return c.flush()
}

// setWakeable tells onChange whether to interrupt the connection's read
// (as setIdling, without counting an IDLE).
func (c *conn) setWakeable(on bool) {
	c.wakeMu.Lock()
	c.idling = on
	c.wakeMu.Unlock()
}
