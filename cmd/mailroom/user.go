package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/mail"
	"strings"

	"github.com/mailroom/mailroom/auth"
	"github.com/mailroom/mailroom/internal/config"
	"github.com/mailroom/mailroom/store"
)

const userUsage = `Usage:
  mailroom user add EMAIL [--password-stdin] [--data DIR | --config FILE]
  mailroom user passwd EMAIL [--password-stdin] [--data DIR | --config FILE]
  mailroom user delete EMAIL [--data DIR | --config FILE]
  mailroom user list [--usage] [--data DIR | --config FILE]
`

// storeFlags are the flags every store-managing command takes.
type storeFlags struct {
	fs       *flag.FlagSet
	data     string
	database string
	config   string
}

func addStoreFlags(fs *flag.FlagSet) *storeFlags {
	sf := &storeFlags{fs: fs}
	fs.StringVar(&sf.data, "data", config.Default().DataDir, "data directory")
	fs.StringVar(&sf.config, "config", "", "TOML config file (its data directory is used)")
	fs.StringVar(&sf.database, "database", "", databaseFlagHelp)
	return sf
}

// open opens the store the flags name. The user commands run while `serve`
// runs on the same data directory: SQLite in WAL mode lets both write.
func (sf *storeFlags) open(ctx context.Context) (store.Store, error) {
	cfg, err := sf.loadConfig()
	if err != nil {
		return nil, err
	}
	return openStore(ctx, cfg, slog.New(slog.DiscardHandler))
}

func cmdUser(ctx context.Context, args []string, e env) error {
	if len(args) == 0 {
		fmt.Fprint(e.stderr, e.cmd(userUsage))
		return errUsage
	}
	fs := newFlagSet("user", e.stderr)
	sf := addStoreFlags(fs)
	pwStdin := fs.Bool("password-stdin", false, "read the password as one line from standard input (add, passwd)")
	usage := fs.Bool("usage", false, "list each account's messages and bytes against its [quota] (list)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		fmt.Fprint(e.stderr, e.cmd(userUsage))
		return errUsage
	}
	sub, pos := pos[0], pos[1:]
	wantArgs := 1
	switch sub {
	case "add", "passwd":
	case "delete":
		if *pwStdin {
			fmt.Fprintf(e.stderr, "mailroom: user delete takes no password\n")
			return errUsage
		}
	case "list":
		wantArgs = 0
	default:
		fmt.Fprintf(e.stderr, "mailroom: unknown user command %q\n\n%s", sub, e.cmd(userUsage))
		return errUsage
	}
	if len(pos) != wantArgs {
		fmt.Fprint(e.stderr, e.cmd(userUsage))
		return errUsage
	}
	var email string
	if wantArgs == 1 {
		if email, err = normalizeEmail(pos[0]); err != nil {
			return err
		}
	}
	var hash string
	if sub == "add" || sub == "passwd" {
		pw, err := readNewPassword(e, *pwStdin)
		if err != nil {
			return err
		}
		if hash, err = auth.HashPassword(pw); err != nil {
			return err
		}
	}

	st, err := sf.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	switch sub {
	case "add":
		if _, err := st.CreateAccount(ctx, email, hash); err != nil {
			if errors.Is(err, store.ErrExists) {
				return fmt.Errorf("user %s already exists", email)
			}
			return err
		}
		fmt.Fprintf(e.stdout, "added %s\n", email)
	case "passwd":
		if err := st.SetPassword(ctx, email, hash); err != nil {
			return notFound(err, email)
		}
		fmt.Fprintf(e.stdout, "password changed for %s\n", email)
	case "delete":
		if err := st.DeleteAccount(ctx, email); err != nil {
			return notFound(err, email)
		}
		fmt.Fprintf(e.stdout, "deleted %s\n", email)
	case "list":
		accts, err := st.Accounts(ctx)
		if err != nil {
			return err
		}
		if *usage {
			return printUsage(ctx, e, sf, st, accts)
		}
		for _, a := range accts {
			fmt.Fprintln(e.stdout, a.Email)
		}
	}
	return nil
}

func notFound(err error, email string) error {
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("no such user %s", email)
	}
	return err
}

// normalizeEmail checks that s is a bare address local@domain and returns it
// lower-cased.
func normalizeEmail(s string) (string, error) {
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s || strings.Count(s, "@") != 1 {
		return "", fmt.Errorf("%q is not an email address (want local@domain)", s)
	}
	local, domain, _ := strings.Cut(s, "@")
	if local == "" || domain == "" || strings.ContainsAny(s, " \t\r\n<>") {
		return "", fmt.Errorf("%q is not an email address (want local@domain)", s)
	}
	return strings.ToLower(s), nil
}

// readNewPassword reads a password: one line from stdin with
// --password-stdin, otherwise from the terminal without echo, twice.
func readNewPassword(e env, fromStdin bool) (string, error) {
	if fromStdin {
		pw, err := readLine(e.stdin)
		if err != nil {
			return "", fmt.Errorf("reading password from stdin: %w", err)
		}
		if pw == "" {
			return "", errors.New("empty password")
		}
		return pw, nil
	}
	if !e.isTerminal() {
		return "", errors.New("standard input is not a terminal: use --password-stdin")
	}
	fmt.Fprint(e.stderr, "Password: ")
	a, err := e.readPassword()
	fmt.Fprintln(e.stderr)
	if err != nil {
		return "", err
	}
	fmt.Fprint(e.stderr, "Repeat password: ")
	b, err := e.readPassword()
	fmt.Fprintln(e.stderr)
	if err != nil {
		return "", err
	}
	if string(a) != string(b) {
		return "", errors.New("passwords do not match")
	}
	if len(a) == 0 {
		return "", errors.New("empty password")
	}
	return string(a), nil
}

func readLine(r io.Reader) (string, error) {
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && !(errors.Is(err, io.EOF) && line != "") {
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}
