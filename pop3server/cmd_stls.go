package pop3server

import (
	"bufio"
	"crypto/tls"
	"time"
)

// capSTLS is advertised while STLS is available (RFC 2595 §4).
const capSTLS = "STLS"

var (
	errTLSUnavailable = &replyError{text: "STLS not available"}
	errTLSActive      = &replyError{text: "TLS already active"}
)

// cmdStls handles STLS (RFC 2595 §4): only in the AUTHORIZATION state,
// before any USER, on a connection that is not TLS yet. Anything the client
// pipelined after the command is discarded with the plaintext reader (RFC
// 2595 §4: the client must not send more before the handshake), so no
// injected command survives into the TLS session.
func (c *conn) cmdStls(cmd command) error {
	if len(cmd.args) != 0 {
		return errBadArguments
	}
	if c.isTLS() {
		return errTLSActive
	}
	if c.srv.cfg.TLSConfig == nil {
		return errTLSUnavailable
	}
	c.user = ""
	c.ok("Begin TLS negotiation")
	if err := c.flush(); err != nil {
		return errConnGone
	}
	tc := tls.Server(c.raw, c.srv.cfg.TLSConfig)
	if err := c.handshake(tc, "stls"); err != nil {
		return errConnGone
	}
	c.nc = tc
	c.br = bufio.NewReader(tc) // drops pipelined plaintext
	c.bw.Reset(deadlineWriter{tc, c.srv.cfg, c.idle})
	return nil
}

// handshake runs tc's handshake (POP3S before the greeting, or after
// STLS) within Config.HandshakeTimeout: a silent client or one that stops
// mid-ClientHello is dropped then. Shutdown ends it at once (interrupt's
// read deadline, then the server context and closing the connection).
func (c *conn) handshake(tc *tls.Conn, kind string) error {
	c.raw.SetDeadline(c.srv.cfg.Now().Add(c.srv.cfg.HandshakeTimeout))
	if c.srv.conns.Closing() {
		return errConnGone
	}
	if err := tc.HandshakeContext(c.ctx); err != nil {
		c.log.Info("TLS handshake failed", "kind", kind, "err", err)
		c.srv.cfg.Metrics.TLSHandshakeFailed(map[bool]string{true: "pop3", false: "pop3s"}[kind == "stls"]) // the listener's name
		return err
	}
	c.raw.SetDeadline(time.Time{})
	st := tc.ConnectionState()
	c.log.Debug("tls started", "kind", kind, "version", tls.VersionName(st.Version), "cipher", tls.CipherSuiteName(st.CipherSuite))
	return nil
}

// isTLS reports whether the session runs over TLS (after STLS or on an
// implicit-TLS listener).
func (c *conn) isTLS() bool {
	_, ok := c.nc.(*tls.Conn)
	return ok
}

// tlsState returns the TLS connection state, nil without TLS.
func (c *conn) tlsState() *tls.ConnectionState {
	tc, ok := c.nc.(*tls.Conn)
	if !ok {
		return nil
	}
	st := tc.ConnectionState()
	return &st
}
