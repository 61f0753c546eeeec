package queue

import (
	"context"
	"errors"
	"net"
	"strings"

	"github.com/emersion/go-sasl"
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

// session is one connection of transaction; plain skips STARTTLS. It
// says EHLO once (and once more after STARTTLS), authenticates to a relay
// host when configured, and runs the mail transaction.
func (q *Queue) session(ctx context.Context, h hop, ip, from string, rcpts []string, raw []byte, plain bool) ([]outcome, error) {
	nc, err := q.cfg.Dial(ctx, "tcp", net.JoinHostPort(ip, h.port))
	if err != nil {
		return nil, tempErr("connect to %s: %v", h.host, err)
	}
	tcp := nc // c.nc becomes the TLS conn; closing tcp ends both
	defer tcp.Close()
	stop := context.AfterFunc(ctx, func() { tcp.Close() })
	defer stop()
	c := newSMTPConn(nc, q.cfg.CommandTimeout)
	ext, err := q.hello(ctx, c, h, plain)
	if err != nil {
		c.quit()
		return nil, err
	}
	if h.user != "" {
		if err := q.auth(c, h, sasl.NewPlainClient("", h.user, h.password)); err != nil {
			c.quit()
			return nil, err
		}
	}
	return q.mailTransaction(c, h, ext, from, rcpts, raw)
}

func failAll(rcpts []string, err error) []outcome {
	outs := make([]outcome, len(rcpts))
	for i, r := range rcpts {
		outs[i] = outcome{rcpt: r, err: err, text: err.Error()}
	}
	return outs
}

func codeOf(err error) int {
	var de *deliveryError
	if errors.As(err, &de) {
		return de.code
	}
	return 0
}
