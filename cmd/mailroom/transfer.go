package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/mailroom/mailroom/store"
	"github.com/mailroom/mailroom/transfer"
)

const importUsage = `Usage:
  mailroom import maildir DIR --user EMAIL [--folder-map SRC=DST,...] [--dovecot-layout maildir++|fs]
                  [--date mtime|header] [--data DIR | --config FILE]
  mailroom import mbox FILE|DIR --user EMAIL [--folder NAME] [--mbox-format mboxrd|mboxo|mboxcl2]
                  [--folder-map SRC=DST,...] [--data DIR | --config FILE]
  mailroom import imap imaps://USER@HOST[:PORT] --user EMAIL [--password-stdin] [--insecure]
                  [--folder-map SRC=DST,...] [--data DIR | --config FILE]

import imap reads the source account's password from the terminal, or as
one line from standard input with --password-stdin; imap://USER@HOST
uses STARTTLS instead of TLS from the start. --insecure accepts a
certificate that cannot be verified.

Imports run while serve runs, skip messages already imported (same
Message-ID, size and internal date in that folder), and report malformed
input and skip it.
`

const exportUsage = `Usage:
  mailroom export maildir DIR --user EMAIL [--dovecot-layout maildir++|fs] [--data DIR | --config FILE]
  mailroom export mbox DIR --user EMAIL [--data DIR | --config FILE]
`

// progressLogEvery is how often a non-terminal run logs its progress.
const progressLogEvery = 5 * time.Second

// transferFlags are the flags of import and export.
type transferFlags struct {
	sf         *storeFlags
	user       string
	folder     string
	folderMap  string
	layout     string
	mboxFormat string
	date       string
	pwStdin    bool
	insecure   bool
}

func cmdImport(ctx context.Context, args []string, e env) error {
	return cmdTransfer(ctx, args, e, true)
}

func cmdExport(ctx context.Context, args []string, e env) error {
	return cmdTransfer(ctx, args, e, false)
}

func cmdTransfer(ctx context.Context, args []string, e env, isImport bool) error {
	usage, name := exportUsage, "export"
	if isImport {
		usage, name = importUsage, "import"
	}
	fs := newFlagSet(name, e.stderr)
	tf := transferFlags{sf: addStoreFlags(fs)}
	fs.StringVar(&tf.user, "user", "", "the account (EMAIL) to import into or export from")
	fs.StringVar(&tf.layout, "dovecot-layout", "maildir++", `Maildir folder layout: "maildir++" (.A.B) or "fs" (A/B)`)
	if isImport {
		fs.StringVar(&tf.folder, "folder", "", "mbox: the folder to import a file into (default INBOX), or the parent of a directory's folders")
		fs.StringVar(&tf.folderMap, "folder-map", "", `rename source folders: "Sent Items=Sent,Spam=Junk"`)
		fs.StringVar(&tf.mboxFormat, "mbox-format", "mboxrd", "mbox quoting: mboxrd, mboxo or mboxcl2")
		fs.StringVar(&tf.date, "date", "mtime", "Maildir internal date: the file's mtime, or the Date: header")
		fs.BoolVar(&tf.pwStdin, "password-stdin", false, "imap: read the source password as one line from standard input")
		fs.BoolVar(&tf.insecure, "insecure", false, "imap: accept a server certificate that cannot be verified")
	}
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 || (pos[0] != "maildir" && pos[0] != "mbox" && (pos[0] != "imap" || !isImport)) || tf.user == "" {
		fmt.Fprint(e.stderr, e.cmd(usage))
		return errUsage
	}
	kind, path := pos[0], pos[1]
	layout, err := transfer.ParseLayout(tf.layout)
	if err != nil {
		return err
	}
	format, err := transfer.ParseMboxFormat(tf.mboxFormat)
	if err != nil {
		return err
	}
	if tf.date != "" && tf.date != "mtime" && tf.date != "header" {
		return fmt.Errorf("--date %q: want mtime or header", tf.date)
	}
	folderMap, err := parseFolderMap(tf.folderMap)
	if err != nil {
		return err
	}
	var src transfer.IMAPSource
	if kind == "imap" {
		if src, err = transfer.ParseIMAPURL(path); err != nil {
			return err
		}
		src.Insecure = tf.insecure
		if src.Password, err = readSourcePassword(e, tf.pwStdin, src.User); err != nil {
			return err
		}
	}
	cfg, err := tf.sf.loadConfig()
	if err != nil {
		return err
	}
	st, err := tf.sf.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	acct, err := st.AccountByEmail(ctx, tf.user)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("no account %s (create it with \"%s user add %s\")", tf.user, progOrDefault(e.prog), tf.user)
	}
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	total := int64(-1)
	if isImport && kind != "imap" {
		total = inputSize(path)
	}
	prog := newProgress(e.stderr, name, total, log)
	opt := transfer.Options{
		AccountID:       acct.ID,
		MaxMessageBytes: cfg.Limits.MaxMessageBytes,
		Log:             log,
		FolderMap:       folderMap,
		DateFromHeader:  tf.date == "header",
		Progress:        prog.update,
	}
	var stats transfer.Stats
	switch {
	case kind == "imap":
		stats, err = transfer.ImportIMAP(ctx, st, src, opt)
	case isImport && kind == "maildir":
		stats, err = transfer.ImportMaildir(ctx, st, path, layout, opt)
	case isImport:
		stats, err = transfer.ImportMbox(ctx, st, path, tf.folder, format, opt)
	case kind == "maildir":
		stats, err = transfer.ExportMaildir(ctx, st, path, layout, opt)
	default:
		stats, err = transfer.ExportMbox(ctx, st, path, opt)
	}
	prog.finish()
	printSummary(e.stdout, name, tf.user, stats)
	return err
}

// readSourcePassword reads the password of the account import imap pulls
// from: one line from stdin with --password-stdin, else from the terminal
// without echo.
func readSourcePassword(e env, fromStdin bool, user string) (string, error) {
	var pw string
	if fromStdin {
		line, err := readLine(io.LimitReader(e.stdin, 4096))
		if err != nil {
			return "", fmt.Errorf("reading password from stdin: %w", err)
		}
		pw = line
	} else {
		if !e.isTerminal() {
			return "", errors.New("standard input is not a terminal: use --password-stdin")
		}
		fmt.Fprintf(e.stderr, "Password of %s: ", user)
		b, err := e.readPassword()
		fmt.Fprintln(e.stderr)
		if err != nil {
			return "", err
		}
		pw = string(b)
	}
	if pw == "" {
		return "", errors.New("empty password")
	}
	return pw, nil
}

// parseFolderMap parses "A=B,C=D".
func parseFolderMap(s string) (map[string]string, error) {
	m := map[string]string{}
	for _, pair := range strings.Split(s, ",") {
		if strings.TrimSpace(pair) == "" {
			continue
		}
		src, dst, ok := strings.Cut(pair, "=")
		src, dst = strings.TrimSpace(src), strings.TrimSpace(dst)
		if !ok || src == "" || dst == "" {
			return nil, fmt.Errorf("--folder-map %q: want SRC=DST pairs separated by commas", pair)
		}
		m[src] = dst
	}
	return m, nil
}

// inputSize is the bytes under path (for the progress bar), -1 if unknown.
func inputSize(path string) int64 {
	var n int64
	err := walkFiles(path, func(fi os.FileInfo) { n += fi.Size() })
	if err != nil {
		return -1
	}
	return n
}

func walkFiles(path string, fn func(os.FileInfo)) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		fn(fi)
		return nil
	}
	ents, err := os.ReadDir(path)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if err := walkFiles(path+string(os.PathSeparator)+e.Name(), fn); err != nil {
			return err
		}
	}
	return nil
}

// progress shows a bar on a terminal, else a log line every
// progressLogEvery.
type progress struct {
	bar     *progressbar.ProgressBar
	log     *slog.Logger
	name    string
	last    time.Time
	started time.Time
	stats   transfer.Stats
}

func newProgress(w io.Writer, name string, total int64, log *slog.Logger) *progress {
	p := &progress{log: log, name: name, started: time.Now(), last: time.Now()}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.bar = progressbar.NewOptions64(total,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription(name),
			progressbar.OptionShowBytes(true),
			progressbar.OptionShowCount(),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish(),
		)
	}
	return p
}

func (p *progress) update(s transfer.Stats) {
	p.stats = s
	if p.bar != nil {
		p.bar.Describe(fmt.Sprintf("%s: %d messages, %d skipped, %d failed", p.name, s.Messages, s.Skipped, s.Failed))
		n := s.InputBytes
		if n == 0 {
			n = s.Bytes
		}
		_ = p.bar.Set64(n)
		return
	}
	if now := time.Now(); now.Sub(p.last) >= progressLogEvery {
		p.last = now
		rate := float64(s.Messages) / now.Sub(p.started).Seconds()
		p.log.Info(p.name+" progress", "messages", s.Messages, "bytes", s.Bytes, "skipped", s.Skipped, "failed", s.Failed, "msg_per_s", int(rate))
	}
}

func (p *progress) finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
	}
}

// printSummary prints the final summary: folders, messages, bytes,
// skipped, and each failure with its reason.
func printSummary(w io.Writer, name, user string, s transfer.Stats) {
	verb := "Imported into"
	if name == "export" {
		verb = "Exported from"
	}
	fmt.Fprintf(w, "%s %s: %d folders, %d messages, %d bytes, %d skipped (already there), %d failed\n",
		verb, user, s.Folders, s.Messages, s.Bytes, s.Skipped, s.Failed)
	if s.FlagsUpdated > 0 {
		fmt.Fprintf(w, "  flags changed at the source set on %d messages imported before\n", s.FlagsUpdated)
	}
	if len(s.UIDsKept) > 0 {
		fmt.Fprintf(w, "  UIDs and UIDVALIDITY kept in: %s\n", strings.Join(s.UIDsKept, ", "))
	}
	for _, n := range s.UIDsNew {
		fmt.Fprintf(w, "  new UIDs (clients resync) in %s\n", n)
	}
	for _, f := range s.Failures {
		fmt.Fprintf(w, "  failed: %s: %s\n", f.Source, f.Reason)
	}
	if s.Failed > len(s.Failures) {
		fmt.Fprintf(w, "  … and %d more (see the log)\n", s.Failed-len(s.Failures))
	}
}
