package queue

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
)

// The queue's one outbound SMTP client. One reply parser (readReply), one
// EHLO per connection (a second one only after STARTTLS, as RFC 3207 §4.2
// requires), commands pipelined when the server offers PIPELINING (RFC
// 2920) and sent in lock-step otherwise. go-smtp's client is not used: it
// cannot run an opportunistic STARTTLS after an EHLO of its own (its
// StartTLS is not exported; NewClientStartTLS insists on TLS), does not
// pipeline, and would read the greeting and say EHLO again.

// Reply codes the outbound client acts on (RFC 5321 §4.2.2).
const (
	codeServiceReady = 220 // greeting; STARTTLS go-ahead (RFC 3207 §4)
	codeAuthOK       = 235 // RFC 4954 §6: authentication succeeded
	codeOK           = 250 // requested action completed
	codeWillForward  = 251 // RFC 5321 §3.4: user not local, will forward
	codeAuthMore     = 334 // RFC 4954 §4: server challenge
	codeStartData    = 354 // start mail input (RFC 5321 §4.2.2)
	codeNotRecog     = 500 // RFC 5321 §4.2.2: command not recognized (EHLO unknown: try HELO)
	codeNotImpl      = 502 // RFC 5321 §4.2.2: command not implemented (EHLO unknown: try HELO)
)

const (
	// maxReplyLine bounds one reply line; RFC 5321 §4.5.3.1.5 allows 512
	// octets, servers are given some slack.
	maxReplyLine = 4096
	// maxReplyLines bounds a multi-line reply (a long EHLO list).
	maxReplyLines = 128
	// maxAuthSteps bounds the challenges of one AUTH exchange.
	maxAuthSteps = 8
)

// reply is one (possibly multi-line) SMTP reply.
type reply struct {
	code  int
	lines []string // text after the code and separator
}

func (r reply) text() string { return strings.Join(r.lines, " ") }

// smtpConn is one outbound SMTP connection: commands are buffered and
// flushed when the caller wants their replies, replies are read in order.
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

// setConn continues the session over nc (the TLS connection after
// STARTTLS); nothing buffered survives.
func (c *smtpConn) setConn(nc net.Conn) {
	c.nc = nc
	c.br.Reset(nc)
	c.bw.Reset(nc)
}

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

// exchange sends one command and reads its reply (lock-step).
func (c *smtpConn) exchange(format string, args ...any) (reply, error) {
	c.deadline(c.timeout)
	if err := c.cmd(format, args...); err != nil {
		return reply{}, err
	}
	if err := c.flush(); err != nil {
		return reply{}, err
	}
	return c.readReply()
}

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

// extensions returns the EHLO keywords (upper case) of an EHLO reply's
// lines after the first, each with its parameters.
func extensions(lines []string) map[string]string {
	ext := map[string]string{}
	for _, l := range lines {
		kw, params, _ := strings.Cut(strings.TrimSpace(l), " ")
		if kw != "" {
			ext[strings.ToUpper(kw)] = strings.TrimSpace(params)
		}
	}
	return ext
}

// hasExtension reports whether an EHLO reply text (its lines joined by
// LF, the greeting line first) names the extension.
func hasExtension(ehlo, name string) bool {
	lines := strings.Split(ehlo, "\n")
	_, ok := extensions(lines[1:])[strings.ToUpper(name)]
	return ok
}

// ehlo says EHLO and returns the extension keywords. A server that does
// not know EHLO (500/502) is greeted with HELO instead (RFC 5321 §4.1.4)
// and has no extensions.
func (c *smtpConn) ehlo(hostname string) (map[string]string, reply, error) {
	r, err := c.exchange("EHLO %s", hostname)
	if err != nil {
		return nil, r, err
	}
	if r.code == codeNotRecog || r.code == codeNotImpl {
		r, err = c.exchange("HELO %s", hostname)
		return map[string]string{}, r, err
	}
	if r.code != codeOK {
		return nil, r, nil
	}
	return extensions(r.lines[1:]), r, nil
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

// errTLSHandshake marks a failed STARTTLS handshake: the connection is
// lost, but the server may take the mail in plaintext.
var errTLSHandshake = errors.New("TLS handshake failed")

// hello reads the greeting, says EHLO and, when the server offers it and
// plain is false, switches to TLS (opportunistic STARTTLS, RFC 3207) and
// says EHLO once more, as §4.2 requires. It returns the extensions of the
// last EHLO.
func (q *Queue) hello(ctx context.Context, c *smtpConn, h hop, plain bool) (map[string]string, error) {
	c.deadline(q.cfg.CommandTimeout)
	greeting, err := c.readReply()
	if err != nil {
		return nil, tempErr("%s: greeting: %v", h.host, err)
	}
	if greeting.code != codeServiceReady {
		return nil, replyError(h, "greeting", greeting)
	}
	ext, err := q.ehlo(c, h)
	if err != nil {
		return nil, err
	}
	_, starttls := ext["STARTTLS"]
	if !plain && !starttls {
		switch h.sts {
		case stsEnforce:
			return nil, tempErr("%s does not offer STARTTLS, which its domain's MTA-STS policy requires", h.host)
		case stsTesting:
			q.log.Warn("queue: no STARTTLS, MTA-STS policy would fail (mode testing)", "host", h.host)
		}
	}
	if !plain && starttls {
		if err := q.startTLS(ctx, c, h); err != nil {
			return nil, err
		}
		if ext, err = q.ehlo(c, h); err != nil {
			return nil, err
		}
	}
	if c.br.Buffered() > 0 {
		// The server spoke before it was asked: replies would be
		// taken for the wrong commands.
		return nil, tempErr("%s: unexpected data after EHLO", h.host)
	}
	return ext, nil
}

func (q *Queue) ehlo(c *smtpConn, h hop) (map[string]string, error) {
	ext, r, err := c.ehlo(q.cfg.Hostname)
	if err != nil {
		return nil, tempErr("%s: EHLO: %v", h.host, err)
	}
	if r.code != codeOK {
		return nil, replyError(h, "EHLO", r)
	}
	return ext, nil
}

// startTLS runs STARTTLS and the handshake and continues c over TLS.
func (q *Queue) startTLS(ctx context.Context, c *smtpConn, h hop) error {
	r, err := c.exchange("STARTTLS")
	if err != nil {
		return tempErr("%s: STARTTLS: %v", h.host, err)
	}
	if r.code != codeServiceReady {
		return replyError(h, "STARTTLS", r)
	}
	if c.br.Buffered() > 0 { // STARTTLS injection (CVE-2011-0411 style)
		c.broken = true // say nothing more in plaintext
		return tempErr("%s: data after STARTTLS reply", h.host)
	}
	cfg := q.cfg.TLSConfig
	if cfg == nil {
		cfg = &tls.Config{InsecureSkipVerify: true} // opportunistic: RFC 7435
	}
	cfg = cfg.Clone()
	if cfg.ServerName == "" {
		cfg.ServerName = h.host
	}
	if h.sts != stsNone {
		cfg = q.stsTLSConfig(q.cfg.TLSConfig, h)
	}
	tc := tls.Client(c.nc, cfg)
	c.deadline(q.cfg.CommandTimeout)
	if err := tc.HandshakeContext(ctx); err != nil {
		c.broken = true
		return fmt.Errorf("%w: %w", errTLSHandshake, tempErr("%s: TLS handshake: %v", h.host, err))
	}
	c.setConn(tc)
	return nil
}

// auth authenticates with a SASL client (RFC 4954): the initial response
// on the AUTH line, then one line per challenge until 235.
func (q *Queue) auth(c *smtpConn, h hop, a sasl.Client) error {
	mech, ir, err := a.Start()
	if err != nil {
		return permErr("%s: AUTH: %v", h.host, err)
	}
	line := "AUTH " + mech
	if ir != nil {
		line += " " + encodeSASL(ir)
	}
	r, err := c.exchange("%s", line)
	for step := 0; err == nil && r.code == codeAuthMore; step++ {
		if step == maxAuthSteps {
			c.exchange("*") // RFC 4954 §4: cancel
			return tempErr("%s: AUTH: too many challenges", h.host)
		}
		var chal, resp []byte
		if chal, err = base64.StdEncoding.DecodeString(r.text()); err != nil {
			c.exchange("*")
			return tempErr("%s: AUTH: bad challenge: %v", h.host, err)
		}
		if resp, err = a.Next(chal); err != nil {
			c.exchange("*")
			return tempErr("%s: AUTH: %v", h.host, err)
		}
		r, err = c.exchange("%s", encodeSASL(resp))
	}
	if err != nil {
		return tempErr("%s: AUTH: %v", h.host, err)
	}
	if r.code != codeAuthOK {
		return replyError(h, "AUTH", r)
	}
	return nil
}

func encodeSASL(b []byte) string {
	if len(b) == 0 {
		return "=" // RFC 4954 §4: an empty initial response
	}
	return base64.StdEncoding.EncodeToString(b)
}

// replyError turns a non-success reply into a delivery error: 5xx is
// permanent, anything else temporary.
func replyError(h hop, cmd string, r reply) error {
	return &deliveryError{code: r.code, text: fmt.Sprintf("%s said: %d %s (in reply to %s)", h.host, r.code, r.text(), cmd),
		permanent: r.code >= 500 && r.code < 600}
}
