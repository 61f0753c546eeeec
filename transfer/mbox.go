package transfer

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/mailroom/mailroom/message"
	"github.com/mailroom/mailroom/store"
)

// MboxFormat is how an mbox file quotes "From " lines in bodies.
type MboxFormat int

const (
	// MboxRD: every line matching ^>*From  got one more ">" when written
	// and loses one when read (the default; also reads mboxo files whose
	// bodies never started a line with ">From ").
	MboxRD MboxFormat = iota
	// MboxO: only ^From  was quoted (to ">From "); reading removes the ">"
	// of ">From " lines only.
	MboxO
	// MboxCL2: a Content-Length: header gives the body's length and
	// nothing is quoted.
	MboxCL2
)

// ParseMboxFormat parses the --mbox-format flag.
func ParseMboxFormat(s string) (MboxFormat, error) {
	switch strings.ToLower(s) {
	case "", "mboxrd", "rd":
		return MboxRD, nil
	case "mboxo", "o":
		return MboxO, nil
	case "mboxcl2", "cl2":
		return MboxCL2, nil
	}
	return 0, fmt.Errorf("unknown mbox format %q (want mboxrd, mboxo or mboxcl2)", s)
}

// errNotMbox: the file does not start with a "From " line.
var errNotMbox = errors.New("not an mbox file: it does not start with a \"From \" line")

// mboxMessage is one message read from an mbox.
type mboxMessage struct {
	raw      []byte // unquoted, separator line removed; nil if skipped
	from     string // the "From " line, without line ending
	skip     string // why the message cannot be imported, or ""
	consumed int64  // input bytes of this message
}

// mboxReader reads messages from an mbox one at a time, holding at most
// one message (bounded by max) in memory.
type mboxReader struct {
	r      *bufio.Reader
	format MboxFormat
	max    int64
	next   string // the "From " line that starts the next message
	line   []byte // scratch for one line
	eof    bool
	tooBig bool
}

func newMboxReader(r io.Reader, format MboxFormat, max int64) *mboxReader {
	return &mboxReader{r: bufio.NewReaderSize(r, 64<<10), format: format, max: max}
}

// readLine returns the next line with its ending; the slice is valid until
// the next call. Lines longer than the message bound are cut into pieces
// (only the first piece can be a "From " line). io.EOF at the end.
func (m *mboxReader) readLine() ([]byte, error) {
	m.line = m.line[:0]
	for {
		chunk, err := m.r.ReadSlice('\n')
		m.line = append(m.line, chunk...)
		if err == bufio.ErrBufferFull {
			if int64(len(m.line)) > m.max {
				return m.line, nil
			}
			continue
		}
		if err == io.EOF && len(m.line) > 0 {
			return m.line, nil
		}
		return m.line, err
	}
}

func isFromLine(l []byte) bool { return bytes.HasPrefix(l, []byte("From ")) }

func trimEOL(l []byte) []byte {
	l = bytes.TrimSuffix(l, []byte("\n"))
	return bytes.TrimSuffix(l, []byte("\r"))
}

// start reads the first "From " line.
func (m *mboxReader) start() error {
	for {
		l, err := m.readLine()
		if err == io.EOF {
			m.eof = true
			return nil // empty file: no messages
		}
		if err != nil {
			return err
		}
		if len(bytes.TrimSpace(l)) == 0 {
			continue // leading blank lines
		}
		if !isFromLine(l) {
			return errNotMbox
		}
		m.next = string(trimEOL(l))
		return nil
	}
}

// Next returns the next message, or io.EOF.
func (m *mboxReader) Next() (mboxMessage, error) {
	if m.eof {
		return mboxMessage{}, io.EOF
	}
	msg := mboxMessage{from: m.next, consumed: int64(len(m.next)) + 1}
	var buf []byte
	over := false
	add := func(l []byte) {
		if over {
			return
		}
		if int64(len(buf)+len(l)) > m.max {
			over, buf = true, nil
			return
		}
		buf = append(buf, l...)
	}
	var contentLength int64 = -1
	inHeader := true
	endedWithEOL := true
	for {
		l, err := m.readLine()
		if err == io.EOF {
			m.eof = true
			break
		}
		if err != nil {
			return msg, err
		}
		msg.consumed += int64(len(l))
		endedWithEOL = l[len(l)-1] == '\n'
		if isFromLine(l) {
			m.next = string(trimEOL(l))
			break
		}
		if inHeader {
			t := trimEOL(l)
			if len(t) == 0 {
				inHeader = false
				add(l)
				if m.format == MboxCL2 && contentLength >= 0 {
					if err := m.readBody(contentLength, &msg, add); err != nil {
						return msg, err
					}
				}
				continue
			}
			if m.format == MboxCL2 {
				if v, ok := cutHeader(t, "Content-Length"); ok {
					if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil && n >= 0 {
						contentLength = n
					}
				}
			}
			add(unquote(l, m.format))
			continue
		}
		add(unquote(l, m.format))
	}
	switch {
	case msg.skip != "":
	case over:
		msg.skip = fmt.Sprintf("more than max_message_bytes (%d)", m.max)
	case m.eof && !endedWithEOL:
		msg.skip = "truncated: the file ends inside a line"
	case inHeader && len(buf) > 0:
		msg.skip = "truncated or malformed: no blank line ends the header"
	default:
		// The blank line written before the next "From " line (or the end
		// of the file) separates messages; it is not part of one.
		if bytes.HasSuffix(buf, []byte("\r\n\r\n")) {
			buf = buf[:len(buf)-2]
		} else if bytes.HasSuffix(buf, []byte("\n\n")) {
			buf = buf[:len(buf)-1]
		}
		msg.raw = buf
	}
	return msg, nil
}

// readBody reads exactly n body bytes (mboxcl2), then expects a blank line
// or the next "From " line.
func (m *mboxReader) readBody(n int64, msg *mboxMessage, add func([]byte)) error {
	chunk := make([]byte, 32<<10)
	for n > 0 {
		k := min(n, int64(len(chunk)))
		got, err := io.ReadFull(m.r, chunk[:k])
		msg.consumed += int64(got)
		add(chunk[:got])
		n -= int64(got)
		if err != nil {
			msg.skip = "truncated: the file ends before Content-Length bytes"
			m.eof = true
			return nil
		}
	}
	return nil
}

// unquote removes one ">" from a quoted "From " line.
func unquote(l []byte, f MboxFormat) []byte {
	switch f {
	case MboxRD:
		i := 0
		for i < len(l) && l[i] == '>' {
			i++
		}
		if i > 0 && bytes.HasPrefix(l[i:], []byte("From ")) {
			return l[1:]
		}
	case MboxO:
		if bytes.HasPrefix(l, []byte(">From ")) {
			return l[1:]
		}
	}
	return l
}

func cutHeader(line []byte, name string) (string, bool) {
	if len(line) <= len(name) || line[len(name)] != ':' || !strings.EqualFold(string(line[:len(name)]), name) {
		return "", false
	}
	return string(line[len(name)+1:]), true
}

// mboxStateHeaders are the fields mbox writers (Dovecot, mutt, Thunderbird)
// add to keep a message's state; they become flags and are removed, so the
// stored message is the one that was delivered.
var mboxStateHeaders = []string{"Status", "X-Status", "X-Keywords", "X-UID", "X-IMAP", "X-IMAPbase", "Content-Length", "X-Mozilla-Status", "X-Mozilla-Status2", "X-Mozilla-Keys"}

// Thunderbird's X-Mozilla-Status bits (nsMsgMessageFlags).
const (
	mozRead      = 0x0001
	mozReplied   = 0x0002
	mozMarked    = 0x0004
	mozExpunged  = 0x0008
	mozForwarded = 0x1000
)

// mboxFlags takes the state headers out of raw's header and returns the
// message without them, its flags, and whether Thunderbird marked it
// expunged (deleted but not yet compacted away).
func mboxFlags(raw []byte) (out []byte, flags []string, expunged bool) {
	bs := message.BodyStart(raw)
	h := raw[:bs]
	var keep []byte
	found := false
	for i := 0; i < len(h); {
		// One field: its first line and continuation lines.
		j := i
		for {
			k := bytes.IndexByte(h[j:], '\n')
			if k < 0 {
				j = len(h)
				break
			}
			j += k + 1
			if j >= len(h) || (h[j] != ' ' && h[j] != '\t') {
				break
			}
		}
		field := h[i:j]
		name, value, ok := bytes.Cut(field, []byte(":"))
		drop := false
		if ok && !bytes.ContainsAny(name, " \t\r\n") {
			for _, n := range mboxStateHeaders {
				if strings.EqualFold(string(name), n) {
					drop = true
					v := strings.TrimSpace(strings.NewReplacer("\r", "", "\n", "").Replace(string(value)))
					flags = append(flags, stateFlags(n, v, &expunged)...)
				}
			}
		}
		if drop {
			found = true
		} else {
			keep = append(keep, field...)
		}
		i = j
	}
	if !found {
		return raw, sortedFlags(flags), expunged
	}
	out = make([]byte, 0, len(keep)+len(raw)-bs)
	out = append(append(out, keep...), raw[bs:]...)
	return out, sortedFlags(flags), expunged
}

func stateFlags(name, v string, expunged *bool) []string {
	var flags []string
	switch strings.ToLower(name) {
	case "status":
		if strings.ContainsRune(v, 'R') {
			flags = append(flags, store.FlagSeen)
		}
	case "x-status":
		for _, c := range v {
			switch c {
			case 'A':
				flags = append(flags, store.FlagAnswered)
			case 'F':
				flags = append(flags, store.FlagFlagged)
			case 'T':
				flags = append(flags, store.FlagDraft)
			case 'D':
				flags = append(flags, store.FlagDeleted)
			}
		}
	case "x-keywords", "x-mozilla-keys":
		for _, kw := range strings.FieldsFunc(v, func(r rune) bool { return r == ' ' || r == ',' || r == '\t' }) {
			if validKeyword(kw) {
				flags = append(flags, kw)
			}
		}
	case "x-mozilla-status":
		n, err := strconv.ParseUint(v, 16, 32)
		if err != nil {
			break
		}
		if n&mozRead != 0 {
			flags = append(flags, store.FlagSeen)
		}
		if n&mozReplied != 0 {
			flags = append(flags, store.FlagAnswered)
		}
		if n&mozMarked != 0 {
			flags = append(flags, store.FlagFlagged)
		}
		if n&mozForwarded != 0 {
			flags = append(flags, "$Forwarded")
		}
		if n&mozExpunged != 0 {
			*expunged = true
		}
	}
	return flags
}

// fromLineDate is the date of a "From sender date" line (asctime, as
// written by mbox writers), or the zero time.
func fromLineDate(line string) time.Time {
	f := strings.Fields(line)
	if len(f) < 3 {
		return time.Time{}
	}
	s := strings.Join(f[2:], " ")
	for _, layout := range []string{time.ANSIC, "Mon Jan _2 15:04:05 2006 -0700", "Mon Jan _2 15:04:05 MST 2006", time.UnixDate} {
		if t, err := time.Parse(layout, s); err == nil {
			return t
		}
	}
	return time.Time{}
}

// importMboxStream imports the messages of one mbox into folder.
func (im *importer) importMboxStream(ctx context.Context, r io.Reader, name, folder string, format MboxFormat) error {
	mr := newMboxReader(r, format, im.opt.maxBytes())
	if err := mr.start(); err != nil {
		if errors.Is(err, errNotMbox) {
			im.stats.fail(im.log, name, err.Error())
			return nil
		}
		return err
	}
	if mr.eof { // an empty mbox is an empty folder
		if _, err := im.folder(ctx, folder); err != nil && !errors.Is(err, store.ErrInvalid) {
			return err
		}
		return nil
	}
	for n := 1; ; n++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		msg, err := mr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		im.stats.InputBytes += msg.consumed
		source := fmt.Sprintf("%s message %d", name, n)
		if msg.skip != "" {
			im.stats.fail(im.log, source, msg.skip)
			im.progress()
			continue
		}
		raw, flags, expunged := mboxFlags(msg.raw)
		if expunged {
			im.stats.Skipped++
			continue
		}
		if err := im.add(ctx, folder, raw, flags, fromLineDate(msg.from), source); err != nil {
			return err
		}
	}
}

// ImportMbox imports an mbox file into folder (INBOX if ""), or a
// directory: every mbox file in it becomes a folder named by its path
// ("Lists/go.mbox" → "Lists/go"; Thunderbird's "Lists.sbd/go" → "Lists/go";
// "Inbox" → INBOX). Thunderbird's index files (.msf) are ignored.
func ImportMbox(ctx context.Context, st Store, path, folder string, format MboxFormat, opt Options) (Stats, error) {
	im := newImporter(st, opt)
	fi, err := os.Stat(path)
	if err != nil {
		return im.stats, err
	}
	if !fi.IsDir() {
		if folder == "" {
			folder = store.Inbox
		}
		if err := im.importMboxFile(ctx, path, folder, format); err != nil {
			return im.stats, err
		}
		return im.finish(ctx)
	}
	var files []string
	err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.HasPrefix(d.Name(), ".") && p != path {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.Type().IsRegular() && !skipMboxFile(d.Name()) {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return im.stats, err
	}
	sort.Strings(files)
	for _, f := range files {
		rel, _ := filepath.Rel(path, f)
		levels := strings.Split(filepath.ToSlash(rel), "/")
		for i := range levels[:len(levels)-1] {
			levels[i] = strings.TrimSuffix(levels[i], ".sbd")
		}
		last := len(levels) - 1
		levels[last] = strings.TrimSuffix(levels[last], ".mbox")
		name := strings.Join(levels, "/")
		if folder != "" {
			name = folder + "/" + name
		}
		if err := im.importMboxFile(ctx, f, name, format); err != nil {
			return im.stats, err
		}
	}
	return im.finish(ctx)
}

// skipMboxFile: files in a mail directory that are not mboxes.
func skipMboxFile(name string) bool {
	// ".mbox.tmp": what an interrupted ExportMbox leaves behind.
	for _, ext := range []string{".msf", ".dat", ".json", ".html", ".sqlite", ".db", ".mbox.tmp"} {
		if strings.HasSuffix(strings.ToLower(name), ext) {
			return true
		}
	}
	return false
}

func (im *importer) importMboxFile(ctx context.Context, path, folder string, format MboxFormat) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return im.importMboxStream(ctx, f, path, folder, format)
}

// mboxFileName is where ExportMbox writes mailbox name: levels become
// directories and the last level a file "<name>.mbox".
func mboxFileName(root, name string) string {
	return filepath.Join(root, filepath.FromSlash(name)+".mbox")
}

// ExportMbox writes every folder of the account as an mboxrd file under
// root ("Lists/go" → root/Lists/go.mbox, INBOX → root/INBOX.mbox), with
// Status:, X-Status: and X-Keywords: headers carrying the flags and the
// internal date in the "From " line, as Dovecot writes them. Each file is
// written beside its place, synced and renamed over it, so a re-run
// replaces it whole.
func ExportMbox(ctx context.Context, st Store, root string, opt Options) (Stats, error) {
	var stats Stats
	ms, err := exportMailboxes(ctx, st, opt.AccountID)
	if err != nil {
		return stats, err
	}
	for _, m := range ms {
		if err := checkLevels(m.Name); err != nil {
			stats.fail(opt.log(), m.Name, err.Error())
			continue
		}
		p := mboxFileName(root, m.Name)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			return stats, err
		}
		tmp := p + ".tmp"
		f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
		if err != nil {
			return stats, err
		}
		w := bufio.NewWriterSize(f, 64<<10)
		err = st.ListBodies(ctx, m.Ref(), nil, func(meta store.MessageMeta, raw []byte) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := writeMboxMessage(w, meta, raw); err != nil {
				return err
			}
			stats.Messages++
			stats.Bytes += int64(len(raw))
			if opt.Progress != nil {
				opt.Progress(stats)
			}
			return nil
		})
		if err == nil {
			err = w.Flush()
		}
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Rename(tmp, p)
		}
		if err != nil {
			os.Remove(tmp)
			return stats, fmt.Errorf("folder %q: %w", m.Name, err)
		}
		stats.Folders++
	}
	return stats, nil
}

// writeMboxMessage writes one message in mboxrd form.
func writeMboxMessage(w *bufio.Writer, meta store.MessageMeta, raw []byte) error {
	fmt.Fprintf(w, "From MAILER-DAEMON %s\n", meta.InternalDate.UTC().Format(time.ANSIC))
	bs := message.BodyStart(raw)
	header := raw[:bs]
	eol := "\n"
	if bytes.HasSuffix(header, []byte("\r\n")) {
		eol = "\r\n"
	}
	// The state fields go just before the blank line ending the header.
	blank := 0 // length of the blank line ending header, if it has one
	n := len(header)
	switch {
	case bytes.HasSuffix(header, []byte("\r\n")) && (n == 2 || header[n-3] == '\n'):
		blank = 2
	case bytes.HasSuffix(header, []byte("\n")) && (n == 1 || header[n-2] == '\n'):
		blank = 1
	}
	writeQuoted(w, header[:len(header)-blank])
	if bs == 0 { // no header at all: write the fields, then a blank line
		blank = 0
	}
	status, xstatus := "O", ""
	var kws []string
	for _, f := range meta.Flags {
		switch {
		case strings.EqualFold(f, store.FlagSeen):
			status = "RO"
		case strings.EqualFold(f, store.FlagAnswered):
			xstatus += "A"
		case strings.EqualFold(f, store.FlagFlagged):
			xstatus += "F"
		case strings.EqualFold(f, store.FlagDraft):
			xstatus += "T"
		case strings.EqualFold(f, store.FlagDeleted):
			xstatus += "D"
		case strings.HasPrefix(f, `\`):
		default:
			kws = append(kws, f)
		}
	}
	fmt.Fprintf(w, "Status: %s%s", status, eol)
	if xstatus != "" {
		fmt.Fprintf(w, "X-Status: %s%s", xstatus, eol)
	}
	if len(kws) > 0 {
		fmt.Fprintf(w, "X-Keywords: %s%s", strings.Join(kws, " "), eol)
	}
	switch {
	case blank > 0:
		w.Write(header[len(header)-blank:])
	case bs > 0 && bs == len(raw):
		// A header with no body and no blank line: the separator line
		// written below ends it, and reading takes that line back off.
	default:
		w.WriteString(eol)
	}
	writeQuoted(w, raw[bs:])
	if len(raw) > 0 && raw[len(raw)-1] != '\n' {
		w.WriteString(eol)
	}
	_, err := w.WriteString("\n")
	return err
}

// writeQuoted writes b, adding one ">" to every line matching ^>*From
// (mboxrd).
func writeQuoted(w *bufio.Writer, b []byte) {
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		line := b
		if i >= 0 {
			line = b[:i+1]
		}
		j := 0
		for j < len(line) && line[j] == '>' {
			j++
		}
		if bytes.HasPrefix(line[j:], []byte("From ")) {
			w.WriteByte('>')
		}
		w.Write(line)
		b = b[len(line):]
	}
}
