package transfer

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mailroom/mailroom/imapserver/imapwire"
	"github.com/mailroom/mailroom/store"
)

// Layout is how a Maildir tree names its folders.
type Layout int

const (
	// LayoutMaildirPP is Maildir++ (Dovecot's default, Courier): the root
	// is INBOX and every other folder is a directory ".A.B" beside cur/,
	// levels separated by ".", names in modified UTF-7.
	LayoutMaildirPP Layout = iota
	// LayoutFS is Dovecot's LAYOUT=fs: folders are nested directories
	// (A/B/cur), the root (or a directory INBOX) is INBOX.
	LayoutFS
)

// ParseLayout parses the --dovecot-layout flag ("maildir++" or "fs").
func ParseLayout(s string) (Layout, error) {
	switch strings.ToLower(s) {
	case "", "maildir++", "maildir":
		return LayoutMaildirPP, nil
	case "fs":
		return LayoutFS, nil
	}
	return 0, fmt.Errorf("unknown Maildir layout %q (want maildir++ or fs)", s)
}

// Maildir info flags (the letters after ":2,"), as Dovecot and Courier
// write them (cr.yp.to/proto/maildir.html).
var maildirFlags = []struct {
	letter byte
	flag   string
}{
	{'D', store.FlagDraft},
	{'F', store.FlagFlagged},
	{'P', "$Forwarded"},
	{'R', store.FlagAnswered},
	{'S', store.FlagSeen},
	{'T', store.FlagDeleted},
}

// maildirFolder is one folder of a Maildir tree.
type maildirFolder struct {
	dir  string // holds cur/ new/ tmp/
	name string // decoded, "/"-separated; "INBOX" for the root
}

func isMaildir(dir string) bool {
	for _, sub := range []string{"cur", "new"} {
		if fi, err := os.Stat(filepath.Join(dir, sub)); err == nil && fi.IsDir() {
			return true
		}
	}
	return false
}

// decodeLevels decodes modified-UTF-7 levels and joins them with "/".
func decodeLevels(levels []string) (string, error) {
	out := make([]string, len(levels))
	for i, l := range levels {
		if l == "" {
			return "", errors.New("empty hierarchy level")
		}
		d, err := imapwire.DecodeMUTF7(l)
		if err != nil {
			return "", fmt.Errorf("folder name %q is not valid modified UTF-7", l)
		}
		out[i] = d
	}
	return strings.Join(out, "/"), nil
}

// maildirFolders lists the folders of the tree at root.
func maildirFolders(root string, layout Layout, st *Stats, im *importer) ([]maildirFolder, error) {
	var out []maildirFolder
	if isMaildir(root) {
		out = append(out, maildirFolder{dir: root, name: store.Inbox})
	}
	if layout == LayoutMaildirPP {
		ents, err := os.ReadDir(root)
		if err != nil {
			return nil, err
		}
		for _, e := range ents {
			n := e.Name()
			if !e.IsDir() || len(n) < 2 || n[0] != '.' || n == ".." {
				continue
			}
			dir := filepath.Join(root, n)
			if !isMaildir(dir) {
				continue
			}
			name, err := decodeLevels(strings.Split(n[1:], "."))
			if err != nil {
				st.fail(im.log, dir, err.Error())
				continue
			}
			out = append(out, maildirFolder{dir: dir, name: name})
		}
		return out, nil
	}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() || p == root {
			return nil
		}
		switch d.Name() {
		case "cur", "new", "tmp":
			return fs.SkipDir
		}
		if !isMaildir(p) {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		name, err := decodeLevels(strings.Split(filepath.ToSlash(rel), "/"))
		if err != nil {
			st.fail(im.log, p, err.Error())
			return fs.SkipDir
		}
		out = append(out, maildirFolder{dir: p, name: name})
		return nil
	})
	return out, err
}

// readKeywords reads a folder's dovecot-keywords file: lines "N name",
// where N is the index of the letter 'a'+N in file names.
func readKeywords(dir string) map[byte]string {
	kw := map[byte]string{}
	f, err := os.Open(filepath.Join(dir, "dovecot-keywords"))
	if err != nil {
		return kw
	}
	defer f.Close()
	sc := bufio.NewScanner(io.LimitReader(f, 1<<20))
	for sc.Scan() {
		idx, name, ok := strings.Cut(sc.Text(), " ")
		n, err := strconv.Atoi(idx)
		if !ok || err != nil || n < 0 || n >= 26 || !validKeyword(name) {
			continue
		}
		kw[byte('a'+n)] = name
	}
	return kw
}

// readUIDOrder reads dovecot-uidlist and returns each file's UID, keyed by
// the file's base name (before ":2,"), so messages are stored in their old
// order, and the folder's UIDVALIDITY (0 if unknown), so they can keep
// their UIDs.
func readUIDOrder(dir string) (order map[string]uint64, uidValidity uint32) {
	order = map[string]uint64{}
	f, err := os.Open(filepath.Join(dir, "dovecot-uidlist"))
	if err != nil {
		return order, 0
	}
	defer f.Close()
	sc := bufio.NewScanner(io.LimitReader(f, 256<<20))
	first := true
	for sc.Scan() {
		line := sc.Text()
		if first { // "3 V<uidvalidity> N<uidnext> ..."
			first = false
			uidValidity = uidlistValidity(line)
			continue
		}
		uidStr, _, _ := strings.Cut(line, " ")
		i := strings.Index(line, " :")
		uid, err := strconv.ParseUint(uidStr, 10, 32)
		if err != nil || i < 0 {
			continue
		}
		order[line[i+2:]] = uid
	}
	return order, uidValidity
}

// uidlistValidity parses the UIDVALIDITY of a dovecot-uidlist header
// line: version 3 ("3 V1234 N5 G..."); 0 for any other version or none.
func uidlistValidity(header string) uint32 {
	fields := strings.Fields(header)
	if len(fields) < 2 || fields[0] != "3" {
		return 0
	}
	for _, f := range fields[1:] {
		if v, ok := strings.CutPrefix(f, "V"); ok {
			n, err := strconv.ParseUint(v, 10, 32)
			if err != nil {
				return 0
			}
			return uint32(n)
		}
	}
	return 0
}

// maildirFile is one message file.
type maildirFile struct {
	path, base, info string
	uid              uint64 // from dovecot-uidlist; 0 = unknown
}

func listMaildirFiles(dir string, order map[string]uint64) ([]maildirFile, error) {
	var files []maildirFile
	for _, sub := range []string{"new", "cur"} {
		ents, err := os.ReadDir(filepath.Join(dir, sub))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, e := range ents {
			if !e.Type().IsRegular() || strings.HasPrefix(e.Name(), ".") {
				continue
			}
			base, info, _ := strings.Cut(e.Name(), ":")
			if info == "" { // Windows-safe variants use "!" or ";" for ":"
				if i := strings.LastIndexAny(e.Name(), "!;"); i > 0 && strings.HasPrefix(e.Name()[i+1:], "2,") {
					base, info = e.Name()[:i], e.Name()[i+1:]
				}
			}
			uid, ok := order[base]
			if !ok { // the list may name it without ",S=…,W=…"
				short, _, _ := strings.Cut(base, ",")
				uid = order[short]
			}
			files = append(files, maildirFile{path: filepath.Join(dir, sub, e.Name()), base: base, info: info, uid: uid})
		}
	}
	sort.SliceStable(files, func(i, j int) bool {
		a, b := files[i], files[j]
		if (a.uid == 0) != (b.uid == 0) {
			return a.uid != 0
		}
		if a.uid != b.uid {
			return a.uid < b.uid
		}
		return a.base < b.base
	})
	return files, nil
}

// flagsFromInfo maps a ":2,<letters>" info to flags and keywords.
func flagsFromInfo(info string, keywords map[byte]string) []string {
	letters, ok := strings.CutPrefix(info, "2,")
	if !ok {
		return nil
	}
	var flags []string
	for i := 0; i < len(letters); i++ {
		c := letters[i]
		if c >= 'a' && c <= 'z' {
			if kw, ok := keywords[c]; ok {
				flags = append(flags, kw)
			}
			continue
		}
		for _, f := range maildirFlags {
			if f.letter == c {
				flags = append(flags, f.flag)
			}
		}
	}
	return sortedFlags(flags)
}

// ImportMaildir imports the Maildir tree at root into the account.
func ImportMaildir(ctx context.Context, st Store, root string, layout Layout, opt Options) (Stats, error) {
	im := newImporter(st, opt)
	if fi, err := os.Stat(root); err != nil {
		return im.stats, err
	} else if !fi.IsDir() {
		return im.stats, fmt.Errorf("%s is not a directory", root)
	}
	folders, err := maildirFolders(root, layout, &im.stats, im)
	if err != nil {
		return im.stats, err
	}
	if len(folders) == 0 {
		return im.stats, fmt.Errorf("%s holds no Maildir (no cur/ or new/ directory)", root)
	}
	maxBytes := opt.maxBytes()
	for _, mf := range folders {
		keywords := readKeywords(mf.dir)
		order, uidValidity := readUIDOrder(mf.dir)
		files, err := listMaildirFiles(mf.dir, order)
		if err != nil {
			return im.stats, err
		}
		keep := false
		if uidValidity != 0 && len(files) > 0 {
			keep, err = im.keepUIDs(ctx, mf.name, uidValidity)
		} else if len(files) == 0 { // an empty folder still comes across (and claims no UIDVALIDITY)
			_, err = im.folder(ctx, mf.name)
		}
		if err != nil && !errors.Is(err, store.ErrInvalid) {
			return im.stats, err
		}
		for _, file := range files {
			if err := ctx.Err(); err != nil {
				return im.stats, err
			}
			raw, mtime, reason, err := readBounded(file.path, maxBytes)
			if err != nil {
				return im.stats, err
			}
			im.stats.InputBytes += int64(len(raw))
			if reason != "" {
				im.stats.fail(im.log, file.path, reason)
				continue
			}
			date := mtime
			if opt.DateFromHeader {
				date = headerDate(raw) // zero → falls back to now in add
				if date.IsZero() {
					date = mtime
				}
			}
			uid := uint32(0)
			if keep && file.uid <= math.MaxUint32 {
				uid = uint32(file.uid)
			}
			if err := im.addUID(ctx, mf.name, raw, flagsFromInfo(file.info, keywords), date, file.path, uid); err != nil {
				return im.stats, err
			}
		}
	}
	return im.finish(ctx)
}

// readBounded reads a whole file of at most max bytes. A larger file, or
// one that vanished meanwhile, gives a reason to skip it.
func readBounded(path string, max int64) (raw []byte, mtime time.Time, reason string, err error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, time.Time{}, "file vanished while importing", nil
	}
	if err != nil {
		return nil, time.Time{}, "", err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, time.Time{}, "", err
	}
	if fi.Size() > max {
		return nil, time.Time{}, fmt.Sprintf("%d bytes, more than max_message_bytes (%d)", fi.Size(), max), nil
	}
	raw, err = io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, time.Time{}, "", err
	}
	if int64(len(raw)) > max {
		return nil, time.Time{}, fmt.Sprintf("more than max_message_bytes (%d)", max), nil
	}
	return raw, fi.ModTime(), "", nil
}

// maildirDir returns the directory of mailbox name under root, or an
// error when the layout cannot hold the name.
func maildirDir(root, name string, layout Layout) (string, error) {
	if name == store.Inbox {
		return root, nil
	}
	if err := checkLevels(name); err != nil {
		return "", err
	}
	levels := strings.Split(name, "/")
	for i, l := range levels {
		if layout == LayoutMaildirPP && strings.Contains(l, ".") {
			return "", fmt.Errorf("folder %q: Maildir++ separates levels with \".\" and cannot hold one inside a name (use --dovecot-layout fs or export mbox)", name)
		}
		if l == "cur" || l == "new" || l == "tmp" {
			if layout == LayoutFS {
				return "", fmt.Errorf("folder %q: a level named %s collides with Maildir's own directories", name, l)
			}
		}
		levels[i] = imapwire.EncodeMUTF7(l)
	}
	if layout == LayoutMaildirPP {
		return filepath.Join(root, "."+strings.Join(levels, ".")), nil
	}
	return filepath.Join(root, filepath.Join(levels...)), nil
}

// ExportMaildir writes every folder of the account under root as a
// Maildir tree Dovecot reads (Maildir++ or LAYOUT=fs): files in cur/ named
// "<date>.M<uid>P<uidvalidity>.mailroom,S=<size>:2,<flags>" with the
// internal date as mtime, keywords in dovecot-keywords ($Forwarded both
// as the letter P and as a keyword, which is how Dovecot shows it). Each file is
// written in tmp/, synced, then renamed into cur/. Re-running skips the
// messages whose file is already there.
func ExportMaildir(ctx context.Context, st Store, root string, layout Layout, opt Options) (Stats, error) {
	var stats Stats
	log := opt.log()
	ms, err := exportMailboxes(ctx, st, opt.AccountID)
	if err != nil {
		return stats, err
	}
	if err := os.MkdirAll(root, 0o700); err != nil {
		return stats, err
	}
	for _, m := range ms {
		dir, err := maildirDir(root, m.Name, layout)
		if err != nil {
			stats.fail(log, m.Name, err.Error())
			continue
		}
		for _, sub := range []string{"cur", "new", "tmp"} {
			if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
				return stats, err
			}
		}
		stats.Folders++
		kw := readKeywords(dir)
		letter := map[string]byte{}
		for l, k := range kw {
			letter[k] = l
		}
		existing := map[string]string{} // base name → file name in cur/
		if ents, err := os.ReadDir(filepath.Join(dir, "cur")); err == nil {
			for _, e := range ents {
				b, _, _ := strings.Cut(e.Name(), ":")
				existing[b] = e.Name()
			}
		}
		kwChanged := false
		var uidlist strings.Builder
		uidNext := uint32(1)
		err = st.ListBodies(ctx, m.Ref(), nil, func(meta store.MessageMeta, raw []byte) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			base := fmt.Sprintf("%d.M%dP%d.mailroom,S=%d", meta.InternalDate.Unix(), meta.UID, m.UIDValidity, len(raw))
			fmt.Fprintf(&uidlist, "%d :%s\n", meta.UID, base)
			uidNext = meta.UID + 1
			if name, ok := existing[base]; ok {
				// Written by an earlier run. One cut short by a crash
				// before its sync may have left the file short: it is
				// written again.
				p := filepath.Join(dir, "cur", name)
				if fi, err := os.Stat(p); err == nil && fi.Size() == int64(len(raw)) {
					stats.Skipped++
					return nil
				}
				if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
					return err
				}
			}
			var info []byte
			for _, f := range meta.Flags {
				if f == "" || f[0] == '\\' || f == "$Forwarded" {
					for _, mf := range maildirFlags {
						if strings.EqualFold(mf.flag, f) {
							info = append(info, mf.letter)
						}
					}
					// Dovecot shows no flag for P (passed): $Forwarded
					// is a keyword there as well.
					if f != "$Forwarded" {
						continue
					}
				}
				l, ok := letter[f]
				if !ok {
					if len(letter) >= 26 {
						log.Warn("keyword not exported: Maildir holds 26 keywords per folder", "folder", m.Name, "keyword", f)
						continue
					}
					l = nextLetter(kw)
					kw[l], letter[f] = f, l
					kwChanged = true
				}
				info = append(info, l)
			}
			sort.Slice(info, func(i, j int) bool { return info[i] < info[j] })
			if err := writeMaildirFile(dir, base, base+":2,"+string(info), raw, meta.InternalDate); err != nil {
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
			err = syncDir(dir)
		}
		if err != nil {
			return stats, fmt.Errorf("folder %q: %w", m.Name, err)
		}
		if kwChanged {
			if err := writeKeywords(dir, kw); err != nil {
				return stats, err
			}
		}
		// dovecot-uidlist (version 3) keeps the UIDs, UIDVALIDITY and
		// order for Dovecot and for a re-import.
		head := fmt.Sprintf("3 V%d N%d\n", m.UIDValidity, max(uidNext, m.UIDNext))
		if err := writeFileSync(filepath.Join(dir, "dovecot-uidlist"), []byte(head+uidlist.String()), time.Time{}); err != nil {
			return stats, err
		}
	}
	return stats, nil
}

func nextLetter(kw map[byte]string) byte {
	for l := byte('a'); l <= 'z'; l++ {
		if _, used := kw[l]; !used {
			return l
		}
	}
	return 0
}

func writeKeywords(dir string, kw map[byte]string) error {
	var sb strings.Builder
	for l := byte('a'); l <= 'z'; l++ {
		if k, ok := kw[l]; ok {
			fmt.Fprintf(&sb, "%d %s\n", l-'a', k)
		}
	}
	return writeFileSync(filepath.Join(dir, "dovecot-keywords"), []byte(sb.String()), time.Time{})
}

// writeMaildirFile writes raw in tmp/ and renames it into cur/, as Maildir
// delivery does. It does not sync each file (one fsync per message made
// an export 15 times slower): syncDir makes a folder's files durable
// once it is written, and a re-run rewrites a file a crash left short.
func writeMaildirFile(dir, base, name string, raw []byte, mtime time.Time) error {
	tmp := filepath.Join(dir, "tmp", base)
	if err := os.WriteFile(tmp, raw, 0o600); err != nil {
		return err
	}
	if err := os.Chtimes(tmp, mtime, mtime); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, "cur", name))
}

// syncDir makes the files written under a Maildir folder durable: one
// syncfs(2) of the file system holding it, then an fsync of cur/ for the
// renames.
func syncDir(dir string) error {
	d, err := os.Open(filepath.Join(dir, "cur"))
	if err != nil {
		return err
	}
	defer d.Close()
	if err := unix.Syncfs(int(d.Fd())); err != nil {
		return err
	}
	return d.Sync()
}

// writeFileSync writes data to path, syncs it and sets its mtime (unless
// zero).
func writeFileSync(path string, data []byte, mtime time.Time) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if !mtime.IsZero() {
		return os.Chtimes(path, mtime, mtime)
	}
	return nil
}
