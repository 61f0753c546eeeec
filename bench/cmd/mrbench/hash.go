package main

import (
	"context"
	"flag"
	"fmt"
	"strings"

	"github.com/mailroom/mailroom/auth"
	"github.com/mailroom/mailroom/internal/authtest"
	"github.com/mailroom/mailroom/store/sqlite"
)

// cmdHash prints an argon2id PHC hash of a password: by default the one
// mailroom stores (first line of auth.HashPassword: m=19456,t=2,p=1), so
// Dovecot's passwd-file costs the same per LOGIN; with -cheap m=1024,t=1
// for the idle scenario, where 10,000 logins would otherwise take minutes
// on both sides and measure password hashing, not idle connections.
func cmdHash(args []string) error {
	fs := flag.NewFlagSet("hash", flag.ExitOnError)
	cheap := fs.Bool("cheap", false, "m=1024,t=1,p=1 instead of mailroom's parameters")
	fs.Parse(args)
	pass := strings.Join(fs.Args(), " ")
	if !*cheap {
		h, err := auth.HashPassword(pass)
		if err != nil {
			return err
		}
		fmt.Println(strings.SplitN(h, "\n", 2)[0])
		return nil
	}
	fmt.Println(authtest.Argon2id(pass)) // the cheap line the servers' tests store too
	return nil
}

// cmdSetHash stores a password hash for an account in a mailroom store.
func cmdSetHash(args []string) error {
	fs := flag.NewFlagSet("set-hash", flag.ExitOnError)
	db := fs.String("db", "", "mailroom.db path")
	email := fs.String("email", "", "account")
	hash := fs.String("hash", "", "PHC hash")
	fs.Parse(args)
	ctx := context.Background()
	st, err := sqlite.Open(ctx, *db, nil)
	if err != nil {
		return err
	}
	defer st.Close()
	return st.SetPassword(ctx, *email, *hash)
}
