package imapserver

import (
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/mailroom/mailroom/imapserver/imapmsg"
	"github.com/mailroom/mailroom/message"
	"github.com/mailroom/mailroom/store"
)

type searchReturn struct {
	min, max, count, all, save bool
	partial                    *partialRange // PARTIAL (RFC 9394)
	given                      bool          // RETURN was present: answer ESEARCH
	update                     bool          // UPDATE (RFC 5267 §4.3, searchcontext.go)
}

// none reports that no result option was asked for.
func (r *searchReturn) none() bool {
	return !r.min && !r.max && !r.count && !r.all && r.partial == nil
}

// cmdSearch: SEARCH and UID SEARCH (RFC 9051 §6.4.4, ESEARCH RFC 4731,
// SEARCHRES RFC 5182, MODSEQ RFC 7162 §3.1.5).
func cmdSearch(c *conn, cmd *command) error {
	if err := c.dec.SP(); err != nil {
		return err
	}
	var ret searchReturn
	var key imapmsg.Key
	err := func() error {
		first, err := c.searchPrefix(&ret)
		if err != nil {
			return err
		}
		key, err = c.searchKeys(first)
		if err != nil {
			return err
		}
		return c.endArgs()
	}()
	if err == nil {
		err = c.checkContextTag(cmd, &ret)
	}
	if err != nil {
		if ret.save {
			c.sel.saved = nil
		}
		return err
	}
	v := c.sel
	var matched, seqs []uint32
	var highest, firstModSeq, lastModSeq uint64
	err = c.searchMatching(key, readForKey, func(m *searchMsg) error {
		if len(matched) == 0 {
			firstModSeq = m.meta.ModSeq
		}
		lastModSeq = m.meta.ModSeq
		matched = append(matched, m.meta.UID)
		if !cmd.uid {
			seqs = append(seqs, m.seq)
		}
		highest = max(highest, m.meta.ModSeq)
		return nil
	})
	if err != nil {
		return err
	}
	if !ret.all && !ret.count && (ret.min || ret.max) {
		// RFC 7162 §3.1.5: with MIN or MAX alone, the MODSEQ of that one
		// message; with both, the higher of those two.
		highest = 0
		if ret.min {
			highest = firstModSeq
		}
		if ret.max {
			highest = max(highest, lastModSeq)
		}
	}
	if !imapmsg.UsesModSeq(key) {
		highest = 0
	}
	if ret.save {
		saved := matched
		switch {
		case ret.partial != nil && !ret.all && !ret.count && !ret.min && !ret.max:
			saved = ret.partial.slice(matched)
		case len(matched) > 0 && (ret.min || ret.max) && !ret.all && !ret.count:
			saved = nil
			if ret.min {
				saved = append(saved, matched[0])
			}
			if ret.max && (!ret.min || len(matched) > 1) {
				saved = append(saved, matched[len(matched)-1])
			}
		}
		v.saved = slices.Clone(saved)
	}
	nums := matched
	if !cmd.uid {
		nums = seqs
	}
	if !ret.given && !c.rev2 {
		c.untagged().Raw("SEARCH")
		for _, n := range nums {
			c.enc.SP().Number(n)
		}
		if highest > 0 && len(nums) > 0 {
			c.enc.Raw(" (MODSEQ ").Number64(highest).Raw(")")
		}
		c.enc.CRLF()
		return nil
	}
	if ret.update {
		c.startContext(cmd, key, nil, matched, nil)
	}
	if ret.save && ret.none() && !ret.update {
		return nil // SAVE alone: no ESEARCH (RFC 5182 §2.4)
	}
	if ret.none() && !ret.update {
		ret.all = true // RETURN () is RETURN (ALL); UPDATE alone has no result data, as Dovecot answers
	}
	c.writeESearch(cmd, &ret, nums, false, highest)
	return nil
}

// searchPrefix reads "[RETURN (opts) SP] [CHARSET charset SP]". Having
// to read a word to know, it returns a word that turned out to be the
// first search key's name.
func (c *conn) searchPrefix(ret *searchReturn) (string, error) {
	for {
		b, err := c.dec.Peek()
		if err != nil {
			return "", err
		}
		if !(b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z') {
			return "", nil
		}
		word, err := c.dec.Atom()
		if err != nil {
			return "", err
		}
		switch w := strings.ToUpper(word); {
		case w == "RETURN" && !ret.given:
			if err := c.dec.SP(); err != nil {
				return "", err
			}
			ret.given = true
			if err := c.searchReturnOpts(ret); err != nil {
				return "", err
			}
		case w == "CHARSET":
			if err := c.dec.SP(); err != nil {
				return "", err
			}
			cs, err := c.dec.AString()
			if err != nil {
				return "", err
			}
			if err := checkCharset(cs); err != nil {
				return "", err
			}
		default:
			return word, nil
		}
		if err := c.dec.SP(); err != nil {
			return "", err
		}
	}
}

func (c *conn) searchReturnOpts(ret *searchReturn) error {
	err := c.dec.List(func() error {
		a, err := c.dec.Atom()
		switch strings.ToUpper(a) {
		case "MIN":
			ret.min = true
		case "MAX":
			ret.max = true
		case "COUNT":
			ret.count = true
		case "ALL":
			ret.all = true
		case "SAVE":
			ret.save = true
		case "CONTEXT":
			// RFC 5267 §4.2: a hint that the search will be used again;
			// every search reads the shared index anyway.
		case "UPDATE":
			if ret.update {
				return badf("", "UPDATE given twice")
			}
			ret.update = true
		case "PARTIAL":
			if err != nil {
				return err
			}
			if err := c.dec.SP(); err != nil {
				return err
			}
			r, err := c.dec.Atom()
			if err != nil {
				return err
			}
			p, ok := parsePartialRange(r)
			if !ok || ret.partial != nil {
				return badf("", "invalid PARTIAL range")
			}
			ret.partial = &p
		default:
			if err == nil {
				err = badf("", "unknown search return option")
			}
		}
		return err
	})
	if err == nil && ret.all && ret.partial != nil {
		// RFC 9394 §3.1: PARTIAL is ALL's paged form, not both.
		err = badf("", "ALL and PARTIAL cannot be combined")
	}
	return err
}

// searchMsg is a message as imapmsg.Match sees it.
type searchMsg struct {
	msgData
	seq   uint32
	saved time.Time // SAVEDATE, when the key asks for it (savedate.go)
}

func (m *searchMsg) SeqNum() uint32           { return m.seq }
func (m *searchMsg) Meta() *store.MessageMeta { return m.meta }

// What searchMatching reads of each message besides what the key needs.
type readNeed int

const (
	readForKey    readNeed = iota // only what the key needs (SEARCH)
	readTopHeader                 // the top-level header (THREAD)
	readEnvelope                  // the root Envelope (SORT): from the tree stored at delivery, unless the key reads the header anyway
)

// searchMatching calls fn for each message of the selected mailbox that
// matches key, in mailbox order. Metadata comes from the mailbox index;
// bytes, when a key needs them, in size-bounded batches (bodies.go); with
// readTopHeader (THREAD), at least the header, read alone when the key
// needs no more; with readEnvelope (SORT), the trees stored at delivery,
// whose root holds the Envelope, when the key needs no bytes (the header
// is parsed only if the key reads it anyway). Messages expunged by
// another session meanwhile don't match. fn must not keep the *searchMsg
// past its return: the next message reuses it.
func (c *conn) searchMatching(key imapmsg.Key, need readNeed, fn func(*searchMsg) error) error {
	v := c.sel
	if !imapmsg.NeedsBody(key) {
		return c.searchMatchingIn(key, need, v.uids, fn)
	}
	exact, cands, rest, err := c.textHits(key)
	if err != nil {
		return err
	}
	// In UID order, runs of exact hits (matched with rest, reading only
	// what rest needs) and of candidates (matched with key).
	for len(exact) > 0 || len(cands) > 0 {
		k, run, other := rest, &exact, cands
		if len(exact) == 0 || len(cands) > 0 && cands[0] < exact[0] {
			k, run, other = key, &cands, exact
		}
		n := len(*run)
		if len(other) > 0 {
			n, _ = slices.BinarySearch(*run, other[0])
		}
		if err := c.searchMatchingIn(k, need, (*run)[:n], fn); err != nil {
			return err
		}
		*run = (*run)[n:]
	}
	return nil
}

// searchMatchingIn is searchMatching over uids (ascending, in the view)
// only.
func (c *conn) searchMatchingIn(key imapmsg.Key, need readNeed, uids []uint32, fn func(*searchMsg) error) error {
	v := c.sel
	env := imapmsg.MatchEnv{MaxSeq: uint32(len(v.uids)), MaxUID: v.maxUID(), Saved: imapmsg.NumSetFromNums(v.saved), Location: time.Local, Now: c.srv.cfg.Now()}
	if v.recent != nil {
		env.Recent = v.isRecent
	}
	matcher := imapmsg.NewMatcher(key, env)
	idx, err := c.index()
	if err != nil {
		return err
	}
	needsBytes := imapmsg.NeedsBody(key)
	var saved map[uint32]time.Time
	treesOnly := need == readEnvelope && !needsBytes && !imapmsg.NeedsHeader(key)
	headersOnly := (need != readForKey || imapmsg.NeedsHeader(key)) && !needsBytes && !treesOnly
	mb, metas := c.getMetas(min(len(uids), chunk))
	defer c.putMetas(mb)
	// One searchMsg for all messages (fn must not keep it): not one
	// allocation per message of the mailbox.
	var m searchMsg
	walk := seqWalker{uids: v.uids}
	seq := walk.seq
	if !needsBytes && !headersOnly && !treesOnly && !imapmsg.NeedsSaveDate(key) {
		return c.searchMetadata(idx, matcher, uids, metas, fn)
	}
	for start := 0; start < len(uids); start += chunk {
		batch := uids[start:min(start+chunk, len(uids))]
		metas = idx.Lookup(metas[:0], batch)
		if imapmsg.NeedsSaveDate(key) {
			if saved, err = c.srv.cfg.Store.SaveDates(c.ctx, v.mbox.Ref(), batch); err != nil {
				return err
			}
		}
		for rest := metas; len(rest) > 0; {
			n, raws, parts := len(rest), [][]byte(nil), []*message.Part(nil)
			switch {
			case needsBytes:
				// BODY and TEXT decode the text parts: the trees
				// stored at delivery say where they are.
				if n, raws, err = c.bodyBatch(v.mbox.Ref(), rest); err == nil && raws != nil {
					parts, err = c.partsFor(v.mbox.Ref(), rest[:n])
				}
			case headersOnly:
				n, raws, err = c.headerBatch(v.mbox.Ref(), rest)
			case treesOnly:
				n, parts, err = c.partBatch(v.mbox.Ref(), rest)
			}
			if err != nil {
				return err
			}
			for i := range n {
				var raw []byte
				if raws != nil {
					if raw = raws[i]; raw == nil {
						continue // expunged meanwhile
					}
				}
				var part *message.Part
				if parts != nil {
					if part = parts[i]; part == nil && treesOnly {
						continue // expunged meanwhile
					}
				}
				if raws == nil && parts == nil && m.c == c && !m.haveRaw && !m.haveHdr && m.part == nil && m.top == nil {
					// Metadata alone (SAVEDATE), and nothing loaded into
					// m for the previous message: set what differs
					// rather than rewrite all of m.
					m.meta, m.seq, m.saved = &rest[i], seq(rest[i].UID), saved[rest[i].UID]
				} else {
					d := c.withBytes(&rest[i], raw, part)
					if headersOnly {
						d = c.withHeader(&rest[i], raw, nil)
					}
					m = searchMsg{msgData: d, seq: seq(rest[i].UID), saved: saved[rest[i].UID]}
				}
				ok, err := matcher.Match(&m)
				if err == nil && ok {
					err = fn(&m)
				}
				if err != nil && !errors.Is(err, store.ErrNotFound) {
					return err
				}
			}
			rest = rest[n:]
		}
	}
	return nil
}

// searchMetadata is searchMatchingIn for a key that reads only what the
// mailbox index holds (flags, sizes, dates, numbers): each chunk is
// matched in place in the index, under its lock (mboxindex.Index.Each,
// one state of the messages however other sessions change them), and
// only the messages that match are copied out, into metas; fn runs on
// them after the lock is let go. SEARCH UNSEEN copied all 500 messages
// out first, a tenth of its CPU.
func (c *conn) searchMetadata(idx mailboxIndex, matcher *imapmsg.Matcher, uids []uint32, metas []store.MessageMeta, fn func(*searchMsg) error) error {
	mm := &metaMatch{m: searchMsg{msgData: msgData{c: c}}, matcher: matcher, seqs: seqWalker{uids: c.sel.uids}}
	visit := mm.visit
	out := seqWalker{uids: c.sel.uids}
	for start := 0; start < len(uids); start += chunk {
		mm.out = metas[:0]
		idx.Each(uids[start:min(start+chunk, len(uids))], visit)
		if mm.err != nil {
			return mm.err
		}
		metas = mm.out
		for i := range metas {
			mm.m.meta, mm.m.seq = &metas[i], out.seq(metas[i].UID)
			if err := fn(&mm.m); err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
		}
	}
	return nil
}

// metaMatch is searchMetadata's walk of a chunk in the index: the
// matches go to out, the first error to err. One value per search, so
// that the walk allocates nothing per chunk.
type metaMatch struct {
	m       searchMsg
	matcher *imapmsg.Matcher
	seqs    seqWalker
	out     []store.MessageMeta
	err     error
}

func (mm *metaMatch) visit(meta *store.MessageMeta) {
	if mm.err != nil {
		return
	}
	mm.m.meta, mm.m.seq = meta, mm.seqs.seq(meta.UID)
	ok, err := mm.matcher.Match(&mm.m)
	switch {
	case err != nil && !errors.Is(err, store.ErrNotFound):
		mm.err = err
	case err == nil && ok:
		mm.out = append(mm.out, *meta)
	}
}

// textHits asks the store's full-text index for a TEXT or BODY key every
// match of key must satisfy (the longest needle, as the most selective).
// It returns the session's UIDs the index names as matching that key
// (exact) and as maybe matching it (cands), and rest: key with that TEXT
// or BODY key taken out, all an exact hit must still match. Without such
// a key, or when the index cannot look it up, every UID is a candidate.
// Results are thus those of reading every message.
func (c *conn) textHits(key imapmsg.Key) (exact, cands []uint32, rest imapmsg.Key, err error) {
	v := c.sel
	q, ok := indexQuery(key)
	if !ok {
		return nil, v.uids, key, nil
	}
	hits, ok, err := c.srv.cfg.Store.SearchText(c.ctx, v.mbox.Ref(), q)
	if err != nil || !ok {
		return nil, v.uids, key, err
	}
	return inView(v.uids, hits.Exact), inView(v.uids, hits.Candidates), withoutText(key, q), nil
}

// inView returns the UIDs of uids (ascending) also in view (ascending).
func inView(view, uids []uint32) []uint32 {
	out := make([]uint32, 0, min(len(uids), len(view)))
	i := 0
	for _, u := range view {
		for i < len(uids) && uids[i] < u {
			i++
		}
		if i == len(uids) {
			break
		}
		if uids[i] == u {
			out = append(out, u)
		}
	}
	return out
}

// indexQuery finds the TEXT or BODY key with the longest needle among k
// and, through ANDs, its conjuncts: a message can match k only if it
// matches that key.
func indexQuery(k imapmsg.Key) (store.TextQuery, bool) {
	switch k.Op {
	case imapmsg.KeyText, imapmsg.KeyBody:
		return textQuery(k), true
	case imapmsg.KeyAnd:
		var best store.TextQuery
		found := false
		for _, ch := range k.Children {
			if q, ok := indexQuery(ch); ok && (!found || len(q.Needle) > len(best.Needle)) {
				best, found = q, true
			}
		}
		return best, found
	}
	return store.TextQuery{}, false
}

func textQuery(k imapmsg.Key) store.TextQuery {
	return store.TextQuery{Needle: k.Value, BodyOnly: k.Op == imapmsg.KeyBody}
}

// withoutText returns k with the TEXT or BODY keys that ask q, and that
// k's matches must satisfy (indexQuery's), made ALL: what a message known
// to match q must still match. k is left as it is.
func withoutText(k imapmsg.Key, q store.TextQuery) imapmsg.Key {
	switch k.Op {
	case imapmsg.KeyText, imapmsg.KeyBody:
		if textQuery(k) == q {
			return imapmsg.Key{Op: imapmsg.KeyAll}
		}
	case imapmsg.KeyAnd:
		and := k
		and.Children = make([]imapmsg.Key, len(k.Children))
		for i, ch := range k.Children {
			and.Children[i] = withoutText(ch, q)
		}
		return and
	}
	return k
}

// checkCharset accepts the charsets search strings may be given in.
func checkCharset(cs string) error {
	if !strings.EqualFold(cs, "UTF-8") && !strings.EqualFold(cs, "US-ASCII") {
		return nof(codeBadCharset+" (UTF-8 US-ASCII)", "unsupported charset")
	}
	return nil
}

// charsetCriteria reads " charset criteria" to the end of the command, as
// SORT and THREAD take them (RFC 5256 §3: the charset is required).
func (c *conn) charsetCriteria() (string, imapmsg.Key, error) {
	if err := c.dec.SP(); err != nil {
		return "", imapmsg.Key{}, err
	}
	charset, err := c.dec.AString()
	if err != nil {
		return "", imapmsg.Key{}, err
	}
	if err := c.dec.SP(); err != nil {
		return "", imapmsg.Key{}, err
	}
	key, err := c.searchKeys("")
	if err == nil {
		err = c.endArgs()
	}
	return charset, key, err
}
