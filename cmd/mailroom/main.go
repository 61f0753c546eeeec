// Command mailroom is the mail server's single binary: `mailroom serve` runs
// SMTP, submission, POP3 and IMAP over one store; the other subcommands
// manage that store. This package only parses flags and wires packages
// together; behaviour lives in the packages it calls.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
)

// commandLine is the README's "Command line" block, word for word
// (TestUsageMatchesREADME compares them); usageText prints it with the
// command named as the user ran it.
const commandLine = `mailroom serve [--config FILE] [--data DIR] [--hostname NAME]
               [--smtp ADDR] [--submission ADDR] [--pop3 ADDR] [--imap ADDR]
               [--smtps ADDR] [--pop3s ADDR] [--imaps ADDR] [--http ADDR] [--https ADDR]
               [--managesieve ADDR] [--log-level debug|info|warn|error] [--log-format text|json]
               [--database URL]
mailroom user add EMAIL [--password-stdin] [--data DIR | --config FILE]
mailroom user passwd EMAIL [--password-stdin] [--data DIR | --config FILE]
mailroom user delete EMAIL [--data DIR | --config FILE]
mailroom user list [--usage] [--data DIR | --config FILE]
mailroom domain add DOMAIN | delete DOMAIN | list [--data DIR | --config FILE]
mailroom alias add ADDRESS TARGET... | delete ADDRESS | list [--data DIR | --config FILE]
mailroom sieve put EMAIL NAME FILE|- [--data DIR | --config FILE]
mailroom sieve get EMAIL NAME | list EMAIL | activate EMAIL NAME | deactivate EMAIL | delete EMAIL NAME [--data DIR | --config FILE]
mailroom queue list | show ID | retry ID | retry --all | delete ID [--data DIR | --config FILE]
mailroom dkim generate DOMAIN [--data DIR | --config FILE]
mailroom dns-records DOMAIN [--hostname MX-HOST] [--data DIR | --config FILE]
mailroom backup FILE [--data DIR | --config FILE]
mailroom import maildir DIR --user EMAIL [--folder-map SRC=DST,...]
                [--dovecot-layout maildir++|fs] [--date mtime|header] [--data DIR | --config FILE]
mailroom import mbox FILE|DIR --user EMAIL [--folder NAME] [--folder-map SRC=DST,...]
                [--mbox-format mboxrd|mboxo|mboxcl2] [--data DIR | --config FILE]
mailroom import imap imaps://USER@HOST[:PORT] --user EMAIL [--password-stdin] [--insecure]
                [--folder-map SRC=DST,...] [--data DIR | --config FILE]
mailroom export maildir DIR --user EMAIL [--dovecot-layout maildir++|fs] [--data DIR | --config FILE]
mailroom export mbox DIR --user EMAIL [--data DIR | --config FILE]
mailroom migrate --to postgres://...|sqlite:DIR [--data DIR | --config FILE]
mailroom reindex [--user EMAIL] [--data DIR | --config FILE]
mailroom version
`

const usageNotes = `
An empty ADDR (--pop3 "") disables that listener. serve and the user,
domain, alias, sieve, queue, import, export, migrate and reindex commands take --database postgres://...
to use a PostgreSQL store shared by several nodes (default: SQLite in the
data directory). Flags may
come before or after positional arguments. Run "mailroom COMMAND -h" for a command's flags.
`

// usageText is the text printed for no arguments and for help.
func usageText(prog string) string {
	return "mailroom — SMTP, POP3 and IMAP over one durable mail store\n\nUsage:\n" +
		indent(withProg(commandLine, prog), "  ") + withProg(usageNotes, prog)
}

// goRunProg is how `go run` users name the command.
const goRunProg = "go run ./cmd/mailroom"

// progName is the command as the user ran it, for usage text and hints:
// goRunProg when arg0 is a binary that `go run` built in its temporary
// directory (…/go-buildNNN/bNNN/exe/mailroom), else arg0 itself
// ("mailroom" from PATH, "./mailroom", a full path).
func progName(arg0 string) string {
	slash := filepath.ToSlash(arg0)
	if strings.Contains(slash, "/go-build") && filepath.Base(filepath.Dir(arg0)) == "exe" {
		return goRunProg
	}
	if arg0 == "" {
		return "mailroom"
	}
	return arg0
}

// withProg replaces the command name "mailroom" at the start of each
// command line of text (and in quoted "mailroom …" hints) with prog,
// moving continuation lines along so they stay aligned.
func withProg(text, prog string) string {
	if prog == "" || prog == "mailroom" {
		return text
	}
	shift := strings.Repeat(" ", max(0, len(prog)-len("mailroom")))
	lines := strings.SplitAfter(text, "\n")
	for i, l := range lines {
		trimmed := strings.TrimLeft(l, " ")
		lead := l[:len(l)-len(trimmed)]
		switch {
		case strings.HasPrefix(trimmed, "mailroom "):
			lines[i] = lead + prog + strings.TrimPrefix(trimmed, "mailroom")
		case lead != "" && strings.HasPrefix(trimmed, "["):
			lines[i] = shift + l
		}
		lines[i] = strings.ReplaceAll(lines[i], `"mailroom `, `"`+prog+" ")
		lines[i] = strings.ReplaceAll(lines[i], "`mailroom ", "`"+prog+" ")
	}
	return strings.Join(lines, "")
}

func indent(text, by string) string {
	lines := strings.SplitAfter(text, "\n")
	for i, l := range lines {
		if strings.TrimSpace(l) != "" {
			lines[i] = by + l
		}
	}
	return strings.Join(lines, "")
}

// env is what a command may touch of the outside world, injected so tests
// can run commands in-process.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	// isTerminal reports whether stdin is a terminal (for password prompts).
	isTerminal func() bool
	// readPassword reads a line from the terminal without echo.
	readPassword func() ([]byte, error)
	// prog is the command as the user ran it ("mailroom", "./mailroom",
	// "go run ./cmd/mailroom"), for usage text and hints; "" = "mailroom".
	prog string
}

// progOrDefault is prog, or "mailroom" when empty.
func progOrDefault(prog string) string {
	if prog == "" {
		return "mailroom"
	}
	return prog
}

// cmd returns text with the command named as the user ran it.
func (e env) cmd(text string) string { return withProg(text, e.prog) }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], osEnv()))
}

// run executes one command line and returns the process exit code.
func run(ctx context.Context, args []string, e env) int {
	if len(args) == 0 {
		fmt.Fprint(e.stderr, usageText(e.prog))
		return 2
	}
	var err error
	switch args[0] {
	case "serve":
		err = cmdServe(ctx, args[1:], e)
	case "user":
		err = cmdUser(ctx, args[1:], e)
	case "domain":
		err = cmdDomain(ctx, args[1:], e)
	case "alias":
		err = cmdAlias(ctx, args[1:], e)
	case "sieve":
		err = cmdSieve(ctx, args[1:], e)
	case "queue":
		err = cmdQueue(ctx, args[1:], e)
	case "dkim":
		err = cmdDKIM(ctx, args[1:], e)
	case "dns-records":
		err = cmdDNSRecords(ctx, args[1:], e)
	case "backup":
		err = cmdBackup(ctx, args[1:], e)
	case "import":
		err = cmdImport(ctx, args[1:], e)
	case "export":
		err = cmdExport(ctx, args[1:], e)
	case "reindex":
		err = cmdReindex(ctx, args[1:], e)
	case "migrate":
		err = cmdMigrate(ctx, args[1:], e)
	case "version", "--version", "-version":
		fmt.Fprintln(e.stdout, versionString())
	case "help", "-h", "--help":
		fmt.Fprint(e.stdout, usageText(e.prog))
	default:
		fmt.Fprintf(e.stderr, "mailroom: unknown command %q\n\n%s", args[0], usageText(e.prog))
		return 2
	}
	if errors.Is(err, errUsage) {
		return 2
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "mailroom: %v\n", err)
		return 1
	}
	return 0
}
