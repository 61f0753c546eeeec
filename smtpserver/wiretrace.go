package smtpserver

import (
	"bytes"
	"log/slog"
	"strconv"
	"strings"
)

// Debug traces of the SMTP dialogue (log_level = debug), as the IMAP and
// POP3 servers write them: one "smtp trace" line per exchange, logged
// once its reply is complete, with the client's command (c) and the
// server's reply (s, lines joined by "\n"). The greeting has no command;
// a DATA message appears as "[message data]", never its content.
// Credentials never reach the log: the initial response of AUTH and every
// line the client sends from AUTH until the exchange's final reply (the
// SASL responses, even pipelined ones) are written as "***".
//
// The rewriter (rewrite.go), which already frames the client's stream the
// way go-smtp does, hands each command line to command; conn hands every
// reply line it writes to reply. Every client unit gets exactly one final
// reply, so replies are paired with commands first in, first out.
type wireTrace struct {
	log     *slog.Logger
	cmds    []string // client units without their final reply yet, oldest first
	dropped int      // units not kept because cmds was full
	lines   []string // lines of the reply being written
	sasl    bool     // inside an AUTH exchange: client lines are secret
	saslEnd int      // the unit of the AUTH line (rewriter.sent)
}

// Bounds of what a trace keeps per connection.
const (
	traceMaxLine    = 512 // bytes of one traced line
	traceMaxPending = 64  // commands waiting for their reply
	traceMaxReply   = 32  // lines of one reply
)

const traceSecret = "***"

// command records a client line (without its line end) as go-smtp
// parses it (cmd, cmdOK); unit is its number (rewriter.sent).
func (t *wireTrace) command(line []byte, cmd string, cmdOK bool, unit int) {
	s := string(line)
	switch {
	case t.sasl:
		s = traceSecret
	case cmdOK && cmd == "AUTH":
		t.sasl, t.saslEnd = true, unit
		// "AUTH mechanism [initial-response]" (RFC 4954 §4).
		if f := strings.Fields(s); len(f) > 2 {
			s = f[0] + " " + f[1] + " " + traceSecret
		}
	}
	t.push(s)
}

// data records a DATA message of n bytes as a unit.
func (t *wireTrace) data(n int) { t.push("[message data, " + strconv.Itoa(n) + " bytes]") }

func (t *wireTrace) push(s string) {
	if len(t.cmds) >= traceMaxPending {
		t.dropped++
		return
	}
	t.cmds = append(t.cmds, clip(s))
}

// reply records one reply line written to the client; replies is the
// number of final reply lines after the greeting once it is counted
// (rewriter.replies). A final line completes an exchange, which is
// logged.
func (t *wireTrace) reply(p []byte, greeting bool, replies int) {
	for len(p) > 0 {
		line := p
		if i := bytes.IndexByte(p, '\n'); i >= 0 {
			line, p = p[:i+1], p[i+1:]
		} else {
			p = nil
		}
		l := bytes.TrimRight(line, "\r\n")
		if len(t.lines) < traceMaxReply {
			t.lines = append(t.lines, clip(string(l)))
		}
		if len(l) >= 4 && l[3] == '-' {
			continue
		}
		// A final reply line.
		var cmd string
		if !greeting {
			if len(t.cmds) > 0 {
				cmd, t.cmds = t.cmds[0], t.cmds[1:]
			} else if t.dropped > 0 {
				cmd, t.dropped = "[not kept]", t.dropped-1
			}
		}
		code := string(l[:min(3, len(l))])
		if t.sasl && code != "334" && replies >= t.saslEnd {
			t.sasl = false
		}
		t.log.Debug("smtp trace", "c", cmd, "s", strings.Join(t.lines, "\n"))
		t.lines = t.lines[:0]
		greeting = false
	}
}

// clip bounds a traced line.
func clip(s string) string {
	if len(s) > traceMaxLine {
		return s[:traceMaxLine] + "..."
	}
	return s
}
