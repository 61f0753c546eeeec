package smtpserver

import (
	"context"
	"errors"

	"github.com/mailroom/mailroom/store"
)

// Quota gives each account's storage limits; *config.Quota implements it.
type Quota interface {
	// Limits returns the byte and message limits of the account with
	// this email; 0 is unlimited.
	Limits(email string) (storage, messages int64)
}

// errMailboxFull refuses a recipient whose account is at or over quota.
var errMailboxFull = errors.New("smtpserver: recipient over quota")

// checkQuota refuses a local recipient whose account already uses at
// least its limit of bytes or messages (Config.Quota). The limit is soft,
// as with Dovecot's grace: a message that crosses it is accepted, the
// next one is refused with a temporary 452 4.2.2, so the sender retries
// and the mail arrives once the owner makes room.
func (ss *session) checkQuota(ctx context.Context, acct store.Account) error {
	q := ss.s.cfg.Quota
	if q == nil {
		return nil
	}
	maxBytes, maxMessages := q.Limits(acct.Email)
	if maxBytes <= 0 && maxMessages <= 0 {
		return nil
	}
	u, err := ss.s.cfg.Store.AccountUsage(ctx, acct.ID)
	if err != nil {
		return err
	}
	if (maxBytes > 0 && u.Bytes >= maxBytes) || (maxMessages > 0 && u.Messages >= maxMessages) {
		return errMailboxFull
	}
	return nil
}
