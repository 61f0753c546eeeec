package queue

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"strconv"
	"strings"
	"time"
)

// Reply codes the outbound client acts on (RFC 5321 §4.2.2).
const (
	codeServiceReady = 220 // greeting; STARTTLS go-ahead (RFC 3207 §4)
	codeOK           = 250 // requested action completed
	codeStartData    = 354 // start mail input (RFC 5321 §4.2.2)
)

const (
	// maxReplyLine bounds one reply line; RFC 5321 §4.5.3.1.5 allows 512
	// octets, servers are given some slack.
	maxReplyLine = 4096
	// maxReplyLines bounds a multi-line reply (a long EHLO list).
	maxReplyLines = 128
)

// reply is one (possibly multi-line) SMTP reply.
type reply struct {
	code  int
	lines []string // text after the code and separator
}

func (r reply) text() string { return strings.Join(r.lines, " ") }

// smtpConn is the small client used for a pipelined transaction (RFC 2920):
// commands are buffered and flushed together, replies are read in order.
type smtpConn struct {
	nc      net.Conn
	br      *bufio.Reader
	bw      *bufio.Writer
	timeout time.Duration
	broken  bool // a read failed: do not wait for more replies
}

func newSMTPConn(nc net.Conn, timeout time.Duration) *smtpConn {
	return &smtpConn{nc: nc, br: bufio.NewReaderSize(nc, maxReplyLine), bw: bufio.NewWriter(nc), timeout: timeout}
}

func (c *smtpConn) deadline(d time.Duration) { c.nc.SetDeadline(time.Now().Add(d)) }

// cmd buffers one command line; flush sends it.
func (c *smtpConn) cmd(format string, args ...any) error {
	line := fmt.Sprintf(format, args...)
	if strings.ContainsAny(line, "\r\n") {
		return errors.New("CR or LF in command")
	}
	_, err := c.bw.WriteString(line + "\r\n")
	return err
}

func (c *smtpConn) flush() error { return c.bw.Flush() }

// readReply reads one reply. Lines longer than maxReplyLine, more than
// maxReplyLines lines, a code outside 200-599 or one that changes between
// lines are errors, never panics.
func (c *smtpConn) readReply() (reply, error) {
	r, err := c.readReplyLines()
	if err != nil {
		c.broken = true
	}
	return r, err
}

func (c *smtpConn) readReplyLines() (reply, error) {
	var r reply
	for n := 0; ; n++ {
		if n == maxReplyLines {
			return r, errors.New("reply has too many lines")
		}
		b, err := c.br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			return r, errors.New("reply line too long")
		}
		if err != nil {
			return r, err
		}
		line := strings.TrimRight(string(b), "\r\n")
		code, more, text, err := parseReplyLine(line)
		if err != nil {
			return r, err
		}
		if n > 0 && code != r.code {
			return r, fmt.Errorf("reply code changed from %d to %d", r.code, code)
		}
		r.code = code
		r.lines = append(r.lines, text)
		if !more {
			return r, nil
		}
	}
}

func parseReplyLine(line string) (code int, more bool, text string, err error) {
	if len(line) < 3 {
		return 0, false, "", fmt.Errorf("malformed reply %q", line)
	}
	code, err = strconv.Atoi(line[:3])
	if err != nil || code < 200 || code > 599 {
		return 0, false, "", fmt.Errorf("malformed reply %q", line)
	}
	if len(line) == 3 {
		return code, false, "", nil
	}
	switch line[3] {
	case '-':
		more = true
	case ' ':
	default:
		return 0, false, "", fmt.Errorf("malformed reply %q", line)
	}
	return code, more, line[4:], nil
}

// ehlo says EHLO and returns the extension keywords, upper-cased.
func (c *smtpConn) ehlo(hostname string) (map[string]bool, reply, error) {
	c.deadline(c.timeout)
	if err := c.cmd("EHLO %s", hostname); err != nil {
		return nil, reply{}, err
	}
	if err := c.flush(); err != nil {
		return nil, reply{}, err
	}
	r, err := c.readReply()
	if err != nil || r.code != codeOK {
		return nil, r, err
	}
	ext := map[string]bool{}
	for _, l := range r.lines[1:] {
		if f := strings.Fields(l); len(f) > 0 {
			ext[strings.ToUpper(f[0])] = true
		}
	}
	return ext, r, nil
}

// quit ends the session politely; its reply does not matter.
func (c *smtpConn) quit() {
	if c.broken {
		return
	}
	c.deadline(c.timeout)
	if c.cmd("QUIT") == nil && c.flush() == nil {
		c.readReply()
	}
}

// pipelined runs MAIL FROM, every RCPT TO and DATA in one write, then
// reads the replies in order (RFC 2920 §3.1). Outcomes and the error have
// the meaning of transaction's.
func (q *Queue) pipelined(c *smtpConn, h hop, ext map[string]bool, from string, rcpts []string, raw []byte) ([]outcome, error) {
	defer c.quit()
	c.deadline(2 * q.cfg.CommandTimeout)
	mail := "MAIL FROM:<%s>"
	if ext["8BITMIME"] {
		mail += " BODY=8BITMIME"
	}
	if err := c.cmd(mail, from); err != nil {
		return nil, permErr("%s: MAIL FROM: %v", h.host, err)
	}
	for _, r := range rcpts {
		if err := c.cmd("RCPT TO:<%s>", r); err != nil {
			return nil, permErr("%s: RCPT TO: %v", h.host, err)
		}
	}
	if err := c.cmd("DATA"); err != nil {
		return nil, tempErr("%s: %v", h.host, err)
	}
	if err := c.flush(); err != nil {
		return nil, tempErr("%s: %v", h.host, err)
	}
	// Each reply gets its own deadline: a server may check every RCPT.
	c.deadline(q.cfg.CommandTimeout)
	mailRe, err := c.readReply()
	if err != nil {
		return nil, tempErr("%s: MAIL FROM: %v", h.host, err)
	}
	outs := make([]outcome, len(rcpts))
	var accepted []int
	for i, r := range rcpts {
		outs[i].rcpt = r
		c.deadline(q.cfg.CommandTimeout)
		re, err := c.readReply()
		if err != nil {
			return nil, tempErr("%s: RCPT TO: %v", h.host, err)
		}
		if re.code != codeOK {
			e := replyError(h, "RCPT TO", re)
			outs[i].err, outs[i].text = e, e.Error()
			continue
		}
		accepted = append(accepted, i)
	}
	c.deadline(q.cfg.CommandTimeout)
	dataRe, err := c.readReply()
	if err != nil {
		return nil, tempErr("%s: DATA: %v", h.host, err)
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

// replyError turns a non-success reply into a delivery error: 5xx is
// permanent, anything else temporary.
func replyError(h hop, cmd string, r reply) error {
	return &deliveryError{code: r.code, text: fmt.Sprintf("%s said: %d %s (in reply to %s)", h.host, r.code, r.text(), cmd),
		permanent: r.code >= 500 && r.code < 600}
}
