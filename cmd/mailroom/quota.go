package main

import (
	"context"
	"fmt"
	"strconv"
	"text/tabwriter"

	"github.com/mailroom/mailroom/internal/config"
	"github.com/mailroom/mailroom/store"
)

// printUsage is `mailroom user list --usage`: one line per account with
// its messages and bytes over all mailboxes, each against the account's
// [quota] limit of the configuration the flags name. Without --config it
// uses the config file that serve last ran with on the data directory (it
// records it in serve.lock), so both read the same limits; which file was
// used is said on stderr.
func printUsage(ctx context.Context, e env, sf *storeFlags, st store.Store, accts []store.Account) error {
	cfg, err := sf.loadConfig()
	if err != nil {
		return err
	}
	source := absPath(sf.config)
	if source == "" {
		if info, ok := readLockFile(cfg.DataDir); ok && info.config != "" {
			served, err := config.Load(info.config)
			if err != nil {
				return fmt.Errorf("the config file serve ran with: %w (give --config FILE)", err)
			}
			cfg.Quota, source = served.Quota, info.config
		}
	}
	if source != "" {
		fmt.Fprintf(e.stderr, "quota limits from %s\n", source)
	} else {
		fmt.Fprintf(e.stderr, "quota limits: defaults (no --config given, and serve has not run on %s with a config file)\n", cfg.DataDir)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "ACCOUNT\tMESSAGES\tBYTES")
	for _, a := range accts {
		u, err := st.AccountUsage(ctx, a.ID)
		if err != nil {
			return fmt.Errorf("%s: %w", a.Email, err)
		}
		maxBytes, maxMessages := cfg.Quota.Limits(a.Email)
		fmt.Fprintf(tw, "%s\t%d/%s\t%d/%s\n", a.Email, u.Messages, limitString(maxMessages), u.Bytes, limitString(maxBytes))
	}
	return tw.Flush()
}

func limitString(n int64) string {
	if n <= 0 {
		return "unlimited"
	}
	return strconv.FormatInt(n, 10)
}
