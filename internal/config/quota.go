package config

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Quota is the [quota] table: per-account storage limits, enforced at
// SMTP RCPT (452 4.2.2) and on IMAP APPEND/COPY (NO [OVERQUOTA]) and
// reported by IMAP GETQUOTAROOT (RFC 9208). Storage and Messages are the
// default of every account; 0 means unlimited (the default).
type Quota struct {
	Storage  int64 `toml:"storage"`  // bytes, the sum of the messages' sizes
	Messages int64 `toml:"messages"` // message count over all mailboxes
	// Account overrides the defaults for single accounts:
	// [quota.account."user@example.org"]. A key absent from an override
	// keeps the default; an explicit 0 makes that resource unlimited for
	// the account. Emails match case-insensitively.
	Account map[string]QuotaOverride `toml:"account"`
}

// QuotaOverride is one [quota.account."email"] table.
type QuotaOverride struct {
	Storage  *int64 `toml:"storage"`
	Messages *int64 `toml:"messages"`
}

// Limits returns the storage limit (bytes) and message limit of the
// account with this email; 0 is unlimited. It is what the SMTP and IMAP
// servers ask (their Quota interfaces).
func (q *Quota) Limits(email string) (storage, messages int64) {
	if q == nil {
		return 0, 0
	}
	storage, messages = q.Storage, q.Messages
	o, ok := q.Account[email]
	if !ok {
		for k, v := range q.Account {
			if strings.EqualFold(k, email) {
				o, ok = v, true
				break
			}
		}
	}
	if ok {
		if o.Storage != nil {
			storage = *o.Storage
		}
		if o.Messages != nil {
			messages = *o.Messages
		}
	}
	return storage, messages
}

func (q *Quota) validate() []error {
	var errs []error
	if q.Storage < 0 || q.Messages < 0 {
		errs = append(errs, errors.New("quota.storage and quota.messages must not be negative (0 is unlimited)"))
	}
	emails := make([]string, 0, len(q.Account))
	for e := range q.Account {
		emails = append(emails, e)
	}
	sort.Strings(emails)
	seen := map[string]string{}
	for _, e := range emails {
		o := q.Account[e]
		if (o.Storage != nil && *o.Storage < 0) || (o.Messages != nil && *o.Messages < 0) {
			errs = append(errs, fmt.Errorf("quota.account.%q: limits must not be negative (0 is unlimited)", e))
		}
		if !strings.Contains(e, "@") {
			errs = append(errs, fmt.Errorf("quota.account.%q: want an email address", e))
		}
		if prev, dup := seen[strings.ToLower(e)]; dup {
			errs = append(errs, fmt.Errorf("quota.account.%q: same account as %q", e, prev))
		}
		seen[strings.ToLower(e)] = e
	}
	return errs
}
