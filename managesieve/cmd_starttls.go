package managesieve

import (
	"bufio"
	"crypto/tls"
	"time"
)

var (
	errTLSUnavailable = &noError{text: "STARTTLS not available"}
	errTLSActive      = &noError{text: "TLS already active", bad: true}
)

// cmdStartTLS: STARTTLS (RFC 5804 §2.2). After the handshake the server
// sends its capabilities again. What the client pipelined after the
// command is dropped with the plaintext reader.
func cmdStartTLS(c *conn, cmd *command) error {
	if len(cmd.args) != 0 {
		return errBadArguments
	}
	if c.isTLS() {
		return errTLSActive
	}
	if c.srv.cfg.TLSConfig == nil {
		return errTLSUnavailable
	}
	c.ok("", "Begin TLS negotiation now")
	if err := c.flush(); err != nil {
		return errConnGone
	}
	tc := tls.Server(c.raw, c.srv.cfg.TLSConfig)
	if err := c.handshake(tc); err != nil {
		return errConnGone
	}
	c.nc = tc
	c.r.br = bufio.NewReader(tc)
	c.bw.Reset(deadlineWriter{tc, c.srv.cfg.Now, c.lim.IdleTimeout})
	c.writeCapabilities()
	c.ok("", "TLS negotiation successful")
	return nil
}

// handshake runs tc's handshake within Config.HandshakeTimeout.
func (c *conn) handshake(tc *tls.Conn) error {
	c.raw.SetDeadline(c.srv.cfg.Now().Add(c.srv.cfg.HandshakeTimeout))
	if c.srv.conns.Closing() {
		return errConnGone
	}
	if err := tc.HandshakeContext(c.ctx); err != nil {
		c.log.Info("TLS handshake failed", "err", err)
		c.srv.cfg.Metrics.TLSHandshakeFailed("managesieve")
		return err
	}
	c.raw.SetDeadline(time.Time{})
	st := tc.ConnectionState()
	c.log.Debug("tls started", "version", tls.VersionName(st.Version))
	return nil
}
