// Package transfer moves mail between a mailroom store and the files other
// mail servers and clients keep: Maildir++ (Dovecot, Courier; also
// Dovecot's LAYOUT=fs) and mbox (mboxrd, mboxo, mboxcl2; a directory of
// .mbox files or a Thunderbird .sbd tree), and pulls a live IMAP account
// (ImportIMAP). It is what `mailroom import` and `mailroom export` run.
// Migrate and Verify copy a whole store between backends (`mailroom
// migrate`).
//
// Where the source has UIDs (dovecot-uidlist, IMAP) and the target folder
// is new or has never held a message, the folder takes the source's
// UIDVALIDITY and every message its UID (store.SetUIDValidity,
// store.AppendUIDs), so clients of the old server need not resync.
//
// Imports write through the store's normal Append path, so quota counters
// and the change feed see the messages as they see an IMAP APPEND. They are
// idempotent and resumable: a message whose Message-ID, size and internal
// date equal those of a message already in the target folder is skipped.
// They stream: one message at a time is read (bounded by MaxMessageBytes)
// and at most one batch (batchMessages, batchBytes) waits for its commit.
// Malformed input is reported in Stats.Failed and skipped; a message is
// either stored whole or not at all.
package transfer

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"path/filepath"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mailroom/mailroom/message"
	"github.com/mailroom/mailroom/store"
)

// Store is what transfer needs of the mail store.
type Store interface {
	Mailboxes(ctx context.Context, accountID int64) ([]store.Mailbox, error)
	MailboxByName(ctx context.Context, accountID int64, name string) (store.Mailbox, error)
	CreateMailbox(ctx context.Context, accountID int64, name, specialUse string) (store.Mailbox, error)
	Append(ctx context.Context, mbox store.MailboxRef, msgs []store.NewMessage) (uint32, []uint32, error)
	AppendUIDs(ctx context.Context, mbox store.MailboxRef, msgs []store.NewMessage, uids []uint32) (uint32, error)
	SetUIDValidity(ctx context.Context, mbox store.MailboxRef, v uint32) (store.Mailbox, error)
	ListHeaders(ctx context.Context, mbox store.MailboxRef, uids []uint32, fn func(store.MessageMeta, []byte) error) error
	ListBodies(ctx context.Context, mbox store.MailboxRef, uids []uint32, fn func(store.MessageMeta, []byte) error) error
	UpdateFlags(ctx context.Context, mbox store.MailboxRef, uids []uint32, op store.FlagOp, flags []string, unchangedSince uint64) ([]store.MessageMeta, []uint32, error)
	ImportFolder(ctx context.Context, accountID int64, source, folder string) (store.ImportFolder, error)
	SaveImportFolder(ctx context.Context, accountID int64, f store.ImportFolder, reset bool, pairs []store.UIDPair) error
	ImportedUIDs(ctx context.Context, accountID int64, source, folder string, srcUIDs []uint32) (map[uint32]uint32, error)
}

var _ Store = (store.Store)(nil)

// Batching of appends: one store transaction (and fsync) per batch instead
// of per message; a batch is flushed before it grows past either bound.
const (
	batchMessages = 200
	batchBytes    = 8 << 20
)

// maxFailures bounds how many failure reasons Stats keeps; every failure
// is logged and counted regardless.
const maxFailures = 1000

// Options configure an import or export.
type Options struct {
	AccountID int64
	// MaxMessageBytes bounds one message (the max_message_bytes setting);
	// a larger one is reported and skipped without being held in memory.
	MaxMessageBytes int64
	Log             *slog.Logger
	Now             func() time.Time // clock; nil = time.Now
	// FolderMap renames source folders (decoded names, levels separated
	// by "/") before they are looked up or created: "Sent Items" → "Sent".
	FolderMap map[string]string
	// DateFromHeader takes a Maildir message's internal date from its
	// Date: header instead of the file's mtime.
	DateFromHeader bool
	// Progress, if set, is called after each message with the totals so
	// far (for a progress bar or periodic log lines).
	Progress func(Stats)
}

// Failure is one piece of input that was skipped, and why.
type Failure struct {
	Source string // file, or file and message number
	Reason string
}

// Stats summarises an import or export.
type Stats struct {
	Folders    int   // folders written to
	Messages   int   // messages stored (import) or written (export)
	Bytes      int64 // their size
	Skipped    int   // already present (same Message-ID, size and date)
	InputBytes int64 // bytes of input consumed (for progress)
	Failed     int   // malformed or refused input, skipped
	// FlagsUpdated counts already imported messages whose flags a re-run
	// of an IMAP import changed to the source's (CONDSTORE).
	FlagsUpdated int
	Failures     []Failure
	// UIDsKept lists the target folders that kept the source's UIDs and
	// UIDVALIDITY (dovecot-uidlist, IMAP); UIDsNew the ones that could
	// not (the target already held messages under another UIDVALIDITY),
	// as "folder: reason".
	UIDsKept []string
	UIDsNew  []string
}

func (s *Stats) fail(log *slog.Logger, source, reason string) {
	s.Failed++
	if len(s.Failures) < maxFailures {
		s.Failures = append(s.Failures, Failure{Source: source, Reason: reason})
	}
	log.Warn("skipped", "source", source, "reason", reason)
}

func (o *Options) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

func (o *Options) log() *slog.Logger {
	if o.Log != nil {
		return o.Log
	}
	return slog.New(slog.DiscardHandler)
}

func (o *Options) maxBytes() int64 {
	if o.MaxMessageBytes > 0 {
		return o.MaxMessageBytes
	}
	return 50 << 20
}

// wellKnown maps the usual names other servers and clients give their
// special-use folders onto mailroom's (store.DefaultMailboxes). FolderMap
// is applied first and wins.
var wellKnown = map[string]string{
	"sent messages":    "Sent",
	"sent items":       "Sent",
	"sent mail":        "Sent",
	"deleted messages": "Trash",
	"deleted items":    "Trash",
	"spam":             "Junk",
	"junk e-mail":      "Junk",
	"archives":         "Archive",
	"inbox":            store.Inbox,
}

// dedupKey identifies a message for idempotent re-runs: a hash of its
// Message-ID, size and internal date (unix seconds), so a folder of a
// million messages costs tens of megabytes, not the Message-IDs.
type dedupKey [16]byte

func makeKey(header []byte, size int64, date time.Time) dedupKey {
	var id string
	if vs := message.HeaderValues(header, "Message-ID"); len(vs) > 0 {
		id = vs[0]
	}
	h := sha256.New()
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(size))
	binary.BigEndian.PutUint64(b[8:], uint64(date.Unix()))
	h.Write(b[:])
	h.Write([]byte(id))
	var k dedupKey
	copy(k[:], h.Sum(nil))
	return k
}

func keyOf(raw []byte, date time.Time) dedupKey {
	return makeKey(raw[:message.BodyStart(raw)], int64(len(raw)), date)
}

type folder struct {
	mbox store.Mailbox
	// seen maps each message of the folder to its UID (0: queued in the
	// batch, not yet stored).
	seen map[dedupKey]uint32
	// keepV is the source UIDVALIDITY whose UIDs this folder keeps (0:
	// the store gives new UIDs). Then every message queued for it gets
	// a UID here: its source UID if not below nextUID, else nextUID.
	keepV   uint32
	nextUID uint32
}

// importer accumulates one import's state.
type importer struct {
	st      Store
	opt     Options
	log     *slog.Logger
	stats   Stats
	folders map[string]*folder
	// badFolders are target names that cannot be created (ErrInvalid),
	// asked of the store once.
	badFolders map[string]error
	cur        *folder
	batch      []store.NewMessage
	batchUIDs  []uint32 // with cur.keepV != 0: the UID of each of batch
	bbytes     int64
	// With track (an IMAP folder), batchSrc holds the source UID of each
	// of batch and pairs collects source UID -> stored UID for
	// store.SaveImportFolder.
	track    bool
	batchSrc []uint32
	pairs    []store.UIDPair
}

func newImporter(st Store, opt Options) *importer {
	return &importer{st: st, opt: opt, log: opt.log(), folders: map[string]*folder{}, badFolders: map[string]error{}}
}

// targetName maps a decoded source folder name onto the target folder.
func (im *importer) targetName(src string) string {
	if t, ok := im.opt.FolderMap[src]; ok {
		return t
	}
	first, rest, nested := strings.Cut(src, "/")
	if t, ok := wellKnown[strings.ToLower(first)]; ok {
		first = t
	}
	if nested {
		return first + "/" + rest
	}
	return first
}

// folder returns the target folder for the source folder name src,
// creating it (and loading what it holds, for deduplication) on first use.
func (im *importer) folder(ctx context.Context, src string) (*folder, error) {
	name := store.CanonicalMailboxName(im.targetName(src))
	if f, ok := im.folders[name]; ok {
		return f, nil
	}
	if err, ok := im.badFolders[name]; ok {
		return nil, err
	}
	if err := checkFolderName(name); err != nil {
		im.badFolders[name] = err
		return nil, err
	}
	m, err := im.st.MailboxByName(ctx, im.opt.AccountID, name)
	if errors.Is(err, store.ErrNotFound) {
		// A default folder the account lost (Sent deleted) comes back
		// with its special use.
		use := ""
		for _, d := range store.DefaultMailboxes {
			if d.Name == name {
				use = d.SpecialUse
			}
		}
		m, err = im.st.CreateMailbox(ctx, im.opt.AccountID, name, use)
		if errors.Is(err, store.ErrExists) { // created meanwhile by a client
			m, err = im.st.MailboxByName(ctx, im.opt.AccountID, name)
		}
	}
	if errors.Is(err, store.ErrInvalid) {
		im.badFolders[name] = err
	}
	if err != nil {
		return nil, err
	}
	f := &folder{mbox: m, seen: map[dedupKey]uint32{}}
	err = im.st.ListHeaders(ctx, m.Ref(), nil, func(meta store.MessageMeta, header []byte) error {
		f.seen[makeKey(header, meta.Size, meta.InternalDate)] = meta.UID
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("folder %q: %w", name, err)
	}
	im.folders[name] = f
	im.stats.Folders++
	return f, nil
}

// keepUIDs decides whether the messages of source folder src, whose
// UIDVALIDITY was v, keep their source UIDs: when the target folder is
// new or empty (never held a message) it takes UIDVALIDITY v; when it
// already has v (an earlier run of this import) it goes on. Otherwise
// the store gives new UIDs, and Stats.UIDsNew says so.
func (im *importer) keepUIDs(ctx context.Context, src string, v uint32) (bool, error) {
	if v == 0 {
		return false, nil
	}
	f, err := im.folder(ctx, src)
	if err != nil {
		return false, err
	}
	if f.keepV == v {
		return true, nil
	}
	name := f.mbox.Name
	if f.keepV != 0 {
		im.stats.UIDsNew = append(im.stats.UIDsNew, fmt.Sprintf("%s (from %s): the folder keeps the UIDs of another source folder", name, src))
		return false, nil
	}
	if err := im.flush(ctx); err != nil {
		return false, err
	}
	m, err := im.st.MailboxByName(ctx, im.opt.AccountID, name)
	if err != nil {
		return false, err
	}
	switch {
	case m.UIDValidity == v:
	case m.UIDNext == 1:
		if m, err = im.st.SetUIDValidity(ctx, m.Ref(), v); errors.Is(err, store.ErrInvalid) {
			im.stats.UIDsNew = append(im.stats.UIDsNew, fmt.Sprintf("%s: %v", name, err))
			return false, nil
		} else if err != nil {
			return false, err
		}
	default:
		im.stats.UIDsNew = append(im.stats.UIDsNew, fmt.Sprintf("%s: it already held messages (UIDVALIDITY %d, not %d)", name, m.UIDValidity, v))
		return false, nil
	}
	f.mbox, f.keepV, f.nextUID = m, v, m.UIDNext
	im.stats.UIDsKept = append(im.stats.UIDsKept, name)
	return true, nil
}

// add queues one whole message for folder src. raw must not be reused by
// the caller. A zero date means: the Date: header, else now.
func (im *importer) add(ctx context.Context, src string, raw []byte, flags []string, date time.Time, source string) error {
	return im.addUID(ctx, src, raw, flags, date, source, 0)
}

// addUID is add with the message's source UID (0: none), which it keeps
// when keepUIDs said so for the folder.
func (im *importer) addUID(ctx context.Context, src string, raw []byte, flags []string, date time.Time, source string, uid uint32) error {
	if reason := malformed(raw); reason != "" {
		im.stats.fail(im.log, source, reason)
		return nil
	}
	if date.IsZero() {
		date = headerDate(raw)
	}
	if date.IsZero() {
		date = im.opt.now()
	}
	date = date.Truncate(time.Second)
	f, err := im.folder(ctx, src)
	if err != nil {
		if errors.Is(err, store.ErrInvalid) {
			im.stats.fail(im.log, source, fmt.Sprintf("folder %q cannot be created: %v", im.targetName(src), err))
			return nil
		}
		return err
	}
	if f != im.cur {
		if err := im.flush(ctx); err != nil {
			return err
		}
		im.cur = f
	}
	k := keyOf(raw, date)
	if have, dup := f.seen[k]; dup {
		im.skipped(uid, have)
		return nil
	}
	f.seen[k] = 0
	srcUID := uid
	if len(im.batch) >= batchMessages || (len(im.batch) > 0 && im.bbytes+int64(len(raw)) > batchBytes) {
		if err := im.flush(ctx); err != nil {
			return err
		}
	}
	if f.keepV != 0 {
		if uid < f.nextUID {
			uid = f.nextUID
		}
		if uid == ^uint32(0) {
			im.stats.fail(im.log, source, "the folder has run out of UIDs")
			return nil
		}
		f.nextUID = uid + 1
		im.batchUIDs = append(im.batchUIDs, uid)
	}
	if im.track {
		im.batchSrc = append(im.batchSrc, srcUID)
	}
	im.batch = append(im.batch, store.NewMessage{Raw: raw, Part: message.Parse(raw), Flags: flags, InternalDate: date})
	im.bbytes += int64(len(raw))
	im.stats.Messages++
	im.stats.Bytes += int64(len(raw))
	im.progress()
	return nil
}

// skipped counts a message already in the target folder (as UID have,
// 0 if not yet stored) and, when tracking, maps its source UID there.
func (im *importer) skipped(srcUID, have uint32) {
	im.stats.Skipped++
	if im.track && srcUID != 0 && have != 0 {
		im.pairs = append(im.pairs, store.UIDPair{Src: srcUID, Dst: have})
	}
	im.progress()
}

func (im *importer) progress() {
	if im.opt.Progress != nil {
		im.opt.Progress(im.stats)
	}
}

// flush appends the queued batch to the current folder in one transaction.
func (im *importer) flush(ctx context.Context) error {
	if len(im.batch) == 0 {
		return nil
	}
	var err error
	uids := im.batchUIDs
	if im.cur.keepV != 0 {
		_, err = im.st.AppendUIDs(ctx, im.cur.mbox.Ref(), im.batch, im.batchUIDs)
	} else {
		_, uids, err = im.st.Append(ctx, im.cur.mbox.Ref(), im.batch)
	}
	if err != nil {
		return fmt.Errorf("append to %q: %w", im.cur.mbox.Name, err)
	}
	if im.track && len(im.batchSrc) == len(uids) {
		for i, src := range im.batchSrc {
			if src != 0 {
				im.pairs = append(im.pairs, store.UIDPair{Src: src, Dst: uids[i]})
			}
		}
	}
	im.batchUIDs = im.batchUIDs[:0]
	im.batchSrc = im.batchSrc[:0]
	clear(im.batch) // let the bodies go
	im.batch = im.batch[:0]
	im.bbytes = 0
	return nil
}

// finish flushes what is queued and returns the totals.
func (im *importer) finish(ctx context.Context) (Stats, error) {
	err := im.flush(ctx)
	return im.stats, err
}

// malformed says why raw is not a message, or "".
func malformed(raw []byte) string {
	if len(raw) == 0 {
		return "empty"
	}
	bs := message.BodyStart(raw)
	if bs == 0 {
		return "not a message: no header fields"
	}
	if !hasField(raw[:bs], messageFields) {
		return "not a message: none of From, To, Date, Subject, Message-ID, Received"
	}
	return ""
}

// messageFields are the fields of which a message has at least one.
var messageFields = [][]byte{[]byte("From"), []byte("To"), []byte("Date"), []byte("Subject"), []byte("Message-ID"), []byte("Received")}

// hasField reports whether header has a field named one of names (case
// aside). It reads only the field names, in one pass without
// allocating: six message.HeaderValues calls, which unfold every value,
// were the importer's largest cost after the store (pprof of
// bench/import-mbox).
func hasField(header []byte, names [][]byte) bool {
	for i := 0; i < len(header); {
		line := header[i:]
		if nl := bytes.IndexByte(line, '\n'); nl >= 0 {
			line, i = line[:nl], i+nl+1
		} else {
			i = len(header)
		}
		if len(line) == 0 || (len(line) == 1 && line[0] == '\r') {
			break // the blank line ending the header
		}
		if line[0] == ' ' || line[0] == '\t' {
			continue // a continuation line
		}
		colon := bytes.IndexByte(line, ':')
		if colon < 0 {
			continue
		}
		name := bytes.TrimRight(line[:colon], " \t")
		for _, n := range names {
			if bytes.EqualFold(name, n) {
				return true
			}
		}
	}
	return false
}

// headerDate is the message's Date: header, or the zero time.
func headerDate(raw []byte) time.Time {
	vs := message.HeaderValues(raw[:message.BodyStart(raw)], "Date")
	if len(vs) == 0 {
		return time.Time{}
	}
	t, err := mail.ParseDate(vs[0])
	if err != nil {
		return time.Time{}
	}
	return t
}

// validKeyword reports whether kw can be stored as an IMAP keyword (an
// atom, RFC 9051 §9 flag-keyword, not a system flag).
func validKeyword(kw string) bool {
	if kw == "" || len(kw) > 100 || kw[0] == '\\' {
		return false
	}
	for i := 0; i < len(kw); i++ {
		c := kw[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`(){%*"\]`, c) >= 0 {
			return false
		}
	}
	return true
}

// sortedFlags returns flags sorted without duplicates.
func sortedFlags(flags []string) []string {
	sort.Strings(flags)
	out := flags[:0]
	for i, f := range flags {
		if i == 0 || f != flags[i-1] {
			out = append(out, f)
		}
	}
	return out
}

// Export helpers --------------------------------------------------------

// exportMailboxes returns the account's mailboxes in name order.
func exportMailboxes(ctx context.Context, st Store, accountID int64) ([]store.Mailbox, error) {
	ms, err := st.Mailboxes(ctx, accountID)
	if err != nil {
		return nil, err
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Name < ms[j].Name })
	return ms, nil
}

// checkLevels refuses a mailbox name that cannot become a path under the
// export directory: a level "", "." or ".." would write outside the
// folder's place (or outside the export directory altogether).
func checkLevels(name string) error {
	for _, l := range strings.Split(name, "/") {
		if l == "" || l == "." || l == ".." || strings.ContainsRune(l, filepath.Separator) || strings.ContainsRune(l, 0) {
			return fmt.Errorf("folder %q: the level %q cannot be a file name", name, l)
		}
	}
	return nil
}

// Bounds on imported folder names: the ones IMAP CREATE enforces (README,
// Security, Limits: 1,024 bytes, 16 levels), so an import creates no
// folder a client could not have created.
const (
	maxFolderName  = 1024
	maxFolderDepth = 16
)

// checkFolderName refuses (as store.ErrInvalid) a target folder name IMAP
// CREATE would refuse: empty levels, control characters, wildcards, too
// long or too deep.
func checkFolderName(name string) error {
	bad := func(why string) error { return fmt.Errorf("%w: %s", store.ErrInvalid, why) }
	if name == "" || strings.HasPrefix(name, "/") || strings.HasSuffix(name, "/") || strings.Contains(name, "//") || !utf8.ValidString(name) {
		return bad("empty level or invalid UTF-8")
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return bad("control characters")
		}
	}
	if strings.ContainsAny(name, "*%") {
		return bad("wildcards")
	}
	if len(name) > maxFolderName {
		return bad(fmt.Sprintf("longer than %d bytes", maxFolderName))
	}
	if strings.Count(name, "/")+1 > maxFolderDepth {
		return bad(fmt.Sprintf("deeper than %d levels", maxFolderDepth))
	}
	return nil
}
