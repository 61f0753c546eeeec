package smtpserver

import (
	"context"
	"net"
	"strings"

	"github.com/mailroom/mailroom/dnsbl"
	"github.com/mailroom/mailroom/milter"
)

// Filter is the content filter chain of a listener: the milters
// ([[milters]]); *milter.Chain implements it. The session asks it at
// MAIL, RCPT and after the message was received; its verdicts become
// replies (filterError, mapped in replyFor), Junk (quarantine) or a 250
// with nothing stored (discard).
type Filter interface {
	Begin(info milter.ConnInfo) *milter.Session
}

var _ Filter = (*milter.Chain)(nil)

// filterSession returns the connection's milter session, started at the
// first MAIL; nil without a Filter.
func (ss *session) filterSession() *milter.Session {
	if ss.s.cfg.Filter == nil {
		return nil
	}
	if ss.filter == nil {
		info := milter.ConnInfo{Daemon: ss.s.cfg.Mode.String(), OurHostname: ss.s.cfg.Hostname}
		if ta, ok := ss.remote.(*net.TCPAddr); ok {
			info.IP, info.Port = ta.IP, uint16(ta.Port)
			if name := ss.clientName(); name != ta.IP.String() {
				info.Hostname = name
			} else {
				info.Hostname = "[" + name + "]"
			}
		}
		if ss.c != nil {
			info.HELO = sanitize(ss.c.Hostname())
		}
		ss.filter = ss.s.cfg.Filter.Begin(info)
	}
	return ss.filter
}

// clientName is the client's reverse DNS name (or its IP), looked up
// once per connection and shared by the milters and the Received field.
func (ss *session) clientName() string {
	if ss.rdns == "" {
		ss.rdns = ss.reverseName(remoteIP(ss.remote))
	}
	return ss.rdns
}

// filterError turns a milter verdict at MAIL, RCPT or the end of the
// message into the error replyFor maps: the milter's own reply when it
// gave a usable one, else errFilterReject / errFilterTempFail. Verdicts
// that let the message in (continue, accept, quarantine, discard) are
// nil.
func filterError(v milter.Verdict) error {
	switch v.Action {
	case milter.Reject, milter.TempFail:
	default:
		return nil
	}
	if v.Reply != nil {
		return v.Reply
	}
	if v.Action == milter.TempFail {
		return errFilterTempFail
	}
	return errFilterReject
}

// filterLog is the log text of a verdict.
func filterLog(v milter.Verdict) []any {
	args := []any{"milter", v.Milter, "action", v.Action.String()}
	if v.Reason != "" {
		args = append(args, "reason", v.Reason)
	}
	if v.Reply != nil {
		args = append(args, "reply", strings.TrimSpace(v.Reply.Text))
	}
	return args
}

// Blocklist checks the IP of unauthenticated MX clients against DNS
// blocklists ([dnsbl]); *dnsbl.Checker implements it.
type Blocklist interface {
	Check(ctx context.Context, ip net.IP) dnsbl.Result
}

var _ Blocklist = (*dnsbl.Checker)(nil)

// blocklisted runs Config.Blocklist once per connection, for an
// unauthenticated client of the MX listener: a listing in a reject
// zone is the *dnsbl.Listing replyFor turns into 554 5.7.1 with the
// zone's text, listings in header zones become header fields
// (dnsblHeaders).
func (ss *session) blocklisted() error {
	bl := ss.s.cfg.Blocklist
	if bl == nil || ss.s.cfg.Mode != ModeMX || ss.account != nil {
		return nil
	}
	if ss.dnsbl == nil {
		var ip net.IP
		if ta, ok := ss.remote.(*net.TCPAddr); ok {
			ip = ta.IP
		}
		res := bl.Check(ss.ctx, ip)
		ss.dnsbl = &res
		if res.Reject != nil {
			ss.log.Info("smtp: client blocklisted", "zone", res.Reject.Zone, "answer", res.Reject.Answer.String(), "text", res.Reject.Text)
		}
	}
	if ss.dnsbl.Reject != nil {
		return ss.dnsbl.Reject
	}
	return nil
}

// dnsblHeaders are the header fields of the client's listings in header
// zones.
func (ss *session) dnsblHeaders() string {
	if ss.dnsbl == nil || ss.account != nil {
		return ""
	}
	var b strings.Builder
	for _, l := range ss.dnsbl.Headers {
		b.WriteString(traceField(l.HeaderField()))
	}
	return b.String()
}
