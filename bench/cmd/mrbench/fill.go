package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mailroom/mailroom/message"
	"github.com/mailroom/mailroom/store"
	"github.com/mailroom/mailroom/store/sqlite"
)

// fillSizes picks the size mix by name: "mix" (2 KB–200 KB) or "small".
func fillSizes(name string) func(*rand.Rand) int {
	if name == "mix" {
		return mixSize
	}
	return smallSize
}

// cmdFillIMAP APPENDs n messages to a user's INBOX over c connections.
func cmdFillIMAP(args []string) error {
	fs := flag.NewFlagSet("fill-imap", flag.ExitOnError)
	addr := fs.String("imap", "127.0.0.1:2143", "IMAP address")
	u := fs.String("user", "", "user")
	pass := fs.String("pass", "benchpass", "password")
	n := fs.Int("n", 100, "messages")
	c := fs.Int("c", 4, "connections")
	sizes := fs.String("sizes", "mix", "mix or small")
	fs.Parse(args)
	var next, errs atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < *c; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 3))
			ic, err := dialIMAP(*addr)
			if err != nil {
				errs.Add(1)
				fmt.Println(err)
				return
			}
			defer ic.Close()
			if err := ic.login(*u, *pass); err != nil {
				errs.Add(1)
				fmt.Println(err)
				return
			}
			for {
				i := int(next.Add(1) - 1)
				if i >= *n {
					return
				}
				if err := ic.appendMsg("INBOX", "", makeMessage(rng, i, fillSizes(*sizes)(rng), *u)); err != nil {
					errs.Add(1)
					fmt.Println(err)
					return
				}
			}
		}(w)
	}
	wg.Wait()
	if e := errs.Load(); e > 0 {
		return fmt.Errorf("fill-imap: %d errors", e)
	}
	return nil
}

// cmdFillStore appends n messages straight into a mailroom SQLite store
// (the server must not run), in batches of 1,000.
func cmdFillStore(args []string) error {
	fs := flag.NewFlagSet("fill-store", flag.ExitOnError)
	db := fs.String("db", "", "mailroom.db path")
	email := fs.String("email", "", "account")
	n := fs.Int("n", 1000, "messages")
	fs.Parse(args)
	ctx := context.Background()
	st, err := sqlite.Open(ctx, *db, nil)
	if err != nil {
		return err
	}
	defer st.Close()
	acct, err := st.AccountByEmail(ctx, *email)
	if err != nil {
		return err
	}
	mb, err := st.MailboxByName(ctx, acct.ID, "INBOX")
	if err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(1, 5))
	now := time.Now()
	for i := 0; i < *n; {
		batch := make([]store.NewMessage, 0, 1000)
		for ; i < *n && len(batch) < 1000; i++ {
			raw := makeMessage(rng, i, smallSize(rng), *email)
			batch = append(batch, store.NewMessage{Raw: raw, Part: message.Parse(raw), InternalDate: now})
		}
		if _, _, err := st.Append(ctx, mb.Ref(), batch); err != nil {
			return err
		}
	}
	return nil
}

// cmdFillMaildir writes n messages as Maildir files into DIR/cur, as a
// delivery agent would, for Dovecot.
func cmdFillMaildir(args []string) error {
	fs := flag.NewFlagSet("fill-maildir", flag.ExitOnError)
	dir := fs.String("dir", "", "Maildir directory")
	email := fs.String("email", "big@bench.test", "recipient in To:")
	n := fs.Int("n", 1000, "messages")
	fs.Parse(args)
	for _, sub := range []string{"cur", "new", "tmp"} {
		if err := os.MkdirAll(filepath.Join(*dir, sub), 0o700); err != nil {
			return err
		}
	}
	rng := rand.New(rand.NewPCG(1, 5))
	ts := time.Now().Unix()
	for i := 0; i < *n; i++ {
		raw := makeMessage(rng, i, smallSize(rng), *email)
		name := fmt.Sprintf("%d.M%dP1.bench,S=%d:2,", ts, i, len(raw))
		if err := os.WriteFile(filepath.Join(*dir, "cur", name), raw, 0o600); err != nil {
			return err
		}
	}
	return nil
}
