package delivery

import (
	"context"
	"errors"
	"strings"

	"github.com/mailroom/mailroom/store"
)

// Envelope is one message's routing: who sent it and the recipients
// Resolve returned.
type Envelope struct {
	From       string      // reverse-path; "" is the null sender
	Recipients []Recipient // from Resolve
	// SignDomain is the domain the queued copy is DKIM-signed with: the
	// author domain the submitter was found to own; "" signs nothing
	// (mail forwarded for unauthenticated senders, bounces).
	SignDomain string
	// Junk files the local copies in each account's Junk mailbox
	// (INBOX for an account without one): an inbound verdict.
	Junk bool
}

// Deliver makes msg durable for every recipient of env: one copy per
// local account (each account once, however many recipients resolved to
// it) and one outbound queue entry for the remote addresses (each once,
// case-insensitively), with env.From as its sender and msg.Raw, signed,
// as its bytes. With the default Committer all of it is one store
// transaction: when Deliver returns nil everything is durable, otherwise
// nothing was stored and the caller may answer with a temporary failure.
func (d *Deliverer) Deliver(ctx context.Context, env Envelope, msg store.NewMessage) (Result, error) {
	c := Commit{Message: msg, From: env.From, Raw: msg.Raw, SignDomain: env.SignDomain, Created: msg.InternalDate}
	if c.Created.IsZero() {
		c.Created = d.cfg.Now()
	}
	seenAcct := map[int64]bool{}
	seenRemote := map[string]bool{}
	for _, rc := range env.Recipients {
		for _, a := range rc.Accounts {
			if seenAcct[a.ID] {
				continue
			}
			seenAcct[a.ID] = true
			t := store.Target{AccountID: a.ID}
			if env.Junk {
				t = d.junkTarget(ctx, a.ID)
			}
			c.Targets = append(c.Targets, t)
		}
		for _, r := range rc.Remote {
			if k := strings.ToLower(r); !seenRemote[k] {
				seenRemote[k] = true
				c.Remote = append(c.Remote, r)
			}
		}
	}
	if len(c.Targets)+len(c.Remote) == 0 {
		return Result{}, ErrNoRecipients
	}
	if len(c.Remote) > 0 && !d.Outbound() {
		return Result{}, ErrRelayUnavailable
	}
	res, err := d.commit.Commit(ctx, c)
	if err != nil {
		return Result{}, err
	}
	if res.QueueID != 0 {
		d.log.Info("delivery: queued", "qid", res.QueueID, "from", env.From, "rcpts", len(c.Remote), "size", len(msg.Raw), "dkim_domain", env.SignDomain)
	}
	return res, nil
}

// junkTarget returns the Junk mailbox of an account as a delivery
// target, or INBOX when it has none.
func (d *Deliverer) junkTarget(ctx context.Context, accountID int64) store.Target {
	if mf, ok := d.dir.(mailboxFinder); ok {
		mb, err := mf.MailboxByName(ctx, accountID, "Junk")
		if err == nil {
			return store.Target{AccountID: accountID, MailboxID: mb.ID}
		}
		if !errors.Is(err, store.ErrNotFound) {
			d.log.Warn("delivery: finding Junk", "err", err)
		}
	}
	return store.Target{AccountID: accountID}
}
