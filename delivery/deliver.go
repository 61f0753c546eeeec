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
	// (INBOX for an account without one): an inbound verdict. With a
	// Sieve script, Junk is where the script's keep goes.
	Junk bool
	// NoSieve delivers without running the accounts' Sieve scripts:
	// delivery status notifications (RFC 3834: never auto-answer them)
	// and imports.
	NoSieve bool
	// Submitter is the authenticated account that submitted the
	// message; its outbound limits (Config.OutboundLimits) apply. nil
	// for inbound mail and the server's own messages.
	Submitter *store.Account
}

// Deliver makes msg durable for every recipient of env: one copy per
// local account (each account once, however many recipients resolved to
// it) and one outbound queue entry for the remote addresses (each once,
// case-insensitively), with env.From as its sender and msg.Raw, signed,
// as its bytes. With the default Committer all of it is one store
// transaction: when Deliver returns nil everything is durable, otherwise
// nothing was stored and the caller may answer with a temporary failure.
//
// Unless env.NoSieve, each local account's Sieve scripts decide what
// becomes of its copy (sieve.go); what they store and send is part of
// the same transaction. A delivery every script discarded returns an
// empty Result and nil.
func (d *Deliverer) Deliver(ctx context.Context, env Envelope, msg store.NewMessage) (Result, error) {
	c := Commit{Message: msg, From: env.From, Raw: msg.Raw, SignDomain: env.SignDomain, Created: msg.InternalDate}
	if c.Created.IsZero() {
		c.Created = d.cfg.Now()
	}
	seenAcct := map[int64]bool{}
	seenRemote := map[string]bool{}
	type local struct {
		acct store.Account
		addr string // the recipient address it came from
		t    store.Target
	}
	var locals []local
	var direct, forwarded []string // remote recipients as given, through aliases
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
			locals = append(locals, local{a, rc.Addr, t})
		}
		for _, r := range rc.Remote {
			if k := strings.ToLower(r); !seenRemote[k] {
				seenRemote[k] = true
				c.Remote = append(c.Remote, r)
				if rc.ViaAlias {
					forwarded = append(forwarded, r)
				} else {
					direct = append(direct, r)
				}
			}
		}
	}
	if len(c.Targets)+len(c.Remote) == 0 {
		return Result{}, ErrNoRecipients
	}
	if len(c.Remote) > 0 && !d.Outbound() {
		return Result{}, ErrRelayUnavailable
	}
	// Per-account abuse limits on submission (outbound.go).
	var oc *outboundCheck
	if env.Submitter != nil {
		var err error
		if oc, err = d.checkOutbound(ctx, *env.Submitter, env.Recipients, c.Remote); err != nil {
			return Result{}, err
		}
	}
	// Forwarded to another domain: SRS sender (srs.go).
	d.applySRS(ctx, &c, direct, forwarded, env)
	// Sieve: each account with an active script gets what its script
	// says; the others their plain copy. All of it commits together.
	var records []stateRecord
	if ss, ok := d.sieveStore(); ok && !env.NoSieve && len(locals) > 0 {
		var plain []store.Target
		filtered := false
		for _, l := range locals {
			plan, has, err := d.runSieve(ctx, ss, env, l.acct, l.addr, l.t, msg)
			if err != nil {
				return Result{}, err
			}
			if !has {
				plain = append(plain, l.t)
				continue
			}
			filtered = true
			c.Copies = append(c.Copies, plan.copies...)
			c.Extra = append(c.Extra, plan.out...)
			records = append(records, plan.records...)
		}
		if filtered {
			if len(plain) > 0 {
				c.Copies = append([]store.Copy{{Targets: plain, Message: msg}}, c.Copies...)
			}
			c.Targets = nil
			if len(c.Copies) == 0 && len(c.Extra) == 0 && len(c.Remote) == 0 {
				// Every copy discarded and nothing to send: the
				// delivery succeeded with nothing stored.
				d.recordSieveState(ctx, ss, records)
				return Result{}, nil
			}
		}
	}
	res, err := d.commit.Commit(ctx, c)
	if err != nil {
		return Result{}, err
	}
	d.recordOutbound(ctx, oc)
	if j := d.cfg.Journal; j != nil {
		outcome := "inbox"
		switch {
		case c.Targets == nil && len(c.Copies) > 0:
			outcome = "filtered"
		case env.Junk:
			outcome = "junk"
		}
		now := d.cfg.Now()
		for _, l := range locals {
			j.LocalDelivery(now, env.From, l.acct.Email, outcome)
		}
	}
	if len(records) > 0 {
		ss, _ := d.sieveStore()
		d.recordSieveState(ctx, ss, records)
	}
	if res.QueueID != 0 {
		d.log.Info("delivery: queued", "qid", res.QueueID, "from", env.From, "rcpts", len(c.Remote), "size", len(msg.Raw), "dkim_domain", env.SignDomain)
	}
	return res, nil
}

// recordSieveState records vacation replies and duplicate ids once the
// delivery committed (RFC 5230 §4.2, RFC 7352 §3). A failure costs at
// most a second reply later, so it is logged, not returned.
func (d *Deliverer) recordSieveState(ctx context.Context, ss SieveStore, records []stateRecord) {
	// The delivery is durable: a client that hangs up now must not
	// cost the record.
	ctx = context.WithoutCancel(ctx)
	for _, r := range records {
		if err := ss.RecordSieveState(ctx, r.accountID, r.kind, r.handle, r.key, r.at, r.expires); err != nil {
			d.log.Warn("delivery: recording sieve state", "account", r.accountID, "kind", r.kind, "err", err)
		}
	}
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
