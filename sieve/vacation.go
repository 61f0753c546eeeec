package sieve

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"
)

// vacation implements RFC 5230 with the RFC 3834 checks the interpreter
// can decide from the envelope, the header and State. A vacation that
// decides not to answer still counts as executed (it conflicts with
// reject either way, RFC 5429 §2.1).
func (r *runner) vacation(c *cmd) error {
	if r.rejected {
		return r.errf("vacation conflicts with an earlier reject")
	}
	if r.vacationDone {
		return r.errf("more than one vacation action")
	}
	r.vacationDone = true
	str := func(tag string) string {
		if a, ok := c.tags[tag]; ok {
			return r.expand(a.Strs[0])
		}
		return ""
	}
	reason := r.expand(c.pos[0].Strs[0])
	subject, from, handle := str("subject"), str("from"), str("handle")
	_, mime := c.tags["mime"]
	period := r.lim.VacationDefaultPeriod
	if a, ok := c.tags["days"]; ok {
		period = time.Duration(a.Num) * 24 * time.Hour
	}
	if a, ok := c.tags["seconds"]; ok {
		period = time.Duration(a.Num) * time.Second
	}
	if period < r.lim.VacationMinPeriod {
		period = r.lim.VacationMinPeriod
	}
	if period > r.lim.VacationMaxPeriod {
		period = r.lim.VacationMaxPeriod
	}
	if handle == "" {
		// RFC 5230 §4.2: without :handle, the reply's content identifies it.
		sum := sha256.Sum256([]byte(reason + "\x00" + subject + "\x00" + from + "\x00" + map[bool]string{true: "mime"}[mime]))
		handle = hex.EncodeToString(sum[:16])
	}
	var mine []string
	mine = append(mine, r.env.UserAddresses...)
	for _, a := range []string{r.env.Envelope.To, r.env.Envelope.OrigTo} {
		if a != "" {
			mine = append(mine, a)
		}
	}
	if a, ok := c.tags["addresses"]; ok {
		mine = append(mine, r.expandList(a.Strs)...)
	}
	sender := r.env.Envelope.From
	if why := r.noReplyReason(sender, mine); why != "" {
		r.note("vacation: no reply to %q: %s", sender, why)
		return nil
	}
	if r.env.State != nil {
		done, err := r.env.State.VacationReplied(r.ctx, handle, strings.ToLower(sender), r.now.Add(-period))
		if err != nil {
			return r.errf("vacation: %v", err)
		}
		if done {
			r.note("vacation: no reply to %q: already answered within %v", sender, period)
			return nil
		}
	}
	if subject == "" {
		orig := ""
		if s := r.header("Subject"); len(s) > 0 {
			orig = s[0]
		}
		subject = "Auto: " + orig
	}
	if from == "" {
		from = r.env.Envelope.To
	}
	msgID := ""
	if v := r.header("Message-ID"); len(v) > 0 {
		msgID = strings.TrimSpace(v[0])
	}
	refs := msgID
	if v := r.header("References"); len(v) > 0 {
		refs = strings.TrimSpace(strings.TrimSpace(v[0]) + " " + msgID)
	}
	return r.add(Vacation{To: sender, From: from, Subject: subject, Reason: reason, MIME: mime,
		Handle: handle, Period: period, InReplyTo: msgID, References: refs})
}

// noReplyReason applies RFC 3834 §2 and RFC 5230 §4.5: "" means reply.
func (r *runner) noReplyReason(sender string, mine []string) string {
	if sender == "" {
		return "null sender"
	}
	local := strings.ToLower(sender)
	if i := strings.LastIndexByte(local, '@'); i >= 0 {
		local = local[:i]
	}
	switch {
	case local == "mailer-daemon", local == "listserv", local == "majordomo", local == "postmaster",
		strings.HasPrefix(local, "owner-"), strings.HasSuffix(local, "-request"), strings.HasSuffix(local, "-owner"):
		return "sender is a list or system address"
	}
	for _, m := range mine {
		if strings.EqualFold(m, sender) {
			return "sender is the user"
		}
	}
	for _, v := range r.header("Auto-Submitted") {
		tok := strings.ToLower(strings.TrimSpace(strings.SplitN(v, ";", 2)[0]))
		if tok != "no" {
			return "Auto-Submitted: " + tok
		}
	}
	for _, v := range r.header("Precedence") {
		switch p := strings.ToLower(strings.TrimSpace(v)); p {
		case "bulk", "list", "junk":
			return "Precedence: " + p
		}
	}
	for _, h := range []string{"List-Id", "List-Help", "List-Subscribe", "List-Unsubscribe", "List-Post", "List-Owner", "List-Archive"} {
		if len(r.header(h)) > 0 {
			return "mailing list message (" + h + ")"
		}
	}
	// The user must be a visible recipient (RFC 5230 §4.5).
	for _, h := range []string{"To", "Cc", "Bcc", "Resent-To", "Resent-Cc", "Resent-Bcc"} {
		for _, v := range r.header(h) {
			for _, a := range parseAddresses(v) {
				for _, m := range mine {
					if strings.EqualFold(a, m) {
						return ""
					}
				}
			}
		}
	}
	return "the user is not in To/Cc/Bcc"
}
