package delivery

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/mailroom/mailroom/message"
	"github.com/mailroom/mailroom/sieve"
	"github.com/mailroom/mailroom/store"
)

// SieveStore is what Sieve filtering at delivery needs of the store
// besides Store: the account's active script, the vacation/duplicate
// state, the mailboxes fileinto names, and the one transaction that
// commits copies differing per account with several queue entries.
type SieveStore interface {
	ActiveSieveScript(ctx context.Context, accountID int64) (store.SieveScript, error)
	SieveScript(ctx context.Context, accountID int64, name string) (store.SieveScript, error)
	SieveStateSeen(ctx context.Context, accountID int64, kind, handle, key string, since time.Time) (bool, error)
	RecordSieveState(ctx context.Context, accountID int64, kind, handle, key string, at, expires time.Time) error
	MailboxByName(ctx context.Context, accountID int64, name string) (store.Mailbox, error)
	CreateMailbox(ctx context.Context, accountID int64, name, specialUse string) (store.Mailbox, error)
	DeliverBatch(ctx context.Context, copies []store.Copy, queued []store.QueuedMessage) ([]store.Delivered, []int64, error)
}

var _ SieveStore = (store.Store)(nil)

// SieveConfig configures filtering at delivery (Config.Sieve).
type SieveConfig struct {
	// Disabled turns Sieve off: every local copy goes to INBOX (or Junk).
	Disabled bool
	// Limits bound every evaluation; zero fields take
	// sieve.DefaultLimits.
	Limits sieve.Limits
	// Timeout bounds one evaluation, store lookups included; 0 means
	// DefaultSieveTimeout. Past it the script fails: implicit keep.
	Timeout time.Duration
	// Before and After are the admin's global scripts, run for every
	// local account before and after its own (Pigeonhole's sieve_before
	// and sieve_after), compiled with the same Limits.
	Before, After []*sieve.Script
	// GlobalScripts loads the admin's scripts that include :global
	// names (RFC 6609 §3.2); nil: none, such an include fails.
	GlobalScripts func(ctx context.Context, name string) ([]byte, error)
	// SpamHeaders are the fields spamtest/spamtestplus (RFC 5235) read
	// the scanner's score from, the first present wins; nil means
	// DefaultSpamHeaders. SpamMaxScore is the score that means
	// "certainly spam" for a bare number; 0 means DefaultSpamMaxScore.
	SpamHeaders  []string
	SpamMaxScore float64
	// VirusHeader is the field virustest reads ("Clean" / "Infected");
	// "" means DefaultVirusHeader.
	VirusHeader string
}

// DefaultSieveTimeout is SieveConfig.Timeout's default.
const DefaultSieveTimeout = 10 * time.Second

// RedirectHeader marks a message a Sieve redirect sent on, with the
// account whose script did it. A message that already carries it with
// the same account, or MaxRedirectHops of them, is not redirected again
// (kept instead): two scripts forwarding to each other stop.
const RedirectHeader = "X-Mailroom-Sieve-Redirected"

// MaxRedirectHops bounds how many Sieve redirects one message may pass.
const MaxRedirectHops = 8

// Outgoing is a message a script makes the delivery send through the
// outbound queue: a redirect, a vacation reply, a rejection.
type Outgoing struct {
	store.QueuedMessage
	SignDomain string
}

// stateRecord is Sieve state recorded once the delivery committed.
type stateRecord struct {
	accountID   int64
	kind        string
	handle, key string
	at, expires time.Time
}

// sievePlan is what one account's script made of a delivery.
type sievePlan struct {
	copies  []store.Copy
	out     []Outgoing
	records []stateRecord
}

// sieveStore returns the store's Sieve role when filtering is on and
// the commit is the one-transaction txCommitter over that store.
func (d *Deliverer) sieveStore() (SieveStore, bool) {
	if d.cfg.Sieve.Disabled {
		return nil, false
	}
	tc, ok := d.commit.(*txCommitter)
	if !ok {
		return nil, false
	}
	ss, ok := tc.st.(SieveStore)
	return ss, ok
}

// runSieve evaluates the global before scripts, acct's active script
// and the global after scripts over msg; ok is false when none applies
// (the caller delivers as without Sieve). A script that fails or exceeds
// a limit yields the implicit keep and a log line.
func (d *Deliverer) runSieve(ctx context.Context, ss SieveStore, env Envelope, acct store.Account, rcptAddr string, def store.Target, msg store.NewMessage) (*sievePlan, bool, error) {
	type named struct {
		name   string
		script *sieve.Script
		err    error
	}
	var scripts []named
	for i, sc := range d.cfg.Sieve.Before {
		scripts = append(scripts, named{fmt.Sprintf("sieve_before[%d]", i), sc, nil})
	}
	personal, err := ss.ActiveSieveScript(ctx, acct.ID)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return nil, false, err
	default:
		sc, err := d.compiled(personal)
		scripts = append(scripts, named{personal.Name, sc, err})
	}
	for i, sc := range d.cfg.Sieve.After {
		scripts = append(scripts, named{fmt.Sprintf("sieve_after[%d]", i), sc, nil})
	}
	if len(scripts) == 0 {
		return nil, false, nil
	}
	timeout := d.cfg.Sieve.Timeout
	if timeout <= 0 {
		timeout = DefaultSieveTimeout
	}
	origTo := ""
	if !strings.EqualFold(rcptAddr, acct.Email) {
		origTo = rcptAddr
	}
	smsg := newSieveMessage(msg.Raw, msg.Part)
	spamHeaders := d.cfg.Sieve.SpamHeaders
	if spamHeaders == nil {
		spamHeaders = DefaultSpamHeaders
	}
	senv := sieve.Env{
		Envelope:            sieve.Envelope{From: env.From, To: acct.Email, OrigTo: origTo},
		UserAddresses:       []string{acct.Email},
		Mailboxes:           sieveMailboxes{ss, acct.ID},
		State:               sieveState{ss, acct.ID},
		Scripts:             sieveScripts{ss, acct.ID, d.cfg.Sieve.GlobalScripts},
		Now:                 d.cfg.Now,
		SubaddressSeparator: d.cfg.RecipientDelimiter,
		Spam:                spamScore(smsg, spamHeaders, d.cfg.Sieve.SpamMaxScore),
		Virus:               virusScore(smsg, cmp.Or(d.cfg.Sieve.VirusHeader, DefaultVirusHeader)),
	}
	// The scripts run one after the other (Pigeonhole's sieve_before,
	// personal, sieve_after); their explicit actions add up, and the
	// implicit keep happens only when no script cancelled it. A script
	// that fails keeps the message whatever the others did.
	combined := &sieve.Result{}
	implicit, failed := true, false
	var implicitFlags []string
	for _, sc := range scripts {
		log := d.log.With("account", acct.Email, "script", sc.name)
		res, err := sieve.FallbackResult(), sc.err
		if err != nil {
			log.Warn("delivery: sieve script does not compile; keeping", "err", err)
		} else {
			ectx, cancel := context.WithTimeout(ctx, timeout)
			r, err := sc.script.Evaluate(ectx, smsg, senv)
			cancel()
			if err != nil {
				log.Warn("delivery: sieve script failed; keeping", "err", err)
			} else {
				res = r
			}
			failed = failed || err != nil
		}
		failed = failed || sc.err != nil
		for _, n := range res.Notes {
			log.Info("delivery: sieve", "note", n)
		}
		kept := false
		for _, a := range res.Actions {
			if k, ok := a.(sieve.Keep); ok && k.Implicit {
				kept = true
				implicitFlags = k.Flags
				continue
			}
			combined.Actions = append(combined.Actions, a)
		}
		implicit = implicit && kept
		combined.Duplicates = append(combined.Duplicates, res.Duplicates...)
	}
	if implicit || failed {
		combined.Actions = append(combined.Actions, sieve.Keep{Flags: implicitFlags, Implicit: true})
	}
	log := d.log.With("account", acct.Email)
	plan, err := d.planActions(ctx, ss, env, acct, def, msg, combined, log)
	if err != nil {
		return nil, false, err
	}
	return plan, true, nil
}

// maxCompiledScripts bounds the Deliverer's cache of compiled scripts.
const maxCompiledScripts = 1024

// scriptCache keeps compiled personal scripts by id and content hash,
// so a busy account's script is not parsed again for every message.
type scriptCache struct {
	mu sync.Mutex
	m  map[scriptKey]*sieve.Script
}

type scriptKey struct {
	id  int64
	sum [32]byte
}

// compiled returns sc compiled with the configured Limits, from the
// cache when its id and content are unchanged. Compile errors are not
// cached (they are logged at each delivery, as the script keeps).
func (d *Deliverer) compiled(sc store.SieveScript) (*sieve.Script, error) {
	k := scriptKey{sc.ID, sha256.Sum256(sc.Source)}
	c := &d.scripts
	c.mu.Lock()
	s, ok := c.m[k]
	c.mu.Unlock()
	if ok {
		return s, nil
	}
	s, err := sieve.Compile(sc.Source, d.cfg.Sieve.Limits)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxCompiledScripts {
		c.m = map[scriptKey]*sieve.Script{} // simple and bounded: start over
	}
	c.m[k] = s
	c.mu.Unlock()
	return s, nil
}

type sieveMailboxes struct {
	ss        SieveStore
	accountID int64
}

func (m sieveMailboxes) MailboxExists(ctx context.Context, name string) (bool, error) {
	_, err := m.ss.MailboxByName(ctx, m.accountID, name)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

type sieveState struct {
	ss        SieveStore
	accountID int64
}

func (s sieveState) VacationReplied(ctx context.Context, handle, sender string, since time.Time) (bool, error) {
	return s.ss.SieveStateSeen(ctx, s.accountID, store.SieveStateVacation, handle, strings.ToLower(sender), since)
}

func (s sieveState) DuplicateSeen(ctx context.Context, handle, id string, since time.Time) (bool, error) {
	return s.ss.SieveStateSeen(ctx, s.accountID, store.SieveStateDuplicate, handle, id, since)
}

// planActions maps a Result onto copies and Outgoing messages. Header
// edits apply to what every later action stores or sends.
func (d *Deliverer) planActions(ctx context.Context, ss SieveStore, env Envelope, acct store.Account, def store.Target, msg store.NewMessage, res *sieve.Result, log interface {
	Info(string, ...any)
	Warn(string, ...any)
}) (*sievePlan, error) {
	plan := &sievePlan{}
	raw := msg.Raw
	edited := false
	now := d.cfg.Now()
	// keepTo adds a copy of the current message to target.
	keepTo := func(t store.Target, flags []string) {
		m := store.NewMessage{Raw: raw, Part: msg.Part, Flags: mergeFlags(msg.Flags, flags), InternalDate: msg.InternalDate}
		if edited {
			m.Part = message.Parse(raw)
		}
		for i, c := range plan.copies {
			if bytes.Equal(c.Message.Raw, m.Raw) && slices.Equal(c.Message.Flags, m.Flags) {
				plan.copies[i].Targets = append(plan.copies[i].Targets, t)
				return
			}
		}
		plan.copies = append(plan.copies, store.Copy{Targets: []store.Target{t}, Message: m})
	}
	keepDefault := func(flags []string) { keepTo(def, flags) }
	hops := message.HeaderValues(msg.Raw[:message.ParseTop(msg.Raw).BodyStart], RedirectHeader)
	for _, a := range res.Actions {
		switch a := a.(type) {
		case sieve.AddHeader, sieve.DeleteHeader:
			raw = applyHeaderEdit(raw, a)
			edited = true
		case sieve.Keep:
			keepDefault(a.Flags)
		case sieve.Discard:
			log.Info("delivery: sieve discarded the message")
		case sieve.FileInto:
			mb, err := ss.MailboxByName(ctx, acct.ID, a.Mailbox)
			if errors.Is(err, store.ErrNotFound) && a.Create {
				mb, err = ss.CreateMailbox(ctx, acct.ID, a.Mailbox, "")
				if errors.Is(err, store.ErrExists) {
					mb, err = ss.MailboxByName(ctx, acct.ID, a.Mailbox)
				}
			}
			if err != nil {
				// RFC 5228 §4.1: a mailbox that cannot be used is an
				// error; the message is kept instead, never lost.
				log.Warn("delivery: sieve fileinto failed; keeping", "mailbox", a.Mailbox, "err", err)
				keepDefault(a.Flags)
				continue
			}
			keepTo(store.Target{AccountID: acct.ID, MailboxID: mb.ID}, a.Flags)
		case sieve.Redirect:
			loop := len(hops) >= MaxRedirectHops
			for _, h := range hops {
				if strings.EqualFold(strings.TrimSpace(h), acct.Email) {
					loop = true
				}
			}
			if loop {
				log.Warn("delivery: sieve redirect loop; keeping", "to", a.Address, "hops", len(hops))
				keepDefault(nil)
				continue
			}
			fwd := append([]byte(RedirectHeader+": "+acct.Email+"\r\n"), raw...)
			if err := d.send(ctx, plan, d.forwardSender(ctx, env.From), a.Address, fwd, ""); err != nil {
				log.Warn("delivery: sieve redirect refused; keeping", "to", a.Address, "err", err)
				keepDefault(nil)
				continue
			}
			log.Info("delivery: sieve redirect", "to", a.Address)
		case sieve.Reject:
			// RFC 5429 §2.1: refused after the SMTP transaction, so
			// the refusal goes back as a DSN; never to the null sender.
			if env.From == "" {
				log.Info("delivery: sieve reject of a message from the null sender: discarded")
				continue
			}
			dsn := d.rejection(env.From, acct.Email, a.Reason, raw, now)
			if err := d.send(ctx, plan, "", env.From, dsn, ""); err != nil {
				log.Warn("delivery: sieve rejection not sent; keeping", "to", env.From, "err", err)
				keepDefault(nil)
				continue
			}
			log.Info("delivery: sieve rejected the message", "to", env.From)
		case sieve.Vacation:
			reply := d.vacationReply(a, acct.Email, now)
			_, dom, _ := splitAddress(acct.Email)
			if err := d.send(ctx, plan, "", a.To, reply, dom); err != nil {
				log.Warn("delivery: sieve vacation reply not sent", "to", a.To, "err", err)
				continue
			}
			plan.records = append(plan.records, stateRecord{acct.ID, store.SieveStateVacation, a.Handle, strings.ToLower(a.To), now, now.Add(a.Period)})
			log.Info("delivery: sieve vacation reply", "to", a.To)
		}
	}
	for _, dup := range res.Duplicates {
		plan.records = append(plan.records, stateRecord{acct.ID, store.SieveStateDuplicate, dup.Handle, dup.ID, now, now.Add(dup.Period)})
	}
	return plan, nil
}

func mergeFlags(a, b []string) []string {
	out := slices.Clone(a)
	for _, f := range b {
		if !slices.ContainsFunc(out, func(g string) bool { return strings.EqualFold(f, g) }) {
			out = append(out, f)
		}
	}
	slices.Sort(out)
	return out
}

// send routes a message a script makes the server send: to a local
// address a copy in that account's INBOX (no script runs for it), to a
// remote one an entry in the outbound queue, both in the delivery's
// transaction.
func (d *Deliverer) send(ctx context.Context, plan *sievePlan, from, to string, raw []byte, signDomain string) error {
	rc, err := d.Resolve(ctx, Request{Addr: to, Relay: true, IgnoreQuota: true})
	if err != nil {
		return err
	}
	if len(rc.Accounts) > 0 {
		var ts []store.Target
		for _, a := range rc.Accounts {
			ts = append(ts, store.Target{AccountID: a.ID})
		}
		plan.copies = append(plan.copies, store.Copy{Targets: ts, Message: store.NewMessage{Raw: raw, Part: message.Parse(raw), InternalDate: d.cfg.Now()}})
	}
	if len(rc.Remote) > 0 {
		plan.out = append(plan.out, Outgoing{QueuedMessage: store.QueuedMessage{From: from, Recipients: rc.Remote, Raw: raw, Created: d.cfg.Now()}, SignDomain: signDomain})
	}
	return nil
}

func (d *Deliverer) messageID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return "<" + hex.EncodeToString(b[:]) + ".sieve@" + d.cfg.Hostname + ">"
}

// vacationReply builds the RFC 5230 reply: from the null sender (the
// caller queues it so), with Auto-Submitted: auto-replied (RFC 3834 §5).
func (d *Deliverer) vacationReply(v sieve.Vacation, user string, now time.Time) []byte {
	var b bytes.Buffer
	from := cleanHeaderValue(v.From)
	if from == "" {
		from = user
	}
	if !strings.Contains(from, "<") {
		from = "<" + strings.TrimSpace(from) + ">"
	}
	fmt.Fprintf(&b, "From: %s\r\n", from)
	fmt.Fprintf(&b, "To: <%s>\r\n", cleanHeaderValue(v.To))
	fmt.Fprintf(&b, "Subject: %s\r\n", mime.QEncoding.Encode("utf-8", cleanHeaderValue(v.Subject)))
	fmt.Fprintf(&b, "Date: %s\r\n", now.Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Message-ID: %s\r\n", d.messageID())
	if v.InReplyTo != "" {
		fmt.Fprintf(&b, "In-Reply-To: %s\r\n", cleanHeaderValue(v.InReplyTo))
	}
	if v.References != "" {
		fmt.Fprintf(&b, "References: %s\r\n", cleanHeaderValue(v.References))
	}
	b.WriteString("Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n")
	if v.MIME {
		// The reason is a MIME entity: its own header, then its body.
		b.WriteString(crlf(strings.TrimLeft(v.Reason, "\r\n")))
		return b.Bytes()
	}
	b.WriteString("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
	qp := quotedprintable.NewWriter(&b)
	_, _ = qp.Write([]byte(crlf(v.Reason)))
	_ = qp.Close()
	return b.Bytes()
}

// rejection builds the DSN (RFC 3464) that carries a Sieve reject back
// to the sender (RFC 5429 §2.1): the reason, the failed recipient with
// status 5.7.1, and the rejected message's header.
func (d *Deliverer) rejection(sender, rcpt, reason string, raw []byte, now time.Time) []byte {
	var b bytes.Buffer
	boundary := strings.Trim(d.messageID(), "<>")
	subject := ""
	hdr := raw[:message.ParseTop(raw).BodyStart]
	if v := message.HeaderValues(hdr, "Subject"); len(v) > 0 {
		subject = message.DecodeHeader(v[0])
	}
	fmt.Fprintf(&b, "From: Mail Delivery System <MAILER-DAEMON@%s>\r\n", d.cfg.Hostname)
	fmt.Fprintf(&b, "To: <%s>\r\n", sender)
	fmt.Fprintf(&b, "Subject: %s\r\n", mime.QEncoding.Encode("utf-8", cleanHeaderValue("Rejected: "+subject)))
	fmt.Fprintf(&b, "Date: %s\r\n", now.Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Message-ID: %s\r\n", d.messageID())
	b.WriteString("Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n")
	fmt.Fprintf(&b, "Content-Type: multipart/report; report-type=delivery-status; boundary=\"%s\"\r\n\r\n", boundary)
	fmt.Fprintf(&b, "--%s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n", boundary)
	qp := quotedprintable.NewWriter(&b)
	fmt.Fprintf(qp, "Your message to <%s> was rejected by the recipient's mail filter:\r\n\r\n%s\r\n", rcpt, crlf(reason))
	_ = qp.Close()
	fmt.Fprintf(&b, "\r\n--%s\r\nContent-Type: message/delivery-status\r\n\r\n", boundary)
	fmt.Fprintf(&b, "Reporting-MTA: dns; %s\r\nArrival-Date: %s\r\n\r\n", d.cfg.Hostname, now.Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Final-Recipient: rfc822; %s\r\nAction: failed\r\nStatus: 5.7.1\r\nDiagnostic-Code: smtp; 550 5.7.1 rejected by the recipient's Sieve filter\r\n", rcpt)
	fmt.Fprintf(&b, "\r\n--%s\r\nContent-Type: text/rfc822-headers\r\n\r\n", boundary)
	b.Write(bytes.TrimRight(hdr, "\r\n"))
	fmt.Fprintf(&b, "\r\n\r\n--%s--\r\n", boundary)
	return b.Bytes()
}

// crlf writes every line ending as CRLF.
func crlf(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.ReplaceAll(s, "\n", "\r\n")
}
