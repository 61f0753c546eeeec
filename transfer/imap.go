package transfer

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"

	"github.com/mailroom/mailroom/store"
)

// IMAPSource is the live IMAP account ImportIMAP pulls from.
type IMAPSource struct {
	Addr string // host:port
	// ImplicitTLS: imaps (TLS from the first byte). Otherwise STARTTLS,
	// which is required unless Addr is a loopback address.
	ImplicitTLS bool
	// Insecure skips the check of the server's certificate.
	Insecure       bool
	User, Password string
	// Timeout bounds the dial and each response (0: imapclient's
	// defaults, 30 s).
	Timeout time.Duration
}

// Key names the source account in the import state the store keeps
// (store.ImportFolder.Source): scheme, user, host and port.
func (src IMAPSource) Key() string {
	scheme := "imap"
	if src.ImplicitTLS {
		scheme = "imaps"
	}
	return scheme + "://" + url.PathEscape(src.User) + "@" + src.Addr
}

// ParseIMAPURL parses "imaps://user@host[:port]" (port 993) or
// "imap://user@host[:port]" (port 143, STARTTLS).
func ParseIMAPURL(s string) (IMAPSource, error) {
	u, err := url.Parse(s)
	if err != nil {
		return IMAPSource{}, fmt.Errorf("IMAP URL %q: %w", s, err)
	}
	var src IMAPSource
	port := "143"
	switch strings.ToLower(u.Scheme) {
	case "imaps":
		src.ImplicitTLS, port = true, "993"
	case "imap":
	default:
		return src, fmt.Errorf("IMAP URL %q: want imaps://user@host[:port] or imap://user@host[:port]", s)
	}
	if u.User == nil || u.User.Username() == "" || u.Hostname() == "" {
		return src, fmt.Errorf("IMAP URL %q: want a user and a host (imaps://user@host)", s)
	}
	if _, set := u.User.Password(); set {
		return src, fmt.Errorf("IMAP URL %q: give the password on standard input, not in the URL", s)
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return src, fmt.Errorf("IMAP URL %q: unexpected path or query", s)
	}
	if u.Port() != "" {
		port = u.Port()
	}
	src.User = u.User.Username()
	src.Addr = net.JoinHostPort(u.Hostname(), port)
	return src, nil
}

// imapFetchBatch bounds one UID FETCH of bodies: messages and bytes.
const (
	imapFetchMessages = 100
	imapFetchBytes    = 8 << 20
)

// maxHeaderFieldBytes bounds the Message-ID field the first pass keeps
// of each message.
const maxHeaderFieldBytes = 4096

func dialIMAP(src IMAPSource) (*imapclient.Client, error) {
	host, _, err := net.SplitHostPort(src.Addr)
	if err != nil {
		return nil, err
	}
	opts := &imapclient.Options{
		TLSConfig: &tls.Config{ServerName: host, InsecureSkipVerify: src.Insecure, MinVersion: tls.VersionTLS12},
	}
	if src.Timeout > 0 {
		opts.Dialer = &net.Dialer{Timeout: src.Timeout}
	}
	if src.ImplicitTLS {
		return imapclient.DialTLS(src.Addr, opts)
	}
	c, err := imapclient.DialInsecure(src.Addr, opts)
	if err != nil {
		return nil, err
	}
	if err := c.WaitGreeting(); err != nil {
		c.Close()
		return nil, err
	}
	if c.Caps().Has(imap.CapStartTLS) {
		c.Close()
		return imapclient.DialStartTLS(src.Addr, opts)
	}
	if ip := net.ParseIP(host); (ip == nil || !ip.IsLoopback()) && host != "localhost" {
		c.Close()
		return nil, fmt.Errorf("%s offers no STARTTLS: refusing to send the password in clear (use imaps://)", src.Addr)
	}
	return c, nil
}

func loginIMAP(c *imapclient.Client, src IMAPSource) error {
	if c.Caps().Has(imap.AuthCap(sasl.Plain)) {
		return c.Authenticate(sasl.NewPlainClient("", src.User, src.Password))
	}
	return c.Login(src.User, src.Password).Wait()
}

// specialUseTargets maps the special-use attributes a source folder may
// have (RFC 6154) onto mailroom's default folders.
var specialUseTargets = map[imap.MailboxAttr]string{
	imap.MailboxAttrSent:    "Sent",
	imap.MailboxAttrDrafts:  "Drafts",
	imap.MailboxAttrTrash:   "Trash",
	imap.MailboxAttrJunk:    "Junk",
	imap.MailboxAttrArchive: "Archive",
}

// ImportIMAP pulls every selectable folder of a live IMAP account into
// the account opt.AccountID: flags, keywords and internal dates, and the
// source's UIDs and UIDVALIDITY where the target folder is new or empty
// (see importer.keepUIDs). It is incremental: for each folder it first
// fetches only UID, size, date, flags and Message-ID, and downloads just
// the messages not yet in the target folder, in batches (bounded memory).
// Folders are opened read-only (EXAMINE): the source is not changed, not
// even \Seen.
//
// The store keeps, per source folder, the UIDVALIDITY, HIGHESTMODSEQ and
// last UID seen and which copy each source UID became (store.Imports).
// When the source has CONDSTORE (RFC 7162) and the folder's UIDVALIDITY
// is unchanged, a re-run asks only for the messages above the last UID
// and for the flags changed since the HIGHESTMODSEQ, which it sets on
// the copies (the source's flags win over changes made to a copy). A
// folder whose HIGHESTMODSEQ did not move costs one EXAMINE. Without
// CONDSTORE, or after a UIDVALIDITY change, the folder is compared in
// full and deduplicated as above.
func ImportIMAP(ctx context.Context, st Store, src IMAPSource, opt Options) (Stats, error) {
	// The special-use mapping below adds to the folder map: a copy.
	opt.FolderMap = maps.Clone(opt.FolderMap)
	if opt.FolderMap == nil {
		opt.FolderMap = map[string]string{}
	}
	im := newImporter(st, opt)
	c, err := dialIMAP(src)
	if err != nil {
		return im.stats, fmt.Errorf("connect to %s: %w", src.Addr, err)
	}
	defer c.Close()
	// Closing the connection ends a command waiting on the network
	// when ctx is cancelled.
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	if err := loginIMAP(c, src); err != nil {
		return im.stats, fmt.Errorf("log in to %s as %s: %w", src.Addr, src.User, err)
	}
	condstore := c.Caps().Has(imap.CapCondStore)
	list, err := c.List("", "*", nil).Collect()
	if err != nil {
		return im.stats, fmt.Errorf("LIST: %w", err)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Mailbox < list[j].Mailbox })
	for _, l := range list {
		if err := ctx.Err(); err != nil {
			return im.stats, err
		}
		if hasAttr(l.Attrs, imap.MailboxAttrNoSelect) || hasAttr(l.Attrs, imap.MailboxAttrNonExistent) {
			continue
		}
		name := l.Mailbox
		if l.Delim != 0 && l.Delim != store.Delimiter {
			name = strings.ReplaceAll(name, string(l.Delim), string(store.Delimiter))
		}
		for attr, target := range specialUseTargets {
			if _, mapped := im.opt.FolderMap[name]; !mapped && hasAttr(l.Attrs, attr) {
				im.opt.FolderMap[name] = target
			}
		}
		if err := im.imapFolder(ctx, c, src.Key(), l.Mailbox, name, condstore); err != nil {
			return im.stats, err
		}
	}
	if _, err := im.finish(ctx); err != nil {
		return im.stats, err
	}
	if err := c.Logout().Wait(); err != nil {
		im.log.Debug("IMAP LOGOUT", "err", err)
	}
	return im.stats, nil
}

func hasAttr(attrs []imap.MailboxAttr, a imap.MailboxAttr) bool {
	for _, x := range attrs {
		if strings.EqualFold(string(x), string(a)) {
			return true
		}
	}
	return false
}

// imapMsg is what the first pass learns of a source message.
type imapMsg struct {
	uid   imap.UID
	size  int64
	date  time.Time
	flags []string
}

// imapFolder imports one source folder (mbox as the server names it,
// name as decoded with "/" between levels) of the source named source,
// and records what it saw (store.SaveImportFolder).
func (im *importer) imapFolder(ctx context.Context, c *imapclient.Client, source, mbox, name string, condstore bool) error {
	sel, err := c.Select(mbox, &imap.SelectOptions{ReadOnly: true, CondStore: condstore}).Wait()
	if err != nil {
		var ie *imap.Error
		if errors.As(err, &ie) { // NO or BAD for this folder: skip it
			im.stats.fail(im.log, mbox, fmt.Sprintf("EXAMINE: %v", err))
			return nil
		}
		return fmt.Errorf("EXAMINE %q: %w", mbox, err)
	}
	f, err := im.folder(ctx, name)
	if errors.Is(err, store.ErrInvalid) {
		im.stats.fail(im.log, mbox, fmt.Sprintf("folder %q cannot be created: %v", im.targetName(name), err))
		return nil
	}
	if err != nil {
		return err
	}
	if sel.NumMessages == 0 {
		return nil
	}
	// Only a folder with messages claims the target's UIDVALIDITY: an
	// empty source Sent must not keep "Sent Items" (also mapped to Sent)
	// from keeping its UIDs.
	if _, err := im.keepUIDs(ctx, name, sel.UIDValidity); err != nil {
		return err
	}
	prev, err := im.st.ImportFolder(ctx, im.opt.AccountID, source, mbox)
	known := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("import state of %q: %w", mbox, err)
	}
	// same: the UIDs recorded still name the same messages on both sides.
	same := known && prev.UIDValidity == sel.UIDValidity && prev.MailboxID == f.mbox.ID
	if known && !same {
		im.log.Info("source folder changed UIDVALIDITY (or the target folder was re-created): comparing it in full",
			"folder", mbox, "uidvalidity", sel.UIDValidity, "was", prev.UIDValidity)
	}
	state := store.ImportFolder{Source: source, Folder: mbox, MailboxID: f.mbox.ID, UIDValidity: sel.UIDValidity, HighestModSeq: sel.HighestModSeq}
	im.track, im.pairs = true, nil
	defer func() { im.track, im.pairs = false, nil }()
	from := imap.UID(1)
	// A HIGHESTMODSEQ that went back (the source restored from a backup)
	// cannot say what changed: compared in full.
	incremental := same && condstore && prev.HighestModSeq > 0 && sel.HighestModSeq >= prev.HighestModSeq
	if incremental {
		if sel.HighestModSeq == prev.HighestModSeq { // nothing changed
			im.stats.Skipped += int(sel.NumMessages)
			im.progress()
			return nil
		}
		if err := im.imapFlagChanges(ctx, c, source, mbox, f, prev); err != nil {
			return err
		}
		from, state.LastUID = imap.UID(prev.LastUID)+1, prev.LastUID
	}
	todo, last, seen, err := im.imapScan(ctx, c, mbox, f, from)
	if err != nil {
		return err
	}
	if incremental {
		// The messages not scanned are the ones imported before.
		im.stats.Skipped += max(int(sel.NumMessages)-seen, 0)
		im.progress()
	}
	state.LastUID = max(state.LastUID, last)
	// Second pass: the bodies, in bounded batches.
	maxBytes := im.opt.maxBytes()
	for len(todo) > 0 {
		var set imap.UIDSet
		n, bytes := 0, int64(0)
		for n < len(todo) && n < imapFetchMessages && (n == 0 || bytes+todo[n].size <= imapFetchBytes) {
			set.AddNum(todo[n].uid)
			bytes += todo[n].size
			n++
		}
		batch := todo[:n]
		todo = todo[n:]
		if err := im.imapBodies(ctx, c, mbox, name, set, batch, maxBytes); err != nil {
			return err
		}
	}
	// The state is recorded once the messages are stored: a run that
	// stops halfway leaves the old state, and the next one finds what
	// this one stored by deduplication.
	if err := im.flush(ctx); err != nil {
		return err
	}
	if err := im.st.SaveImportFolder(ctx, im.opt.AccountID, state, !same, im.pairs); err != nil {
		return fmt.Errorf("import state of %q: %w", mbox, err)
	}
	return nil
}

// imapScan is the first pass over the messages of the selected folder
// from UID from on: UID, size, date, flags and Message-ID. It returns the
// messages missing in f, the highest UID seen and how many messages it
// saw; the ones already in f are counted as skipped.
func (im *importer) imapScan(ctx context.Context, c *imapclient.Client, mbox string, f *folder, from imap.UID) (todo []imapMsg, last uint32, seen int, err error) {
	header := &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, HeaderFields: []string{"Message-ID"}, Peek: true}
	cmd := c.Fetch(imap.UIDSet{imap.UIDRange{Start: from, Stop: 0}}, &imap.FetchOptions{
		UID: true, Flags: true, InternalDate: true, RFC822Size: true, BodySection: []*imap.FetchItemBodySection{header},
	})
	maxBytes := im.opt.maxBytes()
	for {
		m := cmd.Next()
		if m == nil {
			break
		}
		var msg imapMsg
		var hdr []byte
		for {
			item := m.Next()
			if item == nil {
				break
			}
			switch it := item.(type) {
			case imapclient.FetchItemDataUID:
				msg.uid = it.UID
			case imapclient.FetchItemDataRFC822Size:
				msg.size = it.Size
			case imapclient.FetchItemDataInternalDate:
				msg.date = it.Time.Truncate(time.Second)
			case imapclient.FetchItemDataFlags:
				msg.flags = imapFlags(it.Flags)
			case imapclient.FetchItemDataBodySection:
				if it.Literal == nil {
					continue
				}
				// A Message-ID field is short: what is beyond the
				// bound is read and dropped, not held.
				b, err := io.ReadAll(io.LimitReader(it.Literal, maxHeaderFieldBytes))
				if err == nil {
					_, err = io.Copy(io.Discard, it.Literal)
				}
				if err != nil {
					cmd.Close()
					return nil, 0, 0, fmt.Errorf("FETCH in %q: %w", mbox, err)
				}
				hdr = b
			}
		}
		// No UID: an unsolicited FETCH (flags changed by another
		// client). Below from: "from:*" also names the last message.
		if msg.uid == 0 || msg.uid < from {
			continue
		}
		seen++
		last = max(last, uint32(msg.uid))
		source := fmt.Sprintf("%s UID %d", mbox, msg.uid)
		if msg.size > maxBytes {
			im.stats.fail(im.log, source, fmt.Sprintf("%d bytes, more than max_message_bytes (%d)", msg.size, maxBytes))
			continue
		}
		if !msg.date.IsZero() {
			if have, dup := f.seen[makeKey(hdr, msg.size, msg.date)]; dup {
				im.skipped(uint32(msg.uid), have)
				continue
			}
		}
		todo = append(todo, msg)
	}
	if err := cmd.Close(); err != nil {
		return nil, 0, 0, fmt.Errorf("FETCH in %q: %w", mbox, err)
	}
	return todo, last, seen, nil
}

// imapFlagChunk bounds how many changed messages imapFlagChanges holds
// before it applies them.
const imapFlagChunk = 1000

// imapFlagChanges sets on the copies in f the flags of the source
// messages (up to prev.LastUID) changed since prev.HighestModSeq (UID
// FETCH ... (FLAGS) (CHANGEDSINCE)).
func (im *importer) imapFlagChanges(ctx context.Context, c *imapclient.Client, source, mbox string, f *folder, prev store.ImportFolder) error {
	if prev.LastUID == 0 {
		return nil
	}
	cmd := c.Fetch(imap.UIDSet{imap.UIDRange{Start: 1, Stop: imap.UID(prev.LastUID)}}, &imap.FetchOptions{
		UID: true, Flags: true, ChangedSince: prev.HighestModSeq,
	})
	changed := map[uint32][]string{}
	apply := func() error {
		if len(changed) == 0 {
			return nil
		}
		src := make([]uint32, 0, len(changed))
		for u := range changed {
			src = append(src, u)
		}
		sort.Slice(src, func(i, j int) bool { return src[i] < src[j] })
		dst, err := im.st.ImportedUIDs(ctx, im.opt.AccountID, source, mbox, src)
		if err != nil {
			return err
		}
		// One UpdateFlags per distinct set of flags.
		groups := map[string][]uint32{}
		for _, u := range src {
			if d, ok := dst[u]; ok {
				k := strings.Join(changed[u], " ")
				groups[k] = append(groups[k], d)
			}
		}
		for k, uids := range groups {
			sort.Slice(uids, func(i, j int) bool { return uids[i] < uids[j] })
			flags := strings.Fields(k)
			done, _, err := im.st.UpdateFlags(ctx, f.mbox.Ref(), uids, store.FlagsReplace, flags, 0)
			if err != nil {
				return fmt.Errorf("flags in %q: %w", f.mbox.Name, err)
			}
			im.stats.FlagsUpdated += len(done)
		}
		clear(changed)
		return nil
	}
	for {
		m := cmd.Next()
		if m == nil {
			break
		}
		var uid imap.UID
		var flags []string
		var hasFlags bool
		for {
			item := m.Next()
			if item == nil {
				break
			}
			switch it := item.(type) {
			case imapclient.FetchItemDataUID:
				uid = it.UID
			case imapclient.FetchItemDataFlags:
				flags, hasFlags = imapFlags(it.Flags), true
			}
		}
		if uid == 0 || uid > imap.UID(prev.LastUID) || !hasFlags {
			continue
		}
		changed[uint32(uid)] = flags
		if len(changed) >= imapFlagChunk {
			if err := apply(); err != nil {
				cmd.Close()
				return err
			}
		}
	}
	if err := cmd.Close(); err != nil {
		return fmt.Errorf("FETCH CHANGEDSINCE in %q: %w", mbox, err)
	}
	return apply()
}

// imapBodies fetches the bodies of batch (whose UIDs are set) and adds
// them in UID order.
func (im *importer) imapBodies(ctx context.Context, c *imapclient.Client, mbox, name string, set imap.UIDSet, batch []imapMsg, maxBytes int64) error {
	body := &imap.FetchItemBodySection{Peek: true}
	cmd := c.Fetch(set, &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{body}})
	got := make(map[imap.UID][]byte, len(batch))
	// The batch was cut by the sizes the server announced; a server
	// that sends more than that is stopped here, so memory stays
	// bounded whatever it sends.
	var held int64
	for {
		m := cmd.Next()
		if m == nil {
			break
		}
		var uid imap.UID
		var raw []byte
		var tooBig bool
		for {
			item := m.Next()
			if item == nil {
				break
			}
			switch it := item.(type) {
			case imapclient.FetchItemDataUID:
				uid = it.UID
			case imapclient.FetchItemDataBodySection:
				if it.Literal == nil {
					continue
				}
				if it.Literal.Size() > maxBytes {
					tooBig = true
					if _, err := io.Copy(io.Discard, it.Literal); err != nil {
						cmd.Close()
						return fmt.Errorf("FETCH in %q: %w", mbox, err)
					}
					continue
				}
				b, err := io.ReadAll(io.LimitReader(it.Literal, maxBytes+1))
				if err != nil {
					cmd.Close()
					return fmt.Errorf("FETCH in %q: %w", mbox, err)
				}
				if _, err := io.Copy(io.Discard, it.Literal); err != nil {
					cmd.Close()
					return fmt.Errorf("FETCH in %q: %w", mbox, err)
				}
				raw, tooBig = b, int64(len(b)) > maxBytes
				if held += int64(len(b)); held > imapFetchBytes+maxBytes {
					cmd.Close()
					return fmt.Errorf("FETCH in %q: the server sent more than the %d bytes it announced for the batch", mbox, imapFetchBytes)
				}
			}
		}
		if uid == 0 {
			continue // an unsolicited FETCH (flags changed by another client)
		}
		if tooBig {
			im.stats.fail(im.log, fmt.Sprintf("%s UID %d", mbox, uid), fmt.Sprintf("more than max_message_bytes (%d)", maxBytes))
			raw = nil
		}
		if raw != nil {
			got[uid] = raw
		}
	}
	if err := cmd.Close(); err != nil {
		return fmt.Errorf("FETCH in %q: %w", mbox, err)
	}
	for _, msg := range batch {
		if err := ctx.Err(); err != nil {
			return err
		}
		raw, ok := got[msg.uid]
		source := fmt.Sprintf("%s UID %d", mbox, msg.uid)
		if !ok {
			im.stats.fail(im.log, source, "the server sent no body (expunged meanwhile?)")
			continue
		}
		delete(got, msg.uid)
		im.stats.InputBytes += int64(len(raw))
		if err := im.addUID(ctx, name, raw, msg.flags, msg.date, source, uint32(msg.uid)); err != nil {
			return err
		}
	}
	return nil
}

// imapFlags maps a source message's flags onto mailroom's: system flags
// in their canonical case, keywords that are valid atoms; \Recent (which
// a client cannot set) is left out.
func imapFlags(fs []imap.Flag) []string {
	var out []string
	for _, f := range fs {
		s := string(f)
		if strings.HasPrefix(s, `\`) {
			for _, sys := range []string{store.FlagSeen, store.FlagAnswered, store.FlagFlagged, store.FlagDeleted, store.FlagDraft} {
				if strings.EqualFold(s, sys) {
					out = append(out, sys)
				}
			}
			continue
		}
		if validKeyword(s) {
			out = append(out, s)
		}
	}
	return sortedFlags(out)
}
