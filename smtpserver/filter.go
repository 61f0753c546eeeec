package smtpserver

import (
	"net"
	"strings"

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
