package queue

import (
	"fmt"
	"net/textproto"
	"strconv"
	"strings"
	"unicode/utf8"
)

// mailTransaction runs MAIL FROM, one RCPT TO per recipient and DATA on
// c, after hello. With PIPELINING (RFC 2920 §3.1) the commands go out in
// one write and the replies are read in order; without it each command
// waits for its reply, and no RCPT follows a refused MAIL, no DATA a
// transaction without an accepted recipient. An error means the server
// did not carry the transaction (try the next one); per-recipient and
// DATA replies come back as outcomes.
func (q *Queue) mailTransaction(c *smtpConn, h hop, ext map[string]string, from string, rcpts []string, raw []byte) ([]outcome, error) {
	defer c.quit()
	mail := "MAIL FROM:<" + from + ">"
	if _, ok := ext["8BITMIME"]; ok {
		mail += " BODY=8BITMIME"
	}
	if _, ok := ext["SIZE"]; ok {
		mail += " SIZE=" + strconv.Itoa(len(raw)) // RFC 1870 §6
	}
	if !ascii(from) || !allASCII(rcpts) {
		if _, ok := ext["SMTPUTF8"]; !ok {
			return nil, permErr("%s does not offer SMTPUTF8, which the addresses need (RFC 6531)", h.host)
		}
		mail += " SMTPUTF8"
	}
	if strings.ContainsAny(mail, "\r\n") {
		return nil, permErr("%s: MAIL FROM: CR or LF in the address", h.host)
	}
	for _, r := range rcpts {
		if strings.ContainsAny(r, "\r\n") {
			return nil, permErr("%s: RCPT TO: CR or LF in the address", h.host)
		}
	}
	_, pipelining := ext["PIPELINING"]

	outs := make([]outcome, len(rcpts))
	for i, r := range rcpts {
		outs[i].rcpt = r
	}
	var mailRe, dataRe reply
	var accepted []int
	var err error
	if pipelining {
		c.deadline(2 * q.cfg.CommandTimeout)
		c.cmd("%s", mail)
		for _, r := range rcpts {
			c.cmd("RCPT TO:<%s>", r)
		}
		c.cmd("DATA")
		if err := c.flush(); err != nil {
			return nil, tempErr("%s: %v", h.host, err)
		}
		// Each reply gets its own deadline: a server may check every RCPT.
		c.deadline(q.cfg.CommandTimeout)
		if mailRe, err = c.readReply(); err != nil {
			return nil, tempErr("%s: MAIL FROM: %v", h.host, err)
		}
		for i := range rcpts {
			c.deadline(q.cfg.CommandTimeout)
			re, err := c.readReply()
			if err != nil {
				return nil, tempErr("%s: RCPT TO: %v", h.host, err)
			}
			if q.rcptOutcome(h, &outs[i], re) {
				accepted = append(accepted, i)
			}
		}
		c.deadline(q.cfg.CommandTimeout)
		if dataRe, err = c.readReply(); err != nil {
			return nil, tempErr("%s: DATA: %v", h.host, err)
		}
	} else {
		if mailRe, err = c.exchange("%s", mail); err != nil {
			return nil, tempErr("%s: MAIL FROM: %v", h.host, err)
		}
		for i, r := range rcpts {
			if mailRe.code != codeOK {
				break
			}
			re, err := c.exchange("RCPT TO:<%s>", r)
			if err != nil {
				return nil, tempErr("%s: RCPT TO: %v", h.host, err)
			}
			if q.rcptOutcome(h, &outs[i], re) {
				accepted = append(accepted, i)
			}
		}
		if mailRe.code == codeOK && len(accepted) > 0 {
			if dataRe, err = c.exchange("DATA"); err != nil {
				return nil, tempErr("%s: DATA: %v", h.host, err)
			}
		}
	}

	if mailRe.code != codeOK || len(accepted) == 0 {
		if dataRe.code == codeStartData {
			// RFC 2920 §3.1: DATA went through with no recipient;
			// send an empty message, which the server must reject.
			c.deadline(2 * q.cfg.CommandTimeout)
			if c.cmd(".") == nil && c.flush() == nil {
				c.readReply()
			}
		}
		if mailRe.code != codeOK {
			e := replyError(h, "MAIL FROM", mailRe)
			if isPermanent(e) {
				return failAll(rcpts, e), nil
			}
			return nil, e
		}
		return outs, nil
	}
	dataErr := func(err error) ([]outcome, error) {
		for _, i := range accepted {
			outs[i].err, outs[i].text = err, err.Error()
		}
		return outs, nil
	}
	if dataRe.code != codeStartData {
		return dataErr(replyError(h, "DATA", dataRe))
	}
	c.deadline(2 * q.cfg.CommandTimeout)
	dw := textproto.NewWriter(c.bw).DotWriter()
	if _, err := dw.Write(raw); err != nil {
		return dataErr(tempErr("%s: DATA: %v", h.host, err))
	}
	if err := dw.Close(); err != nil { // writes CRLF.CRLF and flushes
		return dataErr(tempErr("%s: DATA: %v", h.host, err))
	}
	final, err := c.readReply()
	if err != nil {
		return dataErr(tempErr("%s: end of DATA: %v", h.host, err))
	}
	if final.code != codeOK {
		return dataErr(replyError(h, "end of DATA", final))
	}
	text := fmt.Sprintf("%s said: %d %s", h.host, final.code, final.text())
	for _, i := range accepted {
		outs[i].text = text
	}
	return outs, nil
}

// rcptOutcome records a refused recipient's reply in o; it reports
// whether the recipient was accepted.
func (q *Queue) rcptOutcome(h hop, o *outcome, re reply) bool {
	if re.code == codeOK || re.code == codeWillForward {
		return true
	}
	e := replyError(h, "RCPT TO", re)
	o.err, o.text = e, e.Error()
	return false
}

func ascii(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func allASCII(ss []string) bool {
	for _, s := range ss {
		if !ascii(s) {
			return false
		}
	}
	return true
}
