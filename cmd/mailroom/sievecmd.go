package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/mailroom/mailroom/sieve"
	"github.com/mailroom/mailroom/store"
)

const sieveUsage = `Usage:
  mailroom sieve put EMAIL NAME FILE|- [--data DIR | --config FILE]
  mailroom sieve get EMAIL NAME | list EMAIL | activate EMAIL NAME | deactivate EMAIL | delete EMAIL NAME [--data DIR | --config FILE]
`

// cmdSieve manages an account's Sieve filtering scripts. put compiles
// the script first (errors carry line numbers, as sieve.Compile reports
// them) and stores nothing that would not run.
func cmdSieve(ctx context.Context, args []string, e env) error {
	fs := newFlagSet("sieve", e.stderr)
	sf := addStoreFlags(fs)
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		fmt.Fprint(e.stderr, e.cmd(sieveUsage))
		return errUsage
	}
	sub, pos := pos[0], pos[1:]
	want := map[string]int{"put": 3, "get": 2, "list": 1, "activate": 2, "deactivate": 1, "delete": 2}
	n, ok := want[sub]
	if !ok {
		fmt.Fprintf(e.stderr, "mailroom: unknown sieve command %q\n\n%s", sub, e.cmd(sieveUsage))
		return errUsage
	}
	if len(pos) != n {
		fmt.Fprint(e.stderr, e.cmd(sieveUsage))
		return errUsage
	}
	email, err := normalizeEmail(pos[0])
	if err != nil {
		return err
	}
	cfg, err := sf.loadConfig()
	if err != nil {
		return err
	}
	var src []byte
	if sub == "put" {
		if err := store.CheckSieveName(pos[1]); err != nil {
			return fmt.Errorf("bad script name %q: 1..%d bytes, no control characters or '/'", pos[1], store.MaxSieveNameLen)
		}
		// The configured limits, as ManageSieve and delivery use them: a
		// script stored here is one delivery can run.
		lim := sieveLimits(cfg)
		if src, err = readScript(e, pos[2], lim.MaxScriptSize); err != nil {
			return err
		}
		if _, err := sieve.Compile(src, lim); err != nil {
			return fmt.Errorf("script %s: %w", pos[2], err)
		}
	}
	st, err := openStore(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	defer st.Close()
	acct, err := st.AccountByEmail(ctx, email)
	if err != nil {
		return notFound(err, email)
	}
	noScript := func(err error, name string) error {
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("%s has no sieve script %q", email, name)
		}
		return err
	}
	switch sub {
	case "put":
		sc, err := st.PutSieveScript(ctx, acct.ID, pos[1], src)
		if err != nil {
			return err
		}
		state := "inactive"
		if sc.Active {
			state = "active"
		}
		fmt.Fprintf(e.stdout, "stored sieve script %q for %s (%d bytes, %s)\n", sc.Name, email, len(src), state)
	case "get":
		sc, err := st.SieveScript(ctx, acct.ID, pos[1])
		if err != nil {
			return noScript(err, pos[1])
		}
		_, err = e.stdout.Write(sc.Source)
		return err
	case "list":
		list, err := st.SieveScripts(ctx, acct.ID)
		if err != nil {
			return err
		}
		for _, sc := range list {
			mark := ""
			if sc.Active {
				mark = "\tACTIVE"
			}
			fmt.Fprintf(e.stdout, "%s%s\n", sc.Name, mark)
		}
	case "activate":
		if err := st.ActivateSieveScript(ctx, acct.ID, pos[1]); err != nil {
			return noScript(err, pos[1])
		}
		fmt.Fprintf(e.stdout, "sieve script %q is active for %s\n", pos[1], email)
	case "deactivate":
		if err := st.ActivateSieveScript(ctx, acct.ID, ""); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "no sieve script is active for %s\n", email)
	case "delete":
		if err := st.DeleteSieveScript(ctx, acct.ID, pos[1]); err != nil {
			return noScript(err, pos[1])
		}
		fmt.Fprintf(e.stdout, "deleted sieve script %q of %s\n", pos[1], email)
	}
	return nil
}

// readScript reads a script from a file or, for "-", standard input,
// never more than limit bytes (sieve_max_script_bytes).
func readScript(e env, name string, limit int) ([]byte, error) {
	var r io.Reader = e.stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	src, err := io.ReadAll(io.LimitReader(r, int64(limit)+1))
	if err != nil {
		return nil, err
	}
	if len(src) > limit {
		return nil, fmt.Errorf("script %s is larger than %d bytes (sieve_max_script_bytes)", name, limit)
	}
	return src, nil
}
