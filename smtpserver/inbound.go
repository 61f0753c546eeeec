package smtpserver

import (
	"context"
	"net"

	"github.com/mailroom/mailroom/mailauth"
)

// Inbound checks mail from unauthenticated MX clients (SPF, DKIM, DMARC);
// *mailauth.Checker implements it.
type Inbound interface {
	Check(ctx context.Context, in mailauth.Input) mailauth.Verdict
}

var _ Inbound = (*mailauth.Checker)(nil)

// checkInbound runs Config.Inbound on a message from an unauthenticated
// MX client. It returns the Authentication-Results field to add (""
// when no check ran; made safe for a header by traceField) and whether
// the message goes to Junk; a DMARC p=reject failure is errDMARCReject.
func (ss *session) checkInbound(body []byte) (string, bool, error) {
	in := ss.s.cfg.Inbound
	if in == nil || ss.s.cfg.Mode != ModeMX || ss.account != nil {
		return "", false, nil
	}
	var ip net.IP
	if ta, ok := ss.remote.(*net.TCPAddr); ok {
		ip = ta.IP
	}
	helo := ""
	if ss.c != nil {
		// The HELO name reaches the Authentication-Results field
		// (smtp.helo=): no control characters.
		helo = sanitize(ss.c.Hostname())
	}
	v := in.Check(ss.ctx, mailauth.Input{IP: ip, HELO: helo, MailFrom: ss.from, Raw: body})
	ss.log.Info("smtp: inbound checks", "spf", v.SPF, "dmarc", v.DMARC, "action", v.Action)
	m := ss.s.cfg.Metrics
	m.AuthVerdict("spf", string(v.SPF))
	if len(v.DKIM) == 0 {
		m.AuthVerdict("dkim", "none")
	}
	for _, d := range v.DKIM {
		m.AuthVerdict("dkim", string(d.Value))
	}
	m.AuthVerdict("dmarc", string(v.DMARC))
	if v.Action == mailauth.Reject {
		return "", false, errDMARCReject
	}
	return traceField(v.Header), v.Action == mailauth.Quarantine, nil
}
