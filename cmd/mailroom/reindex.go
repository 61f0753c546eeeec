package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/mailroom/mailroom/store"
)

const reindexUsage = `Usage:
  mailroom reindex [--user EMAIL] [--data DIR | --config FILE]

reindex adds to the full-text index of IMAP SEARCH TEXT/BODY the messages
stored before the index existed (an upgrade leaves them out; SEARCH reads
them meanwhile, so results are right, only slower): of every account, or of
one with --user. It runs while serve runs, and running it again does only
what is left.
`

func cmdReindex(ctx context.Context, args []string, e env) error {
	fs := newFlagSet("reindex", e.stderr)
	sf := addStoreFlags(fs)
	var user string
	fs.StringVar(&user, "user", "", "index only this account's messages (EMAIL)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		fmt.Fprint(e.stderr, e.cmd(reindexUsage))
		return errUsage
	}
	st, err := sf.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	var accountID int64
	if user != "" {
		acct, err := st.AccountByEmail(ctx, user)
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("no account %s", user)
		}
		if err != nil {
			return err
		}
		accountID = acct.ID
	}
	log := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	var bar *progressbar.ProgressBar
	var last time.Time
	started := time.Now()
	var indexed int64
	err = st.ReindexText(ctx, accountID, func(done, total int64) {
		indexed = done
		if bar == nil && total > 0 {
			if f, ok := e.stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
				bar = progressbar.NewOptions64(total,
					progressbar.OptionSetWriter(e.stderr),
					progressbar.OptionSetDescription("reindex"),
					progressbar.OptionShowCount(),
					progressbar.OptionSetPredictTime(true),
					progressbar.OptionThrottle(100*time.Millisecond),
					progressbar.OptionClearOnFinish(),
				)
			}
		}
		if bar != nil {
			bar.ChangeMax64(total)
			_ = bar.Set64(done)
			return
		}
		if now := time.Now(); now.Sub(last) >= progressLogEvery && done > 0 {
			last = now
			log.Info("reindex progress", "messages", done, "of", total)
		}
	})
	if bar != nil {
		_ = bar.Finish()
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Indexed %d stored messages in %s.\n", indexed, time.Since(started).Round(time.Millisecond))
	return nil
}
