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
	"syscall"
)

const usage = `mailroom — SMTP, POP3 and IMAP over one durable mail store

Usage:
  mailroom serve [--config FILE] [--data DIR] [--hostname NAME]
                 [--smtp ADDR] [--submission ADDR] [--pop3 ADDR] [--imap ADDR]
  mailroom user add EMAIL [--password-stdin] [--data DIR | --config FILE]
  mailroom user passwd EMAIL [--password-stdin] [--data DIR | --config FILE]
  mailroom user delete EMAIL [--data DIR | --config FILE]
  mailroom user list [--data DIR | --config FILE]
  mailroom queue list|show ID|retry ID|retry --all|delete ID [--data DIR | --config FILE]
  mailroom dkim generate DOMAIN [--data DIR | --config FILE]
  mailroom dns-records DOMAIN [--hostname MX-HOST] [--data DIR | --config FILE]
  mailroom backup FILE [--data DIR | --config FILE]
  mailroom version

An empty ADDR (--pop3 "") disables that listener. serve and the user and
queue commands take --database postgres://... to use a PostgreSQL store
shared by several nodes (default: SQLite in the data directory). Flags may
come before or after positional arguments. Run "mailroom COMMAND -h" for a command's flags.
`

// env is what a command may touch of the outside world, injected so tests
// can run commands in-process.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	// isTerminal reports whether stdin is a terminal (for password prompts).
	isTerminal func() bool
	// readPassword reads a line from the terminal without echo.
	readPassword func() ([]byte, error)
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], osEnv()))
}

// run executes one command line and returns the process exit code.
func run(ctx context.Context, args []string, e env) int {
	if len(args) == 0 {
		fmt.Fprint(e.stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "serve":
		err = cmdServe(ctx, args[1:], e)
	case "user":
		err = cmdUser(ctx, args[1:], e)
	case "queue":
		err = cmdQueue(ctx, args[1:], e)
	case "dkim":
		err = cmdDKIM(ctx, args[1:], e)
	case "dns-records":
		err = cmdDNSRecords(ctx, args[1:], e)
	case "backup":
		err = cmdBackup(ctx, args[1:], e)
	case "version", "--version", "-version":
		fmt.Fprintln(e.stdout, versionString())
	case "help", "-h", "--help":
		fmt.Fprint(e.stdout, usage)
	default:
		fmt.Fprintf(e.stderr, "mailroom: unknown command %q\n\n%s", args[0], usage)
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
