package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/mailroom/mailroom/store"
)

const domainUsage = `Usage:
  mailroom domain add DOMAIN | delete DOMAIN | list [--data DIR | --config FILE]
`

const aliasUsage = `Usage:
  mailroom alias add ADDRESS TARGET... | delete ADDRESS | list [--data DIR | --config FILE]
`

// cmdDomain edits the store's domains while serve runs: a domain added
// here is local at once (mail to it is accepted or refused as unknown,
// not as relaying), on every node of a shared PostgreSQL store.
func cmdDomain(ctx context.Context, args []string, e env) error {
	fs := newFlagSet("domain", e.stderr)
	sf := addStoreFlags(fs)
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 || (pos[0] == "list") != (len(pos) == 1) || len(pos) > 2 {
		fmt.Fprint(e.stderr, e.cmd(domainUsage))
		return errUsage
	}
	switch pos[0] {
	case "add", "delete", "list":
	default:
		fmt.Fprintf(e.stderr, "mailroom: unknown domain command %q\n\n%s", pos[0], e.cmd(domainUsage))
		return errUsage
	}
	st, err := sf.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	switch pos[0] {
	case "add":
		d, err := st.AddDomain(ctx, pos[1])
		if err != nil {
			return friendly(err, "domain", pos[1])
		}
		fmt.Fprintf(e.stdout, "added %s\n", d.Name)
	case "delete":
		if err := st.DeleteDomain(ctx, pos[1]); err != nil {
			return friendly(err, "domain", pos[1])
		}
		fmt.Fprintf(e.stdout, "deleted %s\n", strings.ToLower(pos[1]))
	case "list":
		list, err := st.Domains(ctx)
		if err != nil {
			return err
		}
		for _, d := range list {
			fmt.Fprintln(e.stdout, d.Name)
		}
	}
	return nil
}

// cmdAlias edits the store's aliases while serve runs; the config
// file's [aliases] overrides an alias of the same address.
func cmdAlias(ctx context.Context, args []string, e env) error {
	fs := newFlagSet("alias", e.stderr)
	sf := addStoreFlags(fs)
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	ok := len(pos) > 0
	if ok {
		switch pos[0] {
		case "add":
			ok = len(pos) >= 3
		case "delete":
			ok = len(pos) == 2
		case "list":
			ok = len(pos) == 1
		default:
			fmt.Fprintf(e.stderr, "mailroom: unknown alias command %q\n\n%s", pos[0], e.cmd(aliasUsage))
			return errUsage
		}
	}
	if !ok {
		fmt.Fprint(e.stderr, e.cmd(aliasUsage))
		return errUsage
	}
	st, err := sf.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	switch pos[0] {
	case "add":
		a, err := st.AddAlias(ctx, pos[1], pos[2:])
		if err != nil {
			return friendly(err, "alias", pos[1])
		}
		fmt.Fprintf(e.stdout, "added %s -> %s\n", a.Address, strings.Join(a.Targets, ", "))
	case "delete":
		if err := st.DeleteAlias(ctx, pos[1]); err != nil {
			return friendly(err, "alias", pos[1])
		}
		fmt.Fprintf(e.stdout, "deleted %s\n", strings.ToLower(pos[1]))
	case "list":
		list, err := st.Aliases(ctx)
		if err != nil {
			return err
		}
		for _, a := range list {
			fmt.Fprintf(e.stdout, "%s %s\n", a.Address, strings.Join(a.Targets, " "))
		}
	}
	return nil
}

// friendly turns the store's typed errors into messages for the CLI.
func friendly(err error, what, name string) error {
	switch {
	case errors.Is(err, store.ErrExists):
		return fmt.Errorf("%s %s already exists", what, strings.ToLower(name))
	case errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("no such %s %s", what, strings.ToLower(name))
	case errors.Is(err, store.ErrInvalid):
		return errors.New(strings.TrimPrefix(err.Error(), store.ErrInvalid.Error()+": "))
	}
	return err
}
