package main

import (
	"context"
	"fmt"
	"strconv"
	"text/tabwriter"

	"github.com/mailroom/mailroom/store"
)

// printUsage is `mailroom user list --usage`: one line per account with
// its messages and bytes over all mailboxes, each against the account's
// [quota] limit of the configuration the flags name.
func printUsage(ctx context.Context, e env, sf *storeFlags, st store.Store, accts []store.Account) error {
	cfg, err := sf.loadConfig()
	if err != nil {
		return err
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
