package imapserver

import (
	"crypto/tls"
	"errors"
	"net"
	"time"
)

// errHandshake ends a connection whose STARTTLS handshake failed: nothing
// more is written to it, since the client expects TLS now and a plaintext
// BYE would be both useless and a protocol violation.
var errHandshake = errors.New("imapserver: TLS handshake failed")

// cmdStartTLS: STARTTLS (RFC 9051 §6.2.1). The tagged OK is written by the
// command loop, which then calls upgradeTLS.
func cmdStartTLS(c *conn, cmd *command) error {
	if err := c.endArgs(); err != nil {
		return err
	}
	if c.isTLS() {
		return badf("", "TLS already active")
	}
	if _, ok := c.nc.(*compressConn); ok {
		// After UNAUTHENTICATE: TLS cannot go under DEFLATE (RFC 4978 §4).
		return badf("", "STARTTLS not allowed under COMPRESS")
	}
	if c.srv.cfg.TLSConfig == nil {
		return badf("", "STARTTLS not available")
	}
	c.startTLS = true
	return nil
}

// upgradeTLS runs the TLS handshake after STARTTLS's OK. Bytes the client
// pipelined after the command are discarded with the plaintext reader
// (RFC 9051 §6.2.1, and RFC 3207 §4.2's command injection), so no injected
// command runs inside the TLS session.
func (c *conn) upgradeTLS() error {
	tc := tls.Server(c.raw, c.srv.cfg.TLSConfig)
	if err := c.runHandshake(tc, "starttls"); err != nil {
		return err
	}
	c.setIO(tc)
	return nil
}

// handshake completes the TLS handshake of an implicit-TLS (IMAPS)
// connection before anything is written to it; without TLS it does
// nothing.
func (c *conn) handshake() error {
	tc, ok := c.under().(*tls.Conn)
	if !ok {
		return nil
	}
	return c.runHandshake(tc, "imaps")
}

// runHandshake runs tc's handshake within Config.HandshakeTimeout: a
// silent client or one that stops mid-ClientHello is dropped then, and
// Shutdown ends it at once (its read deadline, and the context).
func (c *conn) runHandshake(tc *tls.Conn, kind string) error {
	c.raw.SetDeadline(time.Now().Add(c.srv.cfg.HandshakeTimeout))
	if err := tc.HandshakeContext(c.ctx); err != nil {
		c.log.Info("imap tls handshake failed", "kind", kind, "err", err)
		c.srv.cfg.Metrics.TLSHandshakeFailed(map[bool]string{true: "imap", false: "imaps"}[kind == "starttls"]) // the listener's name
		return errors.Join(errHandshake, err)
	}
	c.raw.SetDeadline(time.Time{})
	st := tc.ConnectionState()
	c.log.Debug("tls started", "kind", kind, "version", tls.VersionName(st.Version), "cipher", tls.CipherSuiteName(st.CipherSuite))
	return nil
}

// isTLS reports whether the connection runs over TLS (after STARTTLS or on
// an implicit-TLS listener).
func (c *conn) isTLS() bool {
	_, ok := c.under().(*tls.Conn)
	return ok
}

// under is the connection below COMPRESS, if active.
func (c *conn) under() net.Conn {
	if cc, ok := c.nc.(*compressConn); ok {
		return cc.Conn
	}
	return c.nc
}

// tlsState returns the TLS connection state, nil without TLS.
func (c *conn) tlsState() *tls.ConnectionState {
	tc, ok := c.under().(*tls.Conn)
	if !ok {
		return nil
	}
	st := tc.ConnectionState()
	return &st
}
