package queue

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// deliverDomain delivers raw to rcpts (all in one destination domain, or
// all of them through the relay) and returns one outcome per recipient.
// It tries the hops in order until one carries the transaction; a
// permanent reply to the transaction itself ends the search.
func (q *Queue) deliverDomain(ctx context.Context, relay Relay, from, domain string, rcpts []string, raw []byte) []outcome {
	all := func(err error) []outcome {
		outs := make([]outcome, len(rcpts))
		for i, r := range rcpts {
			outs[i] = outcome{rcpt: r, err: err, text: err.Error()}
		}
		return outs
	}
	hops, err := q.route(ctx, relay, domain)
	if err != nil {
		return all(err)
	}
	if relay.Host == "" && !strings.HasPrefix(domain, "[") {
		if hops, err = q.applySTS(domain, q.stsPolicyFor(ctx, domain), hops); err != nil {
			return all(err)
		}
	}
	var last error = tempErr("no server for %s", domain)
	for _, h := range hops {
		ips, err := q.addresses(ctx, h)
		if err != nil {
			last = err
			continue
		}
		for _, ip := range ips {
			if ctx.Err() != nil {
				if errors.Is(ctx.Err(), context.DeadlineExceeded) {
					return all(tempErr("attempt took longer than %v", q.cfg.AttemptTimeout))
				}
				return all(tempErr("shutting down"))
			}
			outs, err := q.transaction(ctx, h, ip, from, rcpts, raw)
			if err == nil {
				return outs
			}
			q.log.Info("queue: server failed", "host", h.host, "ip", ip, "err", err)
			last = err
		}
	}
	// Reaching no server at all is never permanent: retry later.
	var de *deliveryError
	if errors.As(last, &de) && de.permanent && de.code == 0 {
		return all(last)
	}
	return all(&deliveryError{code: codeOf(last), text: last.Error()})
}

// transaction runs one SMTP session to ip. An error means the server did
// not carry the transaction (connection, greeting, TLS, MAIL FROM 4xx…):
// try the next one. Per-recipient and DATA replies come back as outcomes.
// A failed STARTTLS handshake is retried at once in plaintext on a new
// connection (opportunistic TLS, RFC 7435 §6.1, like Postfix's
// smtp_tls_security_level = may).
func (q *Queue) transaction(ctx context.Context, h hop, ip, from string, rcpts []string, raw []byte) ([]outcome, error) {
	outs, err := q.session(ctx, h, ip, from, rcpts, raw, false)
	if errors.Is(err, errTLSHandshake) && h.sts != stsEnforce { // MTA-STS enforce: no fallback
		if h.sts == stsTesting {
			q.log.Warn("queue: TLS handshake failed, MTA-STS policy would fail (mode testing)", "host", h.host, "err", err)
		}
		q.log.Warn("queue: TLS handshake failed, delivering in plaintext", "host", h.host, "ip", ip, "err", err)
		return q.session(ctx, h, ip, from, rcpts, raw, true)
	}
	return outs, err
}

// session is one connection of transaction; plain skips STARTTLS.
func (q *Queue) session(ctx context.Context, h hop, ip, from string, rcpts []string, raw []byte, plain bool) ([]outcome, error) {
	nc, err := q.cfg.Dial(ctx, "tcp", net.JoinHostPort(ip, h.port))
	if err != nil {
		return nil, tempErr("connect to %s: %v", h.host, err)
	}
	tcp := nc // nc becomes the TLS conn; closing tcp ends both
	stop := context.AfterFunc(ctx, func() { tcp.Close() })
	defer stop()
	greeting, nc, err := q.preamble(nc, h, plain)
	if err != nil {
		nc.Close()
		return nil, err
	}
	if h.user == "" {
		// Our own client first: after (re-)EHLO it pipelines when the
		// server offers PIPELINING, else go-smtp runs the lock-step path.
		sc := newSMTPConn(nc, q.cfg.CommandTimeout)
		ext, re, err := sc.ehlo(q.cfg.Hostname)
		if err != nil || re.code != codeOK {
			nc.Close()
			if err != nil {
				return nil, tempErr("%s: EHLO: %v", h.host, err)
			}
			return nil, replyError(h, "EHLO", re)
		}
		nc.SetDeadline(time.Time{})
		if ext["PIPELINING"] {
			defer nc.Close()
			return q.pipelined(sc, h, ext, from, rcpts, raw)
		}
		if sc.br.Buffered() > 0 {
			nc.Close()
			return nil, tempErr("%s: unexpected data after EHLO", h.host)
		}
	}
	// go-smtp's client reads the greeting, so it is replayed.
	nc = &replayConn{Conn: nc, r: io.MultiReader(strings.NewReader(greeting), nc)}
	c := smtp.NewClient(nc)
	c.CommandTimeout = q.cfg.CommandTimeout
	c.SubmissionTimeout = 2 * q.cfg.CommandTimeout
	defer c.Close()
	if err := c.Hello(q.cfg.Hostname); err != nil {
		return nil, replyErr(h, "EHLO", err)
	}
	if h.user != "" {
		if err := c.Auth(sasl.NewPlainClient("", h.user, h.password)); err != nil {
			return nil, replyErr(h, "AUTH", err)
		}
	}
	if err := c.Mail(from, nil); err != nil {
		re := replyErr(h, "MAIL FROM", err)
		if isPermanent(re) {
			return failAll(rcpts, re), nil
		}
		return nil, re
	}
	outs := make([]outcome, len(rcpts))
	var accepted []int
	for i, r := range rcpts {
		outs[i].rcpt = r
		if err := c.Rcpt(r, nil); err != nil {
			re := replyErr(h, "RCPT TO", err)
			outs[i].err, outs[i].text = re, re.Error()
			continue
		}
		accepted = append(accepted, i)
	}
	if len(accepted) == 0 {
		c.Quit()
		return outs, nil
	}
	dataErr := func(err error) ([]outcome, error) {
		re := replyErr(h, "DATA", err)
		for _, i := range accepted {
			outs[i].err, outs[i].text = re, re.Error()
		}
		return outs, nil
	}
	w, err := c.Data()
	if err != nil {
		return dataErr(err)
	}
	if _, err := w.Write(raw); err != nil {
		return dataErr(err)
	}
	resp, err := w.CloseWithResponse()
	if err != nil {
		return dataErr(err)
	}
	text := fmt.Sprintf("%s said: 250 %s", h.host, resp.StatusText)
	for _, i := range accepted {
		outs[i].text = text
	}
	c.Quit()
	return outs, nil
}

func failAll(rcpts []string, err error) []outcome {
	outs := make([]outcome, len(rcpts))
	for i, r := range rcpts {
		outs[i] = outcome{rcpt: r, err: err, text: err.Error()}
	}
	return outs
}

// replyErr classifies a client error: a 5xx reply is permanent, anything
// else (4xx, network) temporary.
func replyErr(h hop, cmd string, err error) error {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		text := fmt.Sprintf("%s said: %d %d.%d.%d %s (in reply to %s)", h.host, se.Code,
			se.EnhancedCode[0], se.EnhancedCode[1], se.EnhancedCode[2], se.Message, cmd)
		return &deliveryError{code: se.Code, text: text, permanent: se.Code >= 500 && se.Code < 600}
	}
	return &deliveryError{text: fmt.Sprintf("%s: %s: %v", h.host, cmd, err)}
}

func codeOf(err error) int {
	var de *deliveryError
	if errors.As(err, &de) {
		return de.code
	}
	return 0
}

// errTLSHandshake marks a failed STARTTLS handshake: the connection is
// lost, but the server may take the mail in plaintext.
var errTLSHandshake = errors.New("TLS handshake failed")

// preamble reads the greeting, says EHLO and, when the server offers it
// and plain is false, switches to TLS (opportunistic STARTTLS, RFC 3207).
// go-smtp's client cannot start TLS after its own EHLO, so this part is
// done here. It returns the greeting line to replay (with CRLF) and the
// (possibly encrypted) connection with nothing read past the EHLO or
// STARTTLS reply; the caller says EHLO again (RFC 3207 §4.2 after TLS).
func (q *Queue) preamble(nc net.Conn, h hop, plain bool) (string, net.Conn, error) {
	nc.SetDeadline(time.Now().Add(q.cfg.CommandTimeout))
	defer nc.SetDeadline(time.Time{})
	br := bufio.NewReader(nc)
	tp := textproto.NewReader(br)
	_, greeting, err := tp.ReadResponse(codeServiceReady)
	if err != nil {
		return "", nc, textprotoErr(h, "greeting", err)
	}
	if _, err := fmt.Fprintf(nc, "EHLO %s\r\n", q.cfg.Hostname); err != nil {
		return "", nc, tempErr("%s: %v", h.host, err)
	}
	_, ext, err := tp.ReadResponse(codeOK)
	if err != nil {
		return "", nc, textprotoErr(h, "EHLO", err)
	}
	replay := "220 " + firstLine(greeting) + "\r\n"
	if !plain && !hasExtension(ext, "STARTTLS") {
		switch h.sts {
		case stsEnforce:
			return "", nc, tempErr("%s does not offer STARTTLS, which its domain's MTA-STS policy requires", h.host)
		case stsTesting:
			q.log.Warn("queue: no STARTTLS, MTA-STS policy would fail (mode testing)", "host", h.host)
		}
	}
	if plain || !hasExtension(ext, "STARTTLS") {
		if br.Buffered() > 0 {
			return "", nc, tempErr("%s: unexpected data after EHLO", h.host)
		}
		return replay, nc, nil
	}
	if _, err := io.WriteString(nc, "STARTTLS\r\n"); err != nil {
		return "", nc, tempErr("%s: %v", h.host, err)
	}
	if _, _, err := tp.ReadResponse(codeServiceReady); err != nil {
		return "", nc, textprotoErr(h, "STARTTLS", err)
	}
	if br.Buffered() > 0 { // STARTTLS injection (CVE-2011-0411 style)
		return "", nc, tempErr("%s: data after STARTTLS reply", h.host)
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
	tc := tls.Client(nc, cfg)
	if err := tc.Handshake(); err != nil {
		return "", nc, fmt.Errorf("%w: %w", errTLSHandshake, tempErr("%s: TLS handshake: %v", h.host, err))
	}
	return replay, tc, nil
}

func textprotoErr(h hop, cmd string, err error) error {
	var te *textproto.Error
	if errors.As(err, &te) {
		return &deliveryError{code: te.Code, text: fmt.Sprintf("%s said: %d %s (in reply to %s)", h.host, te.Code, te.Msg, cmd), permanent: te.Code >= 500}
	}
	return tempErr("%s: %s: %v", h.host, cmd, err)
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

func hasExtension(ehlo, name string) bool {
	for i, line := range strings.Split(ehlo, "\n") {
		if i == 0 {
			continue // the greeting line
		}
		f := strings.Fields(line)
		if len(f) > 0 && strings.EqualFold(f[0], name) {
			return true
		}
	}
	return false
}

// replayConn reads from r (a replayed greeting, then the connection).
type replayConn struct {
	net.Conn
	r io.Reader
}

func (c *replayConn) Read(p []byte) (int, error) { return c.r.Read(p) }
